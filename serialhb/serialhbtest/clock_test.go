package serialhbtest

import (
	"context"
	"testing"
	"time"
)

func TestClock(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := NewClock(start)
	a, b := c.NewTimer(30*time.Millisecond), c.NewTimer(10*time.Millisecond)
	if n := c.Armed(); n != 2 {
		t.Fatalf("armed %d, want 2", n)
	}
	fired := func(tm interface{ C() <-chan time.Time }) (time.Time, bool) {
		select {
		case at := <-tm.C():
			return at, true
		default:
			return time.Time{}, false
		}
	}
	c.Step(9 * time.Millisecond)
	if _, ok := fired(b); ok {
		t.Fatal("fired 1 ms early")
	}
	c.Step(time.Millisecond)
	if at, ok := fired(b); !ok || !at.Equal(start.Add(10*time.Millisecond)) {
		t.Fatalf("b: %v %v", at, ok)
	}
	// A step past a timer fires it with its own time; the clock ends at the step's end.
	c.Step(100 * time.Millisecond)
	if at, ok := fired(a); !ok || !at.Equal(start.Add(30*time.Millisecond)) {
		t.Fatalf("a: %v %v", at, ok)
	}
	if now := c.Now(); !now.Equal(start.Add(110 * time.Millisecond)) {
		t.Fatalf("now %v", now.Sub(start))
	}
	// Reset leaves no stale time; Stop disarms; Reset(0) fires at once.
	a.Reset(5 * time.Millisecond)
	c.Step(5 * time.Millisecond)
	a.Reset(5 * time.Millisecond)
	if _, ok := fired(a); ok {
		t.Fatal("stale time after Reset")
	}
	a.Stop()
	c.Step(time.Second)
	if _, ok := fired(a); ok || c.Armed() != 0 {
		t.Fatalf("stopped timer fired (armed %d)", c.Armed())
	}
	a.Reset(0)
	if _, ok := fired(a); !ok {
		t.Fatal("Reset(0) did not fire")
	}
	// WaitArmed returns once a timer is armed, or with ctx's error.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := c.WaitArmed(ctx, 1); err == nil {
		t.Fatal("WaitArmed returned with no timer armed")
	}
	done := make(chan error)
	go func() { done <- c.WaitArmed(context.Background(), 1) }()
	b.Reset(time.Second)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
