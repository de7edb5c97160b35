package scsi_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/hakit/hakit/scsi"
	"github.com/hakit/hakit/scsi/scsitest"
)

// reassertRig is node A on a faulty transport and node B, both registered,
// A holding the reservation, A's session just replaced (its registration
// left behind as an orphan, as tgtd does): the state in which A's reconnect
// hook runs Reassert.
type reassertRig struct {
	lun  *scsitest.LUN
	f    *scsitest.Faulty
	a    *scsi.Owner
	anx  *scsitest.Nexus
	b    *node
	bErr error // B's fence, when a rule ran it
}

func newReassertRig(t *testing.T, ctx context.Context) *reassertRig {
	t.Helper()
	lun := scsitest.New(scsitest.Config{NoReadFullStatus: true})
	anx := lun.Connect("iqn.2026-11.io.hakit:node-a", "23d000000001")
	f := &scsitest.Faulty{T: anx}
	a, err := scsi.NewOwner(scsi.OwnerConfig{Transport: f, Name: "node-a", Key: keyA, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	b := newNode(t, lun, "node-b", keyB, 0)
	chk(a.Register(ctx))(t)
	chk(b.owner.Register(ctx))(t)
	chk(a.Acquire(ctx))(t)
	anx.Reconnect()
	return &reassertRig{lun: lun, f: f, a: a, anx: anx, b: b}
}

// fenceBeforeReregister makes B fence A just before A's REGISTER AND IGNORE
// EXISTING KEY with its own key reaches the device: B's fence removes the
// orphan, B's read-back shows A gone, and B reports success.
func (r *reassertRig) fenceBeforeReregister(t *testing.T, ctx context.Context) *scsitest.Fault {
	return r.f.Add(&scsitest.Fault{
		Match: func(c *scsi.Command) bool {
			return scsitest.IsPROut(scsi.PROutRegisterAndIgnore)(c) && !scsitest.IsUnregister(c)
		},
		Before: func() { _, r.bErr = r.b.owner.Fence(ctx, keyA) },
	})
}

// checkStaysFenced asserts what must hold once B's fence has succeeded: A's
// key is gone from the device, A cannot write, and a later Reassert (the
// status retry) does not call A registered.
func (r *reassertRig) checkStaysFenced(t *testing.T, ctx context.Context, reassertErr error) {
	t.Helper()
	if r.bErr != nil {
		t.Fatalf("B's fence: %v (the scenario needs it to succeed)", r.bErr)
	}
	if reassertErr == nil {
		t.Error("A's reassert succeeded although B fenced A during it")
	}
	if keys := r.lun.Keys(); slices.Contains(keys, keyA) {
		t.Errorf("after B's successful fence and A's reassert, keys %v still hold A's key %s: A registered itself again", keys, keyA)
	}
	a := &node{dev: &scsi.Device{Transport: r.anx, Name: "node-a"}}
	if err := a.write(ctx); !errors.Is(err, scsi.ErrReservationConflict) {
		t.Errorf("A write after being fenced: %v, want RESERVATION CONFLICT", err)
	}
	if _, err := r.a.Reassert(ctx); !errors.Is(err, scsi.ErrNotRegistered) {
		t.Errorf("A's next reassert (the status retry): %v, want ErrNotRegistered", err)
	}
	if keys := r.lun.Keys(); slices.Contains(keys, keyA) {
		t.Errorf("after A's next reassert, keys %v hold A's key again", keys)
	}
}

// B fences A between A's READ KEYS and its re-register, and the read-back
// after the re-register is lost (every try of it).
func TestReassertFencedLostReadBack(t *testing.T) {
	ctx := ctxT(t)
	r := newReassertRig(t, ctx)
	rule := r.fenceBeforeReregister(t, ctx)
	rule.After = func() {
		r.f.Add(&scsitest.Fault{Match: scsitest.IsPRIn(scsi.PRInReadKeys), Lose: true, Times: 3})
	}
	_, err := r.a.Reassert(ctx)
	r.checkStaysFenced(t, ctx, err)
}

// B fences A in the window and the undo (the unregister) is lost once.
func TestReassertFencedLostUndo(t *testing.T) {
	ctx := ctxT(t)
	r := newReassertRig(t, ctx)
	r.fenceBeforeReregister(t, ctx)
	undo := r.f.Add(&scsitest.Fault{Match: scsitest.IsUnregister, Drop: true})
	_, err := r.a.Reassert(ctx)
	if r.f.Hits(undo) == 0 {
		t.Fatal("no unregister was sent")
	}
	r.checkStaysFenced(t, ctx, err)
}

// B fences A in the window and the caller's context ends just after the
// re-register (the reconnect hook's time ran out).
func TestReassertFencedDeadline(t *testing.T) {
	ctx := ctxT(t)
	r := newReassertRig(t, ctx)
	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rule := r.fenceBeforeReregister(t, ctx)
	rule.After = cancel
	_, err := r.a.Reassert(hctx)
	r.checkStaysFenced(t, ctx, err)
}

// While A's re-register is in doubt (sent, not yet confirmed), nothing but
// the reassert's own commands may reach the device through A: a write
// through the Owner's Device in that window would land although B reported
// A fenced.
func TestReassertWriteWindow(t *testing.T) {
	ctx := ctxT(t)
	r := newReassertRig(t, ctx)
	rule := r.fenceBeforeReregister(t, ctx)
	var werr error
	wrote := false
	rule.After = func() {
		wrote = true
		w := &node{dev: r.a.Device()}
		werr = w.write(ctx)
	}
	_, err := r.a.Reassert(ctx)
	if !wrote {
		t.Fatal("the re-register was not sent")
	}
	if werr == nil {
		t.Error("a write through A's Owner landed in the re-register window after B's successful fence")
	}
	r.checkStaysFenced(t, ctx, err)
	// Until A is unfenced, nothing goes through its Owner's Device.
	w := &node{dev: r.a.Device()}
	if err := w.write(ctx); err == nil || errors.Is(err, scsi.ErrReservationConflict) {
		t.Errorf("write through A's Owner while fenced: %v, want it refused before the device", err)
	}
	chk(r.a.Unfence(ctx))(t)
	if err := w.write(ctx); err != nil {
		t.Errorf("write through A's Owner after unfence: %v", err)
	}
}
