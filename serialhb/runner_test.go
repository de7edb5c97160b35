package serialhb_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hakit/hakit/serialhb"
	"github.com/hakit/hakit/serialhb/serialhbtest"
)

// TestRunnerDouble drives two runners over the in-memory cable of
// serialhbtest: alive, node state carried, modem-line diagnosis, unplug
// and reopen, stop.
func TestRunnerDouble(t *testing.T) {
	t.Parallel()
	c := serialhbtest.NewCable()
	timers := serialhb.TimersMS(10, 200, 400, 800)
	open, opens := countOpens(c.Opener(0))
	a, ea := startRunner(t, serialhb.Config{Path: "end0", Open: open, ReopenMin: 5 * time.Millisecond, Link: serialhb.LinkConfig{Node: 1, Timers: timers}})
	<-opens
	b, eb := startRunner(t, serialhb.Config{Path: "end1", Open: c.Opener(1), Link: serialhb.LinkConfig{Node: 2, Timers: timers, State: serialhb.NodeState{Role: serialhb.RoleStandby}}})
	ea.waitState(5*time.Second, serialhb.StateAlive)
	eb.waitState(5*time.Second, serialhb.StateAlive)

	ctx := context.Background()
	if err := a.SetState(ctx, serialhb.NodeState{Role: serialhb.RoleActive, Resources: 3}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "peer state active", func() bool {
		return b.Status().Peer.State == serialhb.NodeState{Role: serialhb.RoleActive, Resources: 3}
	})
	if got := a.Status().Peer.State.Role; got != serialhb.RoleStandby {
		t.Errorf("node 1 sees peer role %s, want standby", got)
	}

	// A cut cable with modem lines: "cable present, peer silent" versus
	// "no cable".
	c.SetModem(0, serialhb.ModemLines{DSR: serialhb.LineOn, CTS: serialhb.LineOn, DCD: serialhb.LineOn})
	c.Cut()
	ea.waitState(5*time.Second, serialhb.StateDead)
	waitFor(t, "silent-peer verdict", func() bool { return a.Status().Cable == serialhb.CableSilentPeer })
	c.SetModem(0, serialhb.ModemLines{DSR: serialhb.LineOff, CTS: serialhb.LineOff, DCD: serialhb.LineOff})
	waitFor(t, "no-cable verdict", func() bool { return a.Status().Cable == serialhb.CableAbsent })
	c.Reconnect()
	ea.waitState(5*time.Second, serialhb.StateAlive)

	c.Unplug(0)
	ea.wait(5*time.Second, "port lost", func(e serialhb.Event) bool { return e.Kind == serialhb.EventPortLost })
	for range 2 { // two failed reopens
		if err := <-opens; err == nil {
			t.Fatal("reopened while unplugged")
		}
	}
	c.Replug(0)
	ea.wait(5*time.Second, "port opened", func(e serialhb.Event) bool { return e.Kind == serialhb.EventPortOpened })
	waitFor(t, "alive after replug", func() bool { return a.Status().State == serialhb.StateAlive })

	// Garbage without delimiters and random blocks never blocks the runner.
	junk := make([]byte, 1<<20)
	for i := range junk {
		junk[i] = byte(i*7 + 1)
	}
	c.Inject(0, junk)
	c.Inject(0, []byte{0, 1, 2, 3, 0, 0xff, 0})
	waitFor(t, "oversize counted", func() bool { return a.Status().Counters.Oversize > 0 })
	if st := a.Status(); st.State != serialhb.StateAlive {
		t.Errorf("after garbage: %s", st.State)
	}

	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := a.Stop(sctx); err != nil {
		t.Fatal(err)
	}
	if err := a.SetState(ctx, serialhb.NodeState{}); !errors.Is(err, serialhb.ErrNotRunning) {
		t.Errorf("SetState after Stop: %v", err)
	}
	if _, err := a.CableTest(ctx, serialhb.CableTestConfig{Count: 1}); !errors.Is(err, serialhb.ErrNotRunning) {
		t.Errorf("CableTest after Stop: %v", err)
	}
	eb.waitState(5*time.Second, serialhb.StateDead)
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestRunnerConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  serialhb.Config
		want error
	}{
		{"no path", serialhb.Config{Link: serialhb.LinkConfig{Node: 1, Key: key}}, serialhb.ErrBadConfig},
		{"baud", serialhb.Config{Path: "x", Port: serialhb.PortConfig{Baud: 1200}, Link: serialhb.LinkConfig{Node: 1, Key: key}}, serialhb.ErrUnsupportedBaud},
		{"node 0", serialhb.Config{Path: "x", Link: serialhb.LinkConfig{Key: key}}, serialhb.ErrBadConfig},
		{"peer is self", serialhb.Config{Path: "x", Link: serialhb.LinkConfig{Node: 3, Peer: 3, Key: key}}, serialhb.ErrBadConfig},
		{"short key", serialhb.Config{Path: "x", Link: serialhb.LinkConfig{Node: 1, Key: key[:15]}}, serialhb.ErrShortKey},
		{"deadtime", serialhb.Config{Path: "x", Link: serialhb.LinkConfig{Node: 1, Key: key, Timers: serialhb.TimersMS(1000, 0, 2000, 0)}}, serialhb.ErrBadConfig},
		{"sub-ms", serialhb.Config{Path: "x", Link: serialhb.LinkConfig{Node: 1, Key: key, Timers: serialhb.Timers{Keepalive: time.Microsecond}}}, serialhb.ErrBadConfig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := serialhb.NewRunner(tc.cfg); !errors.Is(err, tc.want) {
				t.Errorf("NewRunner: %v, want %v", err, tc.want)
			}
		})
	}
	r, err := serialhb.NewRunner(serialhb.Config{Path: "x", Link: serialhb.LinkConfig{Node: 1, Key: key}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Stop(context.Background()); !errors.Is(err, serialhb.ErrNotRunning) {
		t.Errorf("Stop before Start: %v", err)
	}
	if r.Incarnation() == 0 {
		t.Errorf("default incarnation 0")
	}
}

func TestDiagnose(t *testing.T) {
	on, off := serialhb.LineOn, serialhb.LineOff
	for _, tc := range []struct {
		state serialhb.State
		open  bool
		m     serialhb.ModemLines
		want  serialhb.Cable
	}{
		{serialhb.StateAlive, false, serialhb.ModemLines{}, serialhb.CablePortMissing},
		{serialhb.StateAlive, true, serialhb.ModemLines{}, serialhb.CableOK},
		{serialhb.StateWarn, true, serialhb.ModemLines{}, serialhb.CableOK},
		{serialhb.StateDead, true, serialhb.ModemLines{}, serialhb.CableUnknown},
		{serialhb.StateDead, true, serialhb.ModemLines{DSR: on, CTS: off, DCD: off}, serialhb.CableSilentPeer},
		{serialhb.StateInitDead, true, serialhb.ModemLines{DSR: off, CTS: on, DCD: off}, serialhb.CableSilentPeer},
		{serialhb.StateDead, true, serialhb.ModemLines{DSR: off, CTS: off, DCD: off}, serialhb.CableAbsent},
	} {
		if got := serialhb.Diagnose(tc.state, tc.open, tc.m); got != tc.want {
			t.Errorf("Diagnose(%s, open=%v, %+v) = %q, want %q", tc.state, tc.open, tc.m, got, tc.want)
		}
	}
}
