package scsi_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hakit/hakit/scsi"
	"github.com/hakit/hakit/scsi/scsitest"
)

// fakeClock advances on Sleep and runs during(d) meanwhile: what the other
// node does while this one waits.
type fakeClock struct {
	now    time.Time
	during func(d time.Duration)
}

func (c *fakeClock) Now() time.Time { return c.now }

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.during != nil {
		c.during(d)
	}
	c.now = c.now.Add(d)
	return ctx.Err()
}

func newSCSI2(t *testing.T, nx *scsitest.Nexus, clk scsi.Clock) *scsi.SCSI2 {
	t.Helper()
	s, err := scsi.NewSCSI2(scsi.SCSI2Config{Transport: nx, Period: 3 * time.Second, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// reservedSCSI2 returns an owner holding a SCSI-2 reservation on a new LUN
// and a second nexus to that LUN.
func reservedSCSI2(t *testing.T, ctx context.Context) (*scsi.SCSI2, *scsitest.Nexus) {
	t.Helper()
	lun := scsitest.New(scsitest.Config{})
	a, b := lun.Connect("a", ""), lun.Connect("b", "")
	owner := newSCSI2(t, a, &fakeClock{})
	if err := owner.Reserve(ctx); err != nil {
		t.Fatal(err)
	}
	return owner, b
}

func TestSCSI2Config(t *testing.T) {
	lun := scsitest.New(scsitest.Config{})
	nx := lun.Connect("a", "")
	for _, cfg := range []scsi.SCSI2Config{
		{},
		{Transport: nx, Period: 3 * time.Second, Wait: 3 * time.Second},
		{Transport: nx, Period: -time.Second},
		// One nanosecond more than the period was accepted before: an
		// owner's renewal gap is the period plus the command time.
		{Transport: nx, Period: 3 * time.Second, Wait: 3*time.Second + 1},
		// Just short of 2 x Period + CommandTimeout.
		{Transport: nx, Period: 3 * time.Second, CommandTimeout: time.Second, Wait: 7*time.Second - 1},
		// A renewal may not outlast the period.
		{Transport: nx, Period: time.Second, CommandTimeout: 2 * time.Second, Wait: time.Minute},
		{Transport: nx, Period: time.Second, CommandTimeout: -time.Second},
	} {
		if _, err := scsi.NewSCSI2(cfg); err == nil {
			t.Errorf("NewSCSI2(%+v): no error", cfg)
		}
	}
	for _, tc := range []struct {
		cfg             scsi.SCSI2Config
		wantWait, wantC time.Duration
	}{
		{scsi.SCSI2Config{Transport: nx}, 12 * time.Second, 3 * time.Second},
		{scsi.SCSI2Config{Transport: nx, Period: time.Second, CommandTimeout: 500 * time.Millisecond}, 3500 * time.Millisecond, 500 * time.Millisecond},
		{scsi.SCSI2Config{Transport: nx, Period: 3 * time.Second, CommandTimeout: time.Second, Wait: 7 * time.Second}, 7 * time.Second, time.Second},
	} {
		s, err := scsi.NewSCSI2(tc.cfg)
		if err != nil {
			t.Errorf("NewSCSI2(%+v): %v", tc.cfg, err)
			continue
		}
		if c := s.Config(); c.Wait != tc.wantWait || c.CommandTimeout != tc.wantC {
			t.Errorf("NewSCSI2(%+v): wait %v command timeout %v, want %v %v", tc.cfg, c.Wait, c.CommandTimeout, tc.wantWait, tc.wantC)
		}
	}
}

// The shortest accepted wait, 2 x Period + CommandTimeout, still loses to a
// live owner whose first renewal after the reset fails and whose next one
// lands a whole command timeout late.
func TestSCSI2MinWaitCoversOneFailedRenewal(t *testing.T) {
	ctx := ctxT(t)
	owner, b := reservedSCSI2(t, ctx)
	const p, c = 3 * time.Second, time.Second
	// The owner's renewal due just before the reset landed before it; the
	// one due at p-1ms fails; the one due at 2p-1ms lands at 2p-1ms+c.
	clk := &fakeClock{}
	lands := 2*p - time.Millisecond + c
	renewed := false
	clk.during = func(d time.Duration) {
		if !renewed && clk.now.Add(d).Sub(time.Time{}) >= lands {
			renewed = true
			if err := owner.Renew(ctx); err != nil {
				t.Errorf("owner renew: %v", err)
			}
		}
	}
	ch, err := scsi.NewSCSI2(scsi.SCSI2Config{Transport: b, Period: p, CommandTimeout: c, Wait: scsi.MinWait(p, c), Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	r, err := ch.Challenge(ctx)
	if !errors.Is(err, scsi.ErrOwnerAlive) || r.Won || !renewed {
		t.Errorf("challenge with the minimum wait: %+v %v (owner renewed: %v); want owner alive", r, err, renewed)
	}
}

// DefendEach keeps its schedule through failed renewals and stops when told.
func TestSCSI2DefendEach(t *testing.T) {
	ctx := ctxT(t)
	lun := scsitest.New(scsitest.Config{})
	a := lun.Connect("a", "")
	clk := &fakeClock{}
	var times []time.Duration
	var results []error
	s := newSCSI2(t, a, clk)
	err := s.DefendEach(ctx, func(err error) bool {
		times = append(times, clk.now.Sub(time.Time{}))
		results = append(results, err)
		return len(times) < 4
	})
	if err != nil || len(times) != 4 {
		t.Fatalf("DefendEach: %v after %d renewals", err, len(times))
	}
	for i, d := range times {
		if d != time.Duration(i)*3*time.Second || results[i] != nil {
			t.Errorf("renewal %d at %v: %v; want at %v, nil", i, d, results[i], time.Duration(i)*3*time.Second)
		}
	}
}

// SPC-2 7.21 RESERVE(6): A reserves, B conflicts on I/O and RESERVE, a LUN
// reset clears the reservation (SAM-4 5.3.2: and reports 29/00).
func TestSCSI2ReserveConflictReset(t *testing.T) {
	ctx := ctxT(t)
	lun := scsitest.New(scsitest.Config{})
	a, b := lun.Connect("a", ""), lun.Connect("b", "")
	sa, sb := newSCSI2(t, a, &fakeClock{}), newSCSI2(t, b, &fakeClock{})
	if err := sa.Reserve(ctx); err != nil {
		t.Fatal(err)
	}
	if err := sb.Reserve(ctx); !errors.Is(err, scsi.ErrReservationConflict) {
		t.Errorf("B reserve: %v", err)
	}
	devB := &scsi.Device{Transport: b, UnitAttentionRetries: 2}
	if err := devB.TestUnitReady(ctx); !errors.Is(err, scsi.ErrReservationConflict) {
		t.Errorf("B TUR: %v", err)
	}
	if _, err := devB.Inquiry(ctx); err != nil {
		t.Errorf("B INQUIRY under SCSI-2 reservation: %v", err)
	}
	if err := devB.Reset(ctx, scsi.ResetLUN); err != nil {
		t.Fatal(err)
	}
	if err := sb.Reserve(ctx); err != nil {
		t.Errorf("B reserve after reset: %v", err)
	}
	if err := sa.Renew(ctx); !errors.Is(err, scsi.ErrReservationLost) {
		t.Errorf("A renew: %v", err)
	}
	if err := sb.Release(ctx); err != nil {
		t.Error(err)
	}
}

// Challenge/defense: a live owner renews during the challenger's wait and
// wins back; a dead one does not and the challenger takes over.
func TestSCSI2Challenge(t *testing.T) {
	ctx := ctxT(t)
	owner, b := reservedSCSI2(t, ctx)
	// Alive: the owner renews every period while B waits.
	clk := &fakeClock{during: func(d time.Duration) {
		for range d / (3 * time.Second) {
			if err := owner.Renew(ctx); err != nil {
				t.Errorf("owner renew: %v", err)
			}
		}
	}}
	ch := newSCSI2(t, b, clk)
	r, err := ch.Challenge(ctx)
	if !errors.Is(err, scsi.ErrOwnerAlive) || r.Won || r.Waited != 12*time.Second {
		t.Errorf("challenge of a live owner: %+v %v", r, err)
	}
	// Dead: nobody renews.
	clk.during = nil
	r, err = ch.Challenge(ctx)
	if err != nil || !r.Won {
		t.Errorf("challenge of a dead owner: %+v %v", r, err)
	}
	if err := owner.Renew(ctx); !errors.Is(err, scsi.ErrReservationLost) {
		t.Errorf("old owner renew: %v", err)
	}
	// Unreserved unit: won at once.
	lun2 := scsitest.New(scsitest.Config{})
	r, err = newSCSI2(t, lun2.Connect("c", ""), &fakeClock{}).Challenge(ctx)
	if err != nil || !r.Won || r.Waited != 0 {
		t.Errorf("challenge of a free unit: %+v %v", r, err)
	}
}

func TestSCSI2Defend(t *testing.T) {
	lun := scsitest.New(scsitest.Config{})
	a, b := lun.Connect("a", ""), lun.Connect("b", "")
	ctx, cancel := context.WithCancel(ctxT(t))
	renewals := 0
	clk := &fakeClock{during: func(time.Duration) {
		renewals++
		if renewals == 5 {
			cancel()
		}
	}}
	if err := newSCSI2(t, a, clk).Defend(ctx); err != nil {
		t.Errorf("Defend ended by ctx: %v", err)
	}
	if renewals != 5 || lun.Count(scsi.OpReserve6) != 5 {
		t.Errorf("renewals %d reserves %d", renewals, lun.Count(scsi.OpReserve6))
	}
	// Another node takes over: Defend reports the loss.
	ctx2 := ctxT(t)
	clk2 := &fakeClock{during: func(time.Duration) {
		_ = (&scsi.Device{Transport: b}).Reset(ctx2, scsi.ResetLUN)
		_ = (&scsi.Device{Transport: b, UnitAttentionRetries: 2}).Reserve6(ctx2)
	}}
	if err := newSCSI2(t, a, clk2).Defend(ctx2); !errors.Is(err, scsi.ErrReservationLost) {
		t.Errorf("Defend after takeover: %v", err)
	}
}

// shortClock's Sleep advances only half the time asked for: a timer that
// wakes early.
type shortClock struct{ fakeClock }

func (c *shortClock) Sleep(ctx context.Context, d time.Duration) error {
	return c.fakeClock.Sleep(ctx, max(d/2, time.Millisecond))
}

// The challenger reserves only after Wait has passed by its clock, even
// when a sleep returns early: a live owner renewing every Period still wins.
func TestSCSI2ChallengeWaitsFullWait(t *testing.T) {
	ctx := ctxT(t)
	owner, b := reservedSCSI2(t, ctx)
	// The owner renews once each time the challenger's clock passes a
	// 3 s period boundary.
	clk := &shortClock{}
	var next time.Time
	clk.during = func(d time.Duration) {
		if next.IsZero() {
			next = clk.now.Add(3 * time.Second)
		}
		if !clk.now.Add(d).Before(next) {
			if err := owner.Renew(ctx); err != nil {
				t.Errorf("owner renew: %v", err)
			}
			next = next.Add(3 * time.Second)
		}
	}
	r, err := newSCSI2(t, b, clk).Challenge(ctx)
	if !errors.Is(err, scsi.ErrOwnerAlive) || r.Won || r.Waited < 9*time.Second {
		t.Errorf("challenge with an early-waking clock: %+v %v; want owner alive after at least 9s", r, err)
	}
}
