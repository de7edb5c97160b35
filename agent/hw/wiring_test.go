package hw_test

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/agent/hw"
	"github.com/hakit/hakit/scsi"
	"github.com/hakit/hakit/scsi/opener"
	"github.com/hakit/hakit/scsi/scsitest"
)

// lunOpener opens every device path as a nexus of lun for initiator:
// the double hw.Options.Open takes.
func lunOpener(t *testing.T, lun *scsitest.LUN, initiator string) opener.Func {
	return func(_ context.Context, device string, _ opener.Options) (scsi.Transport, io.Closer, error) {
		if device != "/dev/null" {
			return nil, nil, fmt.Errorf("unexpected device %s", device)
		}
		return lun.Connect(initiator, "000000000001"), io.NopCloser(nil), nil
	}
}

// nodeConfig is node id of a pair on one shared disk at a device path.
func nodeConfig(t *testing.T, id int, mode string) *agent.Config {
	self, peer := fmt.Sprintf("node-%d", id), fmt.Sprintf("node-%d", 3-id)
	y := fmt.Sprintf("node: {name: %s, id: %d}\npeer: {name: %s, id: %d}\ncluster: {id: 7}\napi: {socket: /nonexistent/%s.sock}\nstate_dir: %s\ndisks:\n  - device: /dev/null\n    mode: %s\n",
		self, id, peer, 3-id, self, t.TempDir(), mode)
	c, err := agent.ParseConfig(self, []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The wiring opens a device path through hw.Options.Open: two direct
// paths (fence_hwagent without an agent) on one in-memory LUN register,
// acquire and fence as on a real disk.
func TestDirectWithOpener(t *testing.T) {
	lun := scsitest.New(scsitest.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var d [2]*hw.Direct
	for i := range d {
		var err error
		if d[i], err = hw.NewDirectWith(nodeConfig(t, i+1, "pr"), nil, hw.Options{Open: lunOpener(t, lun, fmt.Sprintf("iqn.2026-12.io.hakit.test:node-%d", i+1))}); err != nil {
			t.Fatal(err)
		}
		defer d[i].Close()
		if _, err := d[i].Action(ctx, agent.ActionRegister); err != nil {
			t.Fatalf("node %d register: %v", i+1, err)
		}
	}
	if _, err := d[0].Action(ctx, agent.ActionAcquire); err != nil {
		t.Fatalf("node 1 acquire: %v", err)
	}
	if got := lun.Keys(); len(got) != 2 {
		t.Fatalf("keys on the LUN: %v, want both nodes'", got)
	}
	disks, err := d[0].Disks(ctx)
	if err != nil || len(disks) != 1 || !disks[0].Owner {
		t.Fatalf("node 1 after acquire: %+v %v", disks, err)
	}
	if _, err := d[1].Fence(ctx, "node-1"); err != nil {
		t.Fatalf("node 2 fences node 1: %v", err)
	}
	disks, err = d[1].Disks(ctx)
	if err != nil || !disks[0].Owner || disks[0].PeerRegistered {
		t.Fatalf("node 2 after the fence: %+v %v", disks, err)
	}
	disks, err = d[0].Disks(ctx)
	if err != nil || disks[0].Registered || disks[0].Owner {
		t.Fatalf("node 1 after the fence: %+v %v", disks, err)
	}
}

// A scsi2 disk at a device path opens through hw.Options.Open too.
func TestBuildWithOpenerSCSI2(t *testing.T) {
	lun := scsitest.New(scsitest.Config{})
	deps, closeAll, err := hw.BuildWith(nodeConfig(t, 1, "scsi2"), nil, hw.Options{Open: lunOpener(t, lun, "iqn.2026-12.io.hakit.test:node-1")})
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := deps.Disks[0].Acquire(ctx); err != nil {
		t.Fatalf("acquire: %v", err)
	}
	if n := lun.Count(0x16); n == 0 { // RESERVE(6)
		t.Error("no RESERVE(6) reached the LUN")
	}
	st, err := deps.Disks[0].Status(ctx)
	if err != nil || !st.Owner {
		t.Errorf("status after acquire: %+v %v", st, err)
	}
	if err := deps.Disks[0].Release(ctx); err != nil {
		t.Errorf("release: %v", err)
	}
}
