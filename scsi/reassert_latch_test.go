package scsi_test

import (
	"errors"
	"testing"

	"github.com/hakit/hakit/scsi"
	"github.com/hakit/hakit/scsi/scsitest"
)

// Someone else acted between A's READ KEYS and its re-register (a third
// node registered): the PR generation is not exactly one step after A's
// own command, so A undoes its re-register and reports the reassert
// unconfirmed, not fenced (its key is still there); the next reassert,
// undisturbed, succeeds.
func TestReassertGenerationMismatch(t *testing.T) {
	ctx := ctxT(t)
	r := newReassertRig(t, ctx)
	c := newNode(t, r.lun, "node-c", scsi.Key(0x686b8ed3f6ad0003), 0)
	r.f.Add(&scsitest.Fault{
		Match: func(cmd *scsi.Command) bool {
			return scsitest.IsPROut(scsi.PROutRegisterAndIgnore)(cmd) && !scsitest.IsUnregister(cmd)
		},
		Before: func() { _, r.bErr = c.owner.Register(ctx) },
	})
	_, err := r.a.Reassert(ctx)
	if r.bErr != nil {
		t.Fatal(r.bErr)
	}
	if err == nil || errors.Is(err, scsi.ErrNotRegistered) {
		t.Fatalf("reassert with a foreign PR change in the window: %v, want an unconfirmed (retryable) error", err)
	}
	if !errors.Is(err, scsi.ErrReassertUnconfirmed) {
		t.Errorf("error %v does not match ErrReassertUnconfirmed", err)
	}
	if n := countKeys(r.lun.Keys(), keyA); n != 1 {
		t.Errorf("keys %v: own key %d times, want 1 (the orphan; the re-register undone)", r.lun.Keys(), n)
	}
	if r.a.Latched() != "" {
		t.Errorf("latched %q after a confirmed undo", r.a.Latched())
	}
	res := chk(r.a.Reassert(ctx))(t)
	if n := countKeys(res.Keys.Keys, keyA); n != 1 {
		t.Errorf("after the retried reassert keys %v", res.Keys.Keys)
	}
	if err := (&node{dev: r.a.Device()}).write(ctx); err != nil {
		t.Errorf("write after the confirmed reassert: %v", err)
	}
}

// When the undo can never be confirmed (the nexus answers nothing more),
// the Owner stays latched fenced: no later Reassert clears it, even once
// the device answers again and shows the key once on this nexus; only a
// verified Register or Unfence does. The latch is handed to OnLatch before
// the re-register is sent.
func TestReassertLatchedWhenUndoUnconfirmed(t *testing.T) {
	ctx := ctxT(t)
	lun := scsitest.New(scsitest.Config{NoReadFullStatus: true})
	anx := lun.Connect("iqn.2026-11.io.hakit:node-a", "23d000000001")
	f := &scsitest.Faulty{T: anx}
	var persisted []string
	a, err := scsi.NewOwner(scsi.OwnerConfig{Transport: f, Name: "node-a", Key: keyA, Logger: quietLogger(), UndoTimeout: 300e6,
		OnLatch: func(reason string) error { persisted = append(persisted, reason); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	b := newNode(t, lun, "node-b", keyB, 0)
	chk(a.Register(ctx))(t)
	chk(b.owner.Register(ctx))(t)
	persisted = nil
	anx.Reconnect()
	var bErr error
	f.Add(&scsitest.Fault{
		Match: func(c *scsi.Command) bool {
			return scsitest.IsPROut(scsi.PROutRegisterAndIgnore)(c) && !scsitest.IsUnregister(c)
		},
		Before: func() {
			if len(persisted) != 1 || persisted[0] == "" {
				t.Errorf("re-register sent before the latch was persisted (OnLatch calls %q)", persisted)
			}
			_, bErr = b.owner.Fence(ctx, keyA)
		},
		After: func() {
			f.Add(&scsitest.Fault{Match: scsitest.IsUnregister, Drop: true, Times: -1})
		},
	})
	_, err = a.Reassert(ctx)
	if bErr != nil {
		t.Fatal(bErr)
	}
	if !errors.Is(err, scsi.ErrNotRegistered) || !errors.Is(err, scsi.ErrLatched) {
		t.Fatalf("reassert with an unconfirmable undo: %v, want ErrLatched (matching ErrNotRegistered)", err)
	}
	if a.Latched() == "" || len(persisted) != 1 {
		t.Errorf("latched %q, OnLatch calls %q: want latched, persisted once and not cleared", a.Latched(), persisted)
	}
	if _, err := a.Reassert(ctx); !errors.Is(err, scsi.ErrLatched) {
		t.Errorf("next reassert: %v, want still latched", err)
	}
	if a.Latched() == "" {
		t.Error("a later Reassert cleared the latch")
	}
	chk(a.Unfence(ctx))(t)
	if a.Latched() != "" || len(persisted) != 2 || persisted[1] != "" {
		t.Errorf("after a verified unfence: latched %q, OnLatch calls %q; want cleared and persisted", a.Latched(), persisted)
	}
}

// A latch persisted by an earlier run (OwnerConfig.Latched) holds from the
// first call: Reassert refuses, the Owner's Device refuses I/O.
func TestReassertLatchedFromEarlierRun(t *testing.T) {
	ctx := ctxT(t)
	lun := scsitest.New(scsitest.Config{NoReadFullStatus: true})
	nx := lun.Connect("iqn.2026-11.io.hakit:node-a", "23d000000001")
	a, err := scsi.NewOwner(scsi.OwnerConfig{Transport: nx, Name: "node-a", Key: keyA, Latched: "re-register in doubt when the agent stopped"})
	if err != nil {
		t.Fatal(err)
	}
	// The earlier run's nexus is registered (its re-register landed).
	old := newNode(t, lun, "node-a", keyA, 0)
	chk(old.owner.Register(ctx))(t)
	if _, err := a.Reassert(ctx); !errors.Is(err, scsi.ErrLatched) {
		t.Errorf("reassert: %v, want ErrLatched", err)
	}
	if err := (&node{dev: a.Device()}).write(ctx); err == nil {
		t.Error("write through a latched Owner's Device went to the device")
	}
}

func countKeys(ks []scsi.Key, k scsi.Key) int {
	n := 0
	for _, x := range ks {
		if x == k {
			n++
		}
	}
	return n
}
