package serialhbtest

import (
	"context"
	"sync"
	"time"

	"github.com/hakit/hakit/serialhb"
)

// Clock is a serialhb.Clock that moves only when Step is called, so that a
// test of the runner's timing (warntime, deadtime, the reopen backoff)
// decides to the nanosecond what time it is. Its methods are safe for
// concurrent use.
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	armed   map[*timer]struct{}
	changed chan struct{} // closed and replaced when a timer is armed
}

// NewClock returns a clock at start.
func NewClock(start time.Time) *Clock {
	return &Clock{now: start, armed: map[*timer]struct{}{}, changed: make(chan struct{})}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer returns a timer that fires once Step has moved the clock d on.
func (c *Clock) NewTimer(d time.Duration) serialhb.Timer {
	t := &timer{c: c, ch: make(chan time.Time, 1)}
	t.Reset(d)
	return t
}

// Step moves the clock d on and fires, in order of their times, the timers
// due by then (each sees the clock at its own time).
func (c *Clock) Step(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	end := c.now.Add(d)
	for {
		var next *timer
		for t := range c.armed {
			if !t.at.After(end) && (next == nil || t.at.Before(next.at)) {
				next = t
			}
		}
		if next == nil {
			break
		}
		if next.at.After(c.now) {
			c.now = next.at
		}
		next.fireLocked()
	}
	c.now = end
}

// Armed returns how many timers wait to fire.
func (c *Clock) Armed() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.armed)
}

// WaitArmed waits until at least n timers wait to fire: a runner's loop,
// its timer fired by Step, arms it again once it has done what the new time
// asks for (ticked its Link, written frames, published events).
func (c *Clock) WaitArmed(ctx context.Context, n int) error {
	for {
		c.mu.Lock()
		k, ch := len(c.armed), c.changed
		c.mu.Unlock()
		if k >= n {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

type timer struct {
	c  *Clock
	ch chan time.Time
	at time.Time
}

func (t *timer) C() <-chan time.Time { return t.ch }

// Reset arms the timer d from now; d <= 0 fires it at once.
func (t *timer) Reset(d time.Duration) {
	c := t.c
	c.mu.Lock()
	defer c.mu.Unlock()
	t.drainLocked()
	t.at = c.now.Add(d)
	if d <= 0 {
		delete(c.armed, t)
		t.ch <- c.now
		return
	}
	c.armed[t] = struct{}{}
	close(c.changed)
	c.changed = make(chan struct{})
}

func (t *timer) Stop() {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	delete(t.c.armed, t)
	t.drainLocked()
}

func (t *timer) drainLocked() {
	select {
	case <-t.ch:
	default:
	}
}

func (t *timer) fireLocked() {
	delete(t.c.armed, t)
	t.drainLocked()
	t.ch <- t.c.now
}
