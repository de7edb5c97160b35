package hw_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/agent/fence"
	"github.com/hakit/hakit/agent/hw"
	"github.com/hakit/hakit/internal/rig"
	"github.com/hakit/hakit/internal/rig/rigpair"
	"github.com/hakit/hakit/scsi"
)

// rigSCSI2Disk is a scsi2 disk of the rig's tgtd LUN as initiator iqn,
// renewing every 400 ms (a challenge waits 1.6 s): a live owner must win
// even on a loaded CI machine.
func rigSCSI2Disk(t *testing.T, disk *rig.Disk, iqn string) *hw.SCSI2Disk {
	t.Helper()
	d, err := hw.NewSCSI2Disk(agent.DiskConfig{Device: disk.URL(), Initiator: iqn, Mode: agent.ModeSCSI2, SCSI2PeriodMS: 400}, testLogger(t).With("node", iqn[strings.LastIndex(iqn, ":")+1:]))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// The challenge on tgtd: B's fence of an owner whose defend loop is gone
// but whose session (and so its reservation) stays resets the LUN, waits
// and takes the unit; A then reads it held by another. B's fence of a
// defending owner fails with the owner alive, and A keeps the unit.
func TestIntegrationSCSI2Challenge(t *testing.T) {
	disk := rig.DiskFor(t, rig.DiskConfig{Initiators: []string{iqnA, iqnB}})
	for _, tc := range []struct {
		name string
		dead bool
	}{{"live owner", false}, {"dead owner", true}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			a, b := rigSCSI2Disk(t, disk, iqnA), rigSCSI2Disk(t, disk, iqnB)
			if err := a.Acquire(ctx); err != nil {
				t.Fatal(err)
			}
			sb, err := b.Status(ctx)
			if err != nil || sb.Holder != "other" || !sb.PeerRegistered || sb.Owner {
				t.Fatalf("B's view while A holds: %+v %v", sb, err)
			}
			if tc.dead {
				a.StopDefending()
			}
			start := time.Now()
			err = b.Fence(ctx)
			took := time.Since(start)
			t.Logf("fence took %v (wait %v)", took, b.Config().Wait)
			sa, aerr := a.Status(ctx)
			if !tc.dead {
				if !errors.Is(err, scsi.ErrOwnerAlive) {
					t.Fatalf("fence of a live owner = %v, want the owner alive", err)
				}
				if aerr != nil || !sa.Owner || !sa.Registered {
					t.Fatalf("live A after the challenge: %+v %v", sa, aerr)
				}
				if err := a.Release(ctx); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err != nil {
				t.Fatalf("fence of a dead owner: %v", err)
			}
			if took < b.Config().Wait {
				t.Errorf("fence took %v, less than the wait %v: no challenge", took, b.Config().Wait)
			}
			time.Sleep(500 * time.Millisecond)
			sb, err = b.Status(ctx)
			if err != nil || !sb.Owner || !strings.Contains(sb.FenceMethod, "challenge") {
				t.Fatalf("B after the fence: %+v %v", sb, err)
			}
			sa, aerr = a.Status(ctx)
			if aerr != nil || sa.Owner || sa.Registered || sa.Holder != "other" {
				t.Fatalf("dead A after the fence: %+v %v", sa, aerr)
			}
			if err := b.Release(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Two agents on tgtd with a scsi2 disk, fenced through fence_hwagent as
// Pacemaker would: B's fence of a live A fails (A renews during the
// challenge) and A keeps the disk; with A's agent stopped, B's fence
// succeeds and B owns the disk; fence_hwagent refuses the direct path for a
// scsi2 disk.
func TestIntegrationSCSI2PairFence(t *testing.T) {
	disk := rig.DiskFor(t, rig.DiskConfig{Initiators: []string{iqnA, iqnB}})
	rp := rigpair.RigPair{Disk: disk, Cable: rig.CableFor(t, rig.CableConfig{}), Net: rig.NetFor(t, rig.NetConfig{}), IQN: [2]string{iqnA, iqnB}, Dir: t.TempDir(), DiskMode: agent.ModeSCSI2, SCSI2PeriodMS: 400}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p, err := rigpair.StartPair(ctx, rp, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	a, b := p.Clients[0], p.Clients[1]
	r, err := a.Action(ctx, "acquire")
	if err != nil {
		t.Fatal(err)
	}
	if d := r.Disks[0]; !d.Owner || d.Mode != agent.ModeSCSI2 || d.Identity != "" && d.Error != "" {
		t.Fatalf("A after acquire: %+v", d)
	}
	fenceOff := func() (int, string) {
		var out, errb bytes.Buffer
		stdin := "action=off\nplug=node-a\nconfig=" + p.Paths[1] + "\n"
		code := fence.Run(ctx, nil, strings.NewReader(stdin), &out, &errb, fence.Deps{})
		return code, out.String() + errb.String()
	}
	start := time.Now()
	if code, msg := fenceOff(); code == fence.ExitOK || !strings.Contains(msg, "alive") {
		t.Fatalf("fence_hwagent off of a live A: exit %d: %s", code, msg)
	}
	t.Logf("failed fence of a live owner took %v", time.Since(start))
	time.Sleep(500 * time.Millisecond)
	st, err := a.Status(ctx)
	if err != nil || st.Fenced {
		t.Fatalf("A after B's failed fence: fenced %v %v", st.Fenced, err)
	}
	da, err := a.Disks(ctx)
	if err != nil || !da[0].Owner {
		t.Fatalf("A after B's failed fence: %+v %v", da, err)
	}
	db, err := b.Disks(ctx)
	if err != nil || db[0].Owner || db[0].Holder != "other" {
		t.Fatalf("B after its failed fence: %+v %v", db, err)
	}

	if err := p.Stop(0); err != nil {
		t.Fatalf("stop A: %v", err)
	}
	start = time.Now()
	if code, msg := fenceOff(); code != fence.ExitOK {
		t.Fatalf("fence_hwagent off of a stopped A: exit %d: %s", code, msg)
	}
	t.Logf("fence of a stopped owner took %v", time.Since(start))
	time.Sleep(500 * time.Millisecond)
	db, err = b.Disks(ctx)
	if err != nil || !db[0].Owner || !db[0].Registered || db[0].PeerRegistered {
		t.Fatalf("B after fencing A: %+v %v", db, err)
	}

	// No agent on A: fence_hwagent refuses to act on a scsi2 disk itself.
	direct := func(cfg *agent.Config) (fence.Backend, func() error, error) {
		d, err := hw.NewDirect(cfg, nil)
		if err != nil {
			return nil, nil, err
		}
		return d, d.Close, nil
	}
	var out, errb bytes.Buffer
	stdin := "action=off\nplug=node-b\nconfig=" + p.Paths[0] + "\n"
	if code := fence.Run(ctx, nil, strings.NewReader(stdin), &out, &errb, fence.Deps{Direct: direct}); code == fence.ExitOK || !strings.Contains(errb.String(), "scsi2") {
		t.Fatalf("direct fence_hwagent with a scsi2 disk: exit %d: %s %s", code, out.String(), errb.String())
	}
}
