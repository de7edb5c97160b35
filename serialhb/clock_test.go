package serialhb_test

import (
	"context"
	"errors"
	"io/fs"
	"testing"
	"time"

	"github.com/hakit/hakit/serialhb"
	"github.com/hakit/hakit/serialhb/serialhbtest"
)

var clockStart = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// countOpens wraps open: each call's error goes to the returned channel.
func countOpens(open func(context.Context, string, serialhb.PortConfig) (serialhb.Port, error)) (func(context.Context, string, serialhb.PortConfig) (serialhb.Port, error), <-chan error) {
	calls := make(chan error, 64)
	return func(ctx context.Context, path string, cfg serialhb.PortConfig) (serialhb.Port, error) {
		p, err := open(ctx, path, cfg)
		calls <- err
		return p, err
	}, calls
}

// clockRunner starts node 1 on end 0 of a new cable, on a stepped clock at
// clockStart.
func clockRunner(t *testing.T, timers serialhb.Timers) (*serialhbtest.Clock, *serialhbtest.Cable, *serialhb.Runner, *events) {
	clk := serialhbtest.NewClock(clockStart)
	c := serialhbtest.NewCable()
	r, ev := startRunner(t, serialhb.Config{Path: "end0", Open: c.Opener(0), Clock: clk, Link: serialhb.LinkConfig{Node: 1, Timers: timers}})
	return clk, c, r, ev
}

// step moves clk on by d and waits until the runner's loop has done what
// the new time asks for and armed its timer again.
func step(t *testing.T, clk *serialhbtest.Clock, d time.Duration) {
	t.Helper()
	clk.Step(d)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := clk.WaitArmed(ctx, 1); err != nil {
		t.Fatalf("the runner's loop did not arm its timer again after a step of %v: %v", d, err)
	}
}

// stepTo steps clk by at most by at a time until it reads clockStart+at.
func stepTo(t *testing.T, clk *serialhbtest.Clock, at, by time.Duration) {
	t.Helper()
	for left := clockStart.Add(at).Sub(clk.Now()); left > 0; left = clockStart.Add(at).Sub(clk.Now()) {
		step(t, clk, min(left, by))
	}
}

// noState fails if a transition to s is queued.
func noState(t *testing.T, ev *events, s serialhb.State) {
	t.Helper()
	for _, e := range ev.drain() {
		if e.Kind == serialhb.EventState && e.To == s {
			t.Fatalf("early transition to %s at %v", s, e.Time.Sub(clockStart))
		}
	}
}

