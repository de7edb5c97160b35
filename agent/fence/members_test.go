package fence

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/agent/agenttest"
	"github.com/hakit/hakit/agent/hw"
)

// Four members: list names them all, and status and off act on any of
// them (by name or id) through the agent's action path (hw.Direct over
// in-memory disks), each off verified by the read-back of that member's
// key only.
func TestFourMembers(t *testing.T) {
	ctx := context.Background()
	lun := agenttest.NewLUN("naa.4")
	var ms []agenttest.Member
	for i := 1; i <= 4; i++ {
		ms = append(ms, agenttest.Member{Name: fmt.Sprintf("m%d", i), ID: i, Key: agenttest.Key(7, i)})
	}
	var disks []*agenttest.Disk
	for _, m := range ms {
		d := &agenttest.Disk{LUN: lun, Name: "/dev/sdb", Own: m.Key, Members: ms}
		if err := d.Register(ctx); err != nil {
			t.Fatal(err)
		}
		disks = append(disks, d)
	}
	y := fmt.Sprintf("node: {name: m1, id: 1}\ncluster: {id: 7}\npeers:\n  - {name: m2, id: 2}\n  - {name: m3, id: 3}\n  - {name: m4, id: 4}\napi: {socket: /nonexistent/m1.sock}\nstate_dir: %s\n", filepath.Join(t.TempDir(), "state"))
	cfg, err := agent.ParseConfig("c", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	direct, err := hw.NewDirectDeps(cfg, agent.Deps{Disks: []agent.Disk{disks[0]}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	deps := Deps{
		Dial:       func(string) Backend { return direct },
		LoadConfig: func(string) (*agent.Config, error) { return cfg, nil },
		Sleep:      func(context.Context, time.Duration) error { return nil },
	}
	for _, tt := range []struct {
		name, stdin string
		code        int
		out, errOut string
	}{
		{"list", "action=list\n", ExitOK, "m1,\nm2,\nm3,\nm4,\n", ""},
		{"status m3 on", "action=status\nplug=m3\n", ExitOK, "Status: ON", ""},
		{"off m3", "action=off\nplug=m3\n", ExitOK, "Success: Powered OFF", ""},
		{"status m3 off", "action=status\nplug=m3\n", ExitOff, "Status: OFF", ""},
		{"status m2 still on", "action=status\nplug=m2\n", ExitOK, "Status: ON", ""},
		{"off m4 by id", "action=off\nplug=4\n", ExitOK, "Success: Powered OFF", ""},
		{"list-status", "action=list-status\n", ExitOK, "m1,,on\nm2,,on\nm3,,off\nm4,,off\n", ""},
		{"off self refused", "action=off\nplug=m1\n", ExitError, "", "itself"},
		{"unknown member", "action=status\nplug=m5\n", ExitError, "", "m1 (id 1), m2 (id 2), m3 (id 3), m4 (id 4)"},
		{"on for another member refused", "action=on\nplug=m3\n", ExitError, "", "on_target"},
		{"off m2", "action=off\nplug=m2\n", ExitOK, "Success: Powered OFF", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := Run(ctx, nil, strings.NewReader(tt.stdin), &out, &errOut, deps)
			if code != tt.code || !strings.Contains(out.String(), tt.out) || !strings.Contains(errOut.String(), tt.errOut) {
				t.Errorf("exit %d stdout %q stderr %q; want exit %d, stdout ~%q, stderr ~%q", code, out.String(), errOut.String(), tt.code, tt.out, tt.errOut)
			}
		})
	}
	if keys := lun.Keys(); len(keys) != 1 || keys[0] != agenttest.Key(7, 1) {
		t.Errorf("keys left %x, want only m1's", keys)
	}
}
