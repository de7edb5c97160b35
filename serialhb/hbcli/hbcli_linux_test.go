//go:build linux

package hbcli

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hakit/hakit/internal/rig"
	"github.com/hakit/hakit/serialhb"
)

// peer runs node 2 on side B of a rig cable for the commands under test.
func peer(t *testing.T) *rig.Cable {
	t.Helper()
	c := rig.CableFor(t, rig.CableConfig{})
	r, err := serialhb.NewRunner(serialhb.Config{Path: c.PathB(), Link: serialhb.LinkConfig{Cluster: 1, Node: 2, Key: testKey, Timers: serialhb.TimersMS(20, 0, 200, 0)}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Stop(context.Background()) })
	return c
}

func TestCommandsOnRig(t *testing.T) {
	t.Parallel()
	c := peer(t)
	kf := keyFile(t, append(append([]byte{}, testKey...), '\n'))
	conn := []string{"--port", c.PathA(), "--key-file", kf, "--node", "1", "--keepalive", "20", "--deadtime", "200"}

	out, _, err := run(t, append([]string{"run", "--duration", "300ms"}, conn...)...)
	if err != nil || !strings.Contains(out, "initdead -> alive") || !strings.Contains(out, "cable") {
		t.Errorf("run: %v\n%s", err, out)
	}

	out, _, err = run(t, append([]string{"status", "--json"}, conn...)...)
	var st serialhb.Status
	if err != nil || json.Unmarshal([]byte(out), &st) != nil || st.State != serialhb.StateAlive || st.Peer.Node != 2 || st.Cable != serialhb.CableOK {
		t.Errorf("status --json: %v\n%s", err, out)
	}
	if !strings.Contains(out, `"state": "alive"`) || !strings.Contains(out, `"dsr": "unknown"`) {
		t.Errorf("status --json should spell states and modem lines: %s", out)
	}

	out, _, err = run(t, append([]string{"cabletest", "--json", "--count", "20", "--interval", "2ms"}, conn...)...)
	var rep serialhb.CableReport
	if err != nil || json.Unmarshal([]byte(out), &rep) != nil || rep.Received != 20 || rep.RTTMax <= 0 {
		t.Errorf("cabletest --json: %v\n%s", err, out)
	}
	out, _, err = run(t, append([]string{"cabletest", "--count", "5"}, conn...)...)
	if err != nil || !strings.Contains(out, "sent 5 received 5 loss 0.0%") || !strings.Contains(out, "min ") {
		t.Errorf("cabletest: %v\n%s", err, out)
	}

	// A wrong key: the peer stays unheard, and the status says so.
	wrong := keyFile(t, []byte("not the key of this pair, sorry, not at all"))
	out, _, err = run(t, "status", "--port", c.PathA(), "--key-file", wrong, "--node", "1", "--keepalive", "20", "--deadtime", "100")
	if !errors.Is(err, ErrPeerNotHeard) || !strings.Contains(out, "dead") || !strings.Contains(out, "auth") {
		t.Errorf("status with a wrong key: %v, want ErrPeerNotHeard and the report\n%s", err, out)
	}
	// A cable test that loses pings fails after its report.
	c.Cut()
	out, _, err = run(t, append([]string{"cabletest", "--count", "5", "--timeout", "200ms"}, conn...)...)
	if !errors.Is(err, ErrCableLoss) || !strings.Contains(out, "received 0") {
		t.Errorf("cabletest on a cut cable: %v, want ErrCableLoss and the report\n%s", err, out)
	}
	c.Reconnect()
}

func TestNotATTY(t *testing.T) {
	kf := keyFile(t, testKey)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := Run(ctx, []string{"run", "--port", "/dev/null", "--key-file", kf}, &strings.Builder{}, &strings.Builder{})
	if !errors.Is(err, serialhb.ErrNotTTY) {
		t.Errorf("run on /dev/null: %v", err)
	}
}