// The runner on a stepped clock: the peer (a Link played by hand on the
// cable's other end) answers once at the start, then stays silent; warn
// comes at exactly warntime of silence and dead at exactly deadtime, not a
// millisecond before, and Status().Silence reads the clock.
func TestRunnerClockWarnDead(t *testing.T) {
	t.Parallel()
	timers := serialhb.TimersMS(100, 400, 700, 1400)
	clk, c, a, ea := clockRunner(t, timers)

	peerPort, err := c.Open(1)
	if err != nil {
		t.Fatal(err)
	}
	peer, err := serialhb.NewLink(serialhb.LinkConfig{Node: 2, Cluster: 7, Key: key, Timers: timers, Incarnation: 5}, clockStart)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	buf := make([]byte, 512)
	n, err := peerPort.Read(ctx, buf) // node 1's first heartbeat, sent at the start
	if err != nil {
		t.Fatal(err)
	}
	peer.Feed(clockStart, buf[:n])
	for _, f := range peer.Ready().Frames { // the ack that echoes it
		if _, err := peerPort.Write(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	if e := ea.waitState(5*time.Second, serialhb.StateAlive); !e.Time.Equal(clockStart) {
		t.Errorf("alive at %v, want at the start", e.Time.Sub(clockStart))
	}

	stepTo(t, clk, timers.Warntime-time.Millisecond, timers.Keepalive)
	noState(t, ea, serialhb.StateWarn)
	if st := a.Status(); st.State != serialhb.StateAlive || st.Silence != timers.Warntime-time.Millisecond {
		t.Errorf("1 ms before warntime: %s, silence %v", st.State, st.Silence)
	}
	step(t, clk, time.Millisecond)
	if e := ea.waitState(5*time.Second, serialhb.StateWarn); !e.Time.Equal(clockStart.Add(timers.Warntime)) {
		t.Errorf("warn at %v, want %v", e.Time.Sub(clockStart), timers.Warntime)
	}

	stepTo(t, clk, timers.Deadtime-time.Millisecond, timers.Keepalive)
	noState(t, ea, serialhb.StateDead)
	step(t, clk, time.Millisecond)
	if e := ea.waitState(5*time.Second, serialhb.StateDead); !e.Time.Equal(clockStart.Add(timers.Deadtime)) || e.Silence != timers.Deadtime {
		t.Errorf("dead at %v (silence %v), want %v", e.Time.Sub(clockStart), e.Silence, timers.Deadtime)
	}
	if st := a.Status(); st.State != serialhb.StateDead || st.Silence != timers.Deadtime {
		t.Errorf("at deadtime: %s, silence %v", st.State, st.Silence)
	}
}

// A silent peer from the start: dead at exactly initdead.
func TestRunnerClockInitdead(t *testing.T) {
	t.Parallel()
	timers := serialhb.TimersMS(100, 400, 700, 1400)
	clk, _, _, ea := clockRunner(t, timers)
	stepTo(t, clk, timers.Initdead-time.Millisecond, timers.Keepalive)
	noState(t, ea, serialhb.StateDead)
	step(t, clk, time.Millisecond)
	if e := ea.waitState(5*time.Second, serialhb.StateDead); !e.Time.Equal(clockStart.Add(timers.Initdead)) {
		t.Errorf("dead at %v, want initdead %v", e.Time.Sub(clockStart), timers.Initdead)
	}
}

// The reopen backoff on a stepped clock: after the port is lost, attempts
// come at ReopenMin, then doubling to ReopenMax and staying there, none a
// millisecond early; the port comes back at the first attempt after the
// replug.
func TestRunnerClockReopenBackoff(t *testing.T) {
	t.Parallel()
	clk := serialhbtest.NewClock(clockStart)
	c := serialhbtest.NewCable()
	open, opens := countOpens(c.Opener(0))
	a, ea := startRunner(t, serialhb.Config{Path: "end0", Open: open, Clock: clk, ReopenMin: 50 * time.Millisecond, ReopenMax: 200 * time.Millisecond,
		Link: serialhb.LinkConfig{Node: 1, Timers: serialhb.TimersMS(1000, 4000, 7000, 14000)}})
	if err := <-opens; err != nil {
		t.Fatal(err)
	}
	c.Unplug(0)
	ea.wait(5*time.Second, "port lost", func(e serialhb.Event) bool { return e.Kind == serialhb.EventPortLost })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := clk.WaitArmed(ctx, 1); err != nil {
		t.Fatal(err)
	}
	attempted := func() (error, bool) {
		select {
		case err := <-opens:
			return err, true
		default:
			return nil, false
		}
	}
	for i, wait := range []time.Duration{50, 100, 200, 200} {
		wait *= time.Millisecond
		step(t, clk, wait-time.Millisecond)
		if _, ok := attempted(); ok {
			t.Fatalf("attempt %d before %v", i+1, wait)
		}
		step(t, clk, time.Millisecond)
		err, ok := attempted()
		if !ok {
			t.Fatalf("no attempt %d after %v", i+1, wait)
		}
		if !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("attempt %d: %v, want not exist", i+1, err)
		}
	}
	c.Replug(0)
	step(t, clk, 200*time.Millisecond)
	if err, ok := attempted(); !ok || err != nil {
		t.Fatalf("attempt after the replug: %v (made: %v)", err, ok)
	}
	ea.wait(5*time.Second, "port opened", func(e serialhb.Event) bool { return e.Kind == serialhb.EventPortOpened })
	if st := a.Status(); !st.PortOpen || st.Reopens != 1 {
		t.Errorf("after the replug: open %v, reopens %d", st.PortOpen, st.Reopens)
	}
}
