package diskcli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hakit/hakit/internal/rig"
	"github.com/hakit/hakit/scsi"
	"github.com/hakit/hakit/scsi/iscsi"
)

// TestIntegrationDiskCLI drives the command line against the rig's tgtd
// through the iSCSI initiator, as two nodes.
func TestIntegrationDiskCLI(t *testing.T) {
	const iqnA, iqnB = "iqn.2026-11.io.hakit.test:cli-a", "iqn.2026-11.io.hakit.test:cli-b"
	d := rig.DiskFor(t, rig.DiskConfig{Initiators: []string{iqnA, iqnB}})
	url := d.URL()
	a := []string{"--initiator", iqnA, "--cluster", "alpha", "--node", "1"}
	b := []string{"--initiator", iqnB, "--cluster", "alpha", "--node", "2"}
	steps := []struct {
		args []string
		code int
		want string
	}{
		{append([]string{"identify", url}, a...), 0, "identity:  naa."},
		{append([]string{"register", url}, a...), 0, "registered key 0x686b8ed3f6ad0001 (verified)"},
		{append([]string{"reserve", url}, a...), 0, "Key=0x686b8ed3f6ad0001  (this node)"},
		{append([]string{"register", url}, b...), 0, "2 registered reservation keys follow"},
		{append([]string{"status", url}, b...), 0, "READ FULL STATUS no"},
		{append([]string{"fence", url, "--victim", "0x686b8ed3f6ad0001"}, b...), 5, "fencing without the abort is not allowed"},
		{append([]string{"fence", url, "--victim", "0x686b8ed3f6ad0001", "--allow-preempt-without-abort"}, b...), 0, "fallback: target refused PREEMPT AND ABORT (ILLEGAL REQUEST 24/00"},
		{append([]string{"status", url}, a...), 2, "This node: NOT registered"},
		{append([]string{"unfence", url}, a...), 0, "unfenced"},
		{append([]string{"reset", url}, a...), 0, "lun reset done"},
		{append([]string{"keys", url, "--json"}, a...), 0, `"0x686b8ed3f6ad0002"`},
		{append([]string{"clear", url, "--yes"}, a...), 0, "there are NO registered reservation keys"},
	}
	for _, s := range steps {
		out, errs, code := run(t, Runner{}, s.args...)
		if code != s.code || !strings.Contains(out+errs, s.want) {
			t.Errorf("disk %s: exit %d, want %d and %q:\n%s%s", strings.Join(s.args, " "), code, s.code, s.want, out, errs)
		}
	}
}

// disk discover lists the rig's target from its portal (text and --json).
func TestIntegrationDiskDiscover(t *testing.T) {
	d := rig.DiskFor(t, rig.DiskConfig{})
	var out, errb bytes.Buffer
	ctx := context.Background()
	if err := Run(ctx, []string{"discover", "iscsi://" + d.Addr(), "--initiator", "iqn.2026-11.io.hakit.test:cli"}, &out, &errb); err != nil {
		t.Fatalf("discover: %v (%s)", err, errb.String())
	}
	if !strings.Contains(out.String(), d.IQN()) || !strings.Contains(out.String(), "portal ") {
		t.Errorf("discover output %q lacks the rig's target %s", out.String(), d.IQN())
	}
	out.Reset()
	if err := Run(ctx, []string{"discover", "--json", "iscsi://" + d.Addr(), "--initiator", "iqn.2026-11.io.hakit.test:cli"}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Targets []iscsi.Target `json:"targets"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil || len(got.Targets) == 0 || got.Targets[0].Name != d.IQN() {
		t.Errorf("discover --json %q: %+v, %v", out.String(), got, err)
	}
	if err := Run(ctx, []string{"discover", d.URL()}, &out, &errb); err == nil {
		t.Error("discover accepted a disk URL with a target")
	}
}

// The command line logs in with its own ISID: run beside a node's session
// (the agent's, DefaultISID) to the same target, it does not end it.
func TestIntegrationDiskCLIBesideAgentSession(t *testing.T) {
	const iqn = "iqn.2026-11.io.hakit.test:cli-beside"
	d := rig.DiskFor(t, rig.DiskConfig{Initiators: []string{iqn}})
	u, err := iscsi.ParseURL(d.URL())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	agentSess, err := iscsi.Dial(ctx, u, iscsi.Config{InitiatorName: iqn})
	if err != nil {
		t.Fatal(err)
	}
	defer agentSess.Close()
	var out, errb bytes.Buffer
	for range 3 {
		if err := Run(ctx, []string{"keys", d.URL(), "--initiator", iqn}, &out, &errb); err != nil {
			t.Fatalf("disk keys: %v (%s)", err, errb.String())
		}
	}
	if _, err := agentSess.Execute(ctx, scsi.TestUnitReady()); err != nil {
		t.Fatal(err)
	}
	if n := agentSess.Stats().Reconnects; n != 0 {
		t.Errorf("the node's session reconnected %d times after the command line ran beside it, want 0", n)
	}
}
