package scsi_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/hakit/hakit/internal/rig"
	"github.com/hakit/hakit/scsi"
)

const iqnC = "iqn.2026-11.io.hakit.test:node-c"

// The handover on tgtd with three initiators: A holds; B fences A
// (PREEMPT: tgtd lacks PREEMPT AND ABORT) and so holds; B moves the
// reservation to C with REGISTER AND MOVE (tgtd's TransportID layout,
// after its refusal of the standard one); C holds, B is still
// registered, and A's writes conflict at every step. A reader polls READ
// RESERVATION throughout the move: no answer may show no reservation.
func TestIntegrationMoveThreeNodes(t *testing.T) {
	d := rig.DiskFor(t, rig.DiskConfig{Initiators: []string{iqnA, iqnB, iqnC}, Logger: quietLogger()})
	typ := scsi.TypeWriteExclusiveRegistrantsOnly
	a, b, c := dialNode(t, d, iqnA, keyA, typ, nil), dialNode(t, d, iqnB, keyB, typ, nil), dialNode(t, d, iqnC, keyC, typ, nil)
	ctx := ctxT(t)
	for _, n := range []*tnode{a, b, c} {
		chk(n.owner.Register(ctx))(t)
	}
	chk(a.owner.Acquire(ctx))(t)
	aCut := func(step string) {
		t.Helper()
		if _, err := a.writeAfterUA(ctx); !errors.Is(err, scsi.ErrReservationConflict) {
			t.Fatalf("%s: A's write: %v, want RESERVATION CONFLICT", step, err)
		}
	}
	chk(b.owner.Fence(ctx, keyA))(t)
	aCut("after the fence")
	if res := chk(b.dev.ReadReservation(ctx))(t); !res.Held || res.Key != keyB || res.Type != typ {
		t.Fatalf("after the fence: %+v, want B holding %s", res, typ)
	}
	// C cannot reserve: B holds.
	if _, err := c.owner.Acquire(ctx); !errors.Is(err, scsi.ErrReservedByOther) {
		t.Fatalf("C's acquire while B holds: %v, want ErrReservedByOther", err)
	}

	// Poll the reservation from a fourth session of A's name while B
	// moves it.
	poll := dialNode(t, d, iqnA, keyA, typ, nil)
	pctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var polls, gaps int
	var pollErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for pctx.Err() == nil {
			res, err := poll.dev.ReadReservation(pctx)
			if err != nil {
				if pctx.Err() == nil && !errors.Is(err, scsi.ErrUnitAttention) {
					pollErr = err
				}
				continue
			}
			polls++
			if !res.Held {
				gaps++
			}
		}
	}()
	r, err := b.owner.Move(ctx, keyC, c.sess.TransportID())
	// Keep polling a little after the move.
	for range 20 {
		_, _ = b.dev.ReadReservation(ctx)
	}
	stop()
	wg.Wait()
	if err != nil {
		t.Fatalf("move: %v", err)
	}
	t.Logf("move: layout %s, notes %q; %d polls of READ RESERVATION during it, %d without a reservation", r.LayoutName, r.Notes, polls, gaps)
	if pollErr != nil {
		t.Errorf("poll: %v", pollErr)
	}
	if gaps != 0 || polls == 0 {
		t.Errorf("%d of %d polls showed no reservation", gaps, polls)
	}
	if r.LayoutName != "tgtd" {
		t.Errorf("tgtd took the %s layout, want tgtd's", r.LayoutName)
	}
	// tgtd moves the holder but not the type: it reads 0 until C's
	// acquire sets it.
	if res := chk(c.dev.ReadReservation(ctx))(t); !res.Held || res.Key != keyC || res.Type != 0 {
		t.Fatalf("after the move: %+v, want C holding, type 0 (tgtd's)", res)
	}
	keys := chk(c.dev.ReadKeys(ctx))(t)
	if !hasKey(keys.Keys, keyB) || !hasKey(keys.Keys, keyC) || hasKey(keys.Keys, keyA) {
		t.Errorf("keys after the move: %v, want B and C, not A", keys.Keys)
	}
	aCut("after the move")
	if _, err := c.writeAfterUA(ctx); err != nil {
		t.Errorf("C's write as holder: %v", err)
	}
	aCut("after the move, type 0")
	// C's acquire claims what it holds and sets the type again, polled
	// the same way.
	pctx, stop = context.WithCancel(ctx)
	polls, gaps = 0, 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		for pctx.Err() == nil {
			if res, err := poll.dev.ReadReservation(pctx); err == nil {
				polls++
				if !res.Held || res.Key != keyC {
					gaps++
				}
			}
		}
	}()
	ar, err := c.owner.Acquire(ctx)
	stop()
	wg.Wait()
	if err != nil {
		t.Fatalf("C's acquire: %v", err)
	}
	t.Logf("C's acquire: notes %q; %d polls, %d not showing C as holder", ar.Notes, polls, gaps)
	if gaps != 0 {
		t.Errorf("%d polls during C's acquire did not show C holding", gaps)
	}
	if res := chk(c.dev.ReadReservation(ctx))(t); !res.Held || res.Key != keyC || res.Type != typ {
		t.Fatalf("after C's acquire: %+v, want C holding %s", res, typ)
	}
	if _, err := b.writeAfterUA(ctx); err != nil {
		t.Errorf("B's write as a registrant under type 5: %v", err)
	}
	aCut("at the end")
}
