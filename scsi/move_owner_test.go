package scsi_test

import (
	"errors"
	"testing"

	"github.com/hakit/hakit/scsi"
	"github.com/hakit/hakit/scsi/scsitest"
)

const keyC = scsi.Key(0x686b8ed3f6ad0003)

// portOf is the TransportID of newNode's nexus for name.
func portOf(name string) scsi.TransportID {
	return scsi.TransportID{Protocol: scsi.ProtocolISCSI, Format: 1, Name: "iqn.2026-11.io.hakit:" + name, ISID: "23d00000000" + name[len(name)-1:]}
}

// The handover of SPC-4 5.12.8: A holds; B fences A and holds; B moves
// the reservation to C (registered), staying registered; A stays cut
// off throughout. On a standard target and on tgtd's variant (its
// TransportID layout, learned from the first refusal).
func TestOwnerMove(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     scsitest.Config
		layout  string
		movedTo scsi.ReservationType // the type read back after the move
	}{
		{"standard", scsitest.Config{}, "standard", scsi.TypeWriteExclusiveRegistrantsOnly},
		// tgtd does not copy the type to the destination.
		{"tgtd", scsitest.Config{TgtdMove: true, NoPreemptAndAbort: true}, "tgtd", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := ctxT(t)
			lun := scsitest.New(tc.cfg)
			typ := scsi.TypeWriteExclusiveRegistrantsOnly
			a, b, c := newNode(t, lun, "node-a", keyA, typ), newNode(t, lun, "node-b", keyB, typ), newNode(t, lun, "node-c", keyC, typ)
			for _, n := range []*node{a, b, c} {
				chk(n.owner.Register(ctx))(t)
			}
			chk(a.owner.Acquire(ctx))(t)
			chk(b.owner.Fence(ctx, keyA))(t)
			if _, err := a.writeAfterUA(ctx); !errors.Is(err, scsi.ErrReservationConflict) {
				t.Fatalf("A writes after the fence: %v", err)
			}
			// C is not the holder: it cannot move.
			if _, err := c.owner.Move(ctx, keyB, portOf("node-b")); !errors.Is(err, scsi.ErrNotHolder) {
				t.Fatalf("move by a non-holder: %v, want ErrNotHolder", err)
			}
			// A's key is gone: no move to it.
			if _, err := b.owner.Move(ctx, keyA, portOf("node-a")); !errors.Is(err, scsi.ErrKeyNotRegistered) {
				t.Fatalf("move to a fenced key: %v, want ErrKeyNotRegistered", err)
			}
			if _, err := b.owner.Move(ctx, keyB, portOf("node-b")); !errors.Is(err, scsi.ErrOwnKey) {
				t.Fatalf("move to own key: %v, want ErrOwnKey", err)
			}
			// A wrong ISID: refused, the reservation stays B's.
			wrong := portOf("node-c")
			wrong.ISID = "23d0000000ff"
			if _, err := b.owner.Move(ctx, keyC, wrong); !errors.Is(err, scsi.ErrMoveRefused) {
				t.Fatalf("move to a wrong TransportID: %v, want ErrMoveRefused", err)
			}
			if res := chk(b.dev.ReadReservation(ctx))(t); !res.Held || res.Key != keyB {
				t.Fatalf("after a refused move: %+v", res)
			}
			r, err := b.owner.Move(ctx, keyC, portOf("node-c"))
			if err != nil {
				t.Fatal(err)
			}
			if r.LayoutName != tc.layout || r.Reservation.Key != keyC || r.Reservation.Type != tc.movedTo {
				t.Errorf("move: layout %s reservation %+v notes %q", r.LayoutName, r.Reservation, r.Notes)
			}
			keys := chk(b.dev.ReadKeys(ctx))(t)
			if !hasKey(keys.Keys, keyB) || !hasKey(keys.Keys, keyC) || hasKey(keys.Keys, keyA) {
				t.Errorf("keys after the move: %v", keys.Keys)
			}
			if _, err := c.writeAfterUA(ctx); err != nil {
				t.Errorf("C writes as holder: %v", err)
			}
			if _, err := a.writeAfterUA(ctx); !errors.Is(err, scsi.ErrReservationConflict) {
				t.Errorf("A writes after the move: %v", err)
			}
			// C's Acquire claims what it holds (and sets the type tgtd
			// lost).
			if r := chk(c.owner.Acquire(ctx))(t); r.Reservation.Key != keyC || r.Reservation.Type != typ {
				t.Errorf("C's acquire after the move: %+v %q", r.Reservation, r.Notes)
			}
			if _, err := a.writeAfterUA(ctx); !errors.Is(err, scsi.ErrReservationConflict) {
				t.Errorf("A writes after C's acquire: %v", err)
			}
			// B no longer holds: a second move is refused before sending.
			if _, err := b.owner.Move(ctx, keyC, portOf("node-c")); !errors.Is(err, scsi.ErrNotHolder) {
				t.Errorf("second move by B: %v, want ErrNotHolder", err)
			}
			// The layout learned is used again: C moves back to B.
			if r, err := c.owner.Move(ctx, keyB, portOf("node-b")); err != nil || r.LayoutName != tc.layout {
				t.Errorf("move back: %v layout %v", err, r)
			}
		})
	}
}

// A target that lacks REGISTER AND MOVE refuses with ILLEGAL REQUEST:
// ErrMoveRefused, the reservation unchanged.
func TestOwnerMoveUnsupported(t *testing.T) {
	ctx := ctxT(t)
	lun, _, b := registeredPair(t, ctxT(t), scsitest.Config{NoRegisterAndMove: true}, scsi.TypeWriteExclusiveRegistrantsOnly)
	c := newNode(t, lun, "node-c", keyC, scsi.TypeWriteExclusiveRegistrantsOnly)
	chk(c.owner.Register(ctx))(t)
	chk(b.owner.Acquire(ctx))(t)
	_, err := b.owner.Move(ctx, keyC, portOf("node-c"))
	if !errors.Is(err, scsi.ErrMoveRefused) {
		t.Fatalf("move on a target without it: %v", err)
	}
	if res := chk(b.dev.ReadReservation(ctx))(t); res.Key != keyB {
		t.Errorf("reservation after the refusal: %+v", res)
	}
}

func hasKey(ks []scsi.Key, k scsi.Key) bool {
	for _, x := range ks {
		if x == k {
			return true
		}
	}
	return false
}

// Without a TransportID the holder takes the destination's from READ
// FULL STATUS; a target without it (tgtd) refuses clearly.
func TestOwnerMoveFromFullStatus(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  scsitest.Config
		ok   bool
	}{{"full status", scsitest.Config{}, true}, {"no full status", scsitest.Config{NoReadFullStatus: true}, false}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := ctxT(t)
			lun, _, b := registeredPair(t, ctx, tc.cfg, scsi.TypeWriteExclusiveRegistrantsOnly)
			c := newNode(t, lun, "node-c", keyC, scsi.TypeWriteExclusiveRegistrantsOnly)
			chk(c.owner.Register(ctx))(t)
			chk(b.owner.Acquire(ctx))(t)
			r, err := b.owner.Move(ctx, keyC, scsi.TransportID{})
			if tc.ok != (err == nil) {
				t.Fatalf("move: %v", err)
			}
			if res := chk(b.dev.ReadReservation(ctx))(t); tc.ok != (res.Key == keyC) || !res.Held {
				t.Errorf("reservation after the move: %+v (notes %q)", res, r.Notes)
			}
		})
	}
}
