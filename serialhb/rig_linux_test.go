//go:build linux

package serialhb_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hakit/hakit/internal/rig"
	"github.com/hakit/hakit/internal/testutil"
	"github.com/hakit/hakit/serialhb"
	"golang.org/x/sys/unix"
)

func TestRigAliveCutReconnect(t *testing.T) {
	t.Parallel()
	c, rs, es := pair(t, testTimers)
	tm := testTimers.WithDefaults()
	for i, r := range rs {
		waitFor(t, "an RTT sample", func() bool { return r.Status().RTT.Samples > 0 })
		st := r.Status()
		if st.Peer.Node != uint16(2-i) || st.Peer.Incarnation != rs[1-i].Incarnation() || st.RTT.Samples == 0 {
			t.Errorf("node %d status: peer %+v rtt %+v", i+1, st.Peer, st.RTT)
		}
		if st.Cable != serialhb.CableOK || st.Modem.Known() {
			t.Errorf("node %d: cable %q modem %+v (a pty reports no modem lines)", i+1, st.Cable, st.Modem)
		}
	}

	// Three cuts; each node must detect within deadtime + keepalive of the
	// cut. One late detection per node is forgiven as a stall of the shared
	// test machine; a systematic delay fails every trial.
	const trials = 3
	var late [2]int
	for trial := range trials {
		cut := time.Now()
		c.Cut()
		for i, e := range es {
			ev := e.waitState(5*time.Second, serialhb.StateDead)
			d := ev.Time.Sub(cut)
			t.Logf("trial %d node %d: dead %v after the cut (silence %v)", trial, i+1, d, ev.Silence)
			if d > tm.Deadtime+tm.Keepalive {
				late[i]++
			}
		}
		if st := rs[0].Status(); st.Cable != serialhb.CableUnknown {
			t.Errorf("cut cable on a pty: verdict %q, want %q", st.Cable, serialhb.CableUnknown)
		}
		c.Reconnect()
		for _, e := range es {
			ev := e.waitState(5*time.Second, serialhb.StateAlive)
			if ev.From != serialhb.StateDead {
				t.Errorf("back alive from %s, want dead", ev.From)
			}
		}
		time.Sleep(2 * tm.Keepalive)
	}
	for i, r := range rs {
		if late[i] > 1 {
			t.Errorf("node %d detected the cut later than deadtime + keepalive = %v in %d of %d trials", i+1, tm.Deadtime+tm.Keepalive, late[i], trials)
		}
		if st := r.Status(); st.Counters.Restarts != 0 || st.Counters.Deaths != trials {
			t.Errorf("node %d counters after %d cuts: %+v", i+1, trials, st.Counters)
		}
	}
}

// TestRigNoise is not parallel, and warns only after 1.5 s of silence, so
// that a stall of the loaded test machine (whole-process stalls of 0.6 s
// were seen with parallel package builds) is not taken for an effect of the
// noise; a framer wedged by the noise for longer than that still fails it.
// The framer's recovery after any garbage is checked exactly by
// FuzzLinkFeed and the noise scenario.
func TestRigNoise(t *testing.T) {
	c, rs, es := pair(t, serialhb.TimersMS(50, 1500, 3000, 6000))
	rng := rand.New(rand.NewPCG(3, 4))
	frame := func(seq uint64) []byte {
		w, err := serialhb.EncodeFrame(&serialhb.Frame{Type: serialhb.TypeHeartbeat, Cluster: 7, Node: 2, Incarnation: 1, Seq: seq}, key)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	if err := c.SetNoise(rig.Noise{Drop: 0.0005, Flip: 0.0005, Insert: 0.0005}); err != nil {
		t.Fatal(err)
	}
	end := time.Now().Add(3 * time.Second)
	for i := 0; time.Now().Before(end); i++ {
		var junk []byte
		switch i % 4 {
		case 0: // random bytes
			junk = make([]byte, 1+rng.IntN(200))
			for j := range junk {
				junk[j] = byte(rng.UintN(256))
			}
		case 1: // a truncated frame
			junk = frame(uint64(i))[:1+rng.IntN(60)]
		case 2: // a frame with a bit flipped
			junk = frame(uint64(i))
			junk[2+rng.IntN(len(junk)-3)] ^= 1 << rng.UintN(8)
		case 3: // a long run without delimiters
			junk = bytes.Repeat([]byte{0x5a}, 1000)
		}
		if err := c.Inject(rig.A, junk); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := c.SetNoise(rig.Noise{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	for i, e := range es {
		if evs := e.drain(); len(evs) != 0 {
			t.Errorf("node %d: noise caused events %v", i+1, evs)
		}
	}
	stats := c.Stats()
	a := rs[0].Status().Counters
	t.Logf("cable %+v; node 1 counters %+v", stats, a)
	if a.CRCErrors == 0 || a.COBSErrors+a.Malformed == 0 || a.Oversize == 0 || a.Resyncs == 0 {
		t.Errorf("noise not counted on node 1: %+v", a)
	}
	if a.AuthFailures != 0 {
		t.Errorf("noise counted as authentication failures: %+v", a)
	}
	if st := rs[0].Status(); st.State != serialhb.StateAlive {
		t.Errorf("node 1 is %s after the noise", st.State)
	}
}

func TestRigWrongKey(t *testing.T) {
	t.Parallel()
	c := rig.CableFor(t, rig.CableConfig{})
	timers := serialhb.TimersMS(20, 50, 100, 300)
	a, ea := startRunner(t, serialhb.Config{Path: c.PathA(), Link: serialhb.LinkConfig{Node: 1, Timers: timers}})
	startRunner(t, serialhb.Config{Path: c.PathB(), Link: serialhb.LinkConfig{Node: 2, Key: otherKey, Timers: timers}})
	ev := ea.waitState(5*time.Second, serialhb.StateDead)
	if ev.From != serialhb.StateInitDead {
		t.Errorf("first transition %s -> dead, want initdead -> dead", ev.From)
	}
	time.Sleep(300 * time.Millisecond)
	if evs := ea.drain(); len(evs) != 0 {
		t.Errorf("events with a wrong key: %v", evs)
	}
	st := a.Status()
	if st.Counters.AuthFailures == 0 || st.Counters.Received != 0 || st.State != serialhb.StateDead {
		t.Errorf("wrong key: state %s counters %+v", st.State, st.Counters)
	}
}

func waitCounter(t *testing.T, r *serialhb.Runner, what string, ok func(serialhb.Counters) bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok(r.Status().Counters) {
		if time.Now().After(deadline) {
			t.Fatalf("counters never reached %s: %+v", what, r.Status().Counters)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// peerProcess is node 2 running in a child process (the test binary in
// helper mode).
type peerProcess struct {
	cmd         *exec.Cmd
	incarnation uint64
}

func startPeer(t *testing.T, path string) *peerProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=1", "PEER_PATH="+path, "PEER_NODE=2", "PEER_KEY="+hex.EncodeToString(key))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &peerProcess{cmd: cmd}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGCONT)
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if _, serr := fmt.Sscanf(line, "incarnation %d", &p.incarnation); err != nil || serr != nil {
		t.Fatalf("peer process: %q, %v, %v", line, err, serr)
	}
	return p
}

func TestRigPeerProcessStopContRestart(t *testing.T) {
	t.Parallel()
	c := rig.CableFor(t, rig.CableConfig{})
	a, ea := startRunner(t, serialhb.Config{Path: c.PathA(), Link: serialhb.LinkConfig{Node: 1, Peer: 2}})
	peer := startPeer(t, c.PathB())
	if ev := ea.waitState(5*time.Second, serialhb.StateAlive); ev.Incarnation != peer.incarnation {
		t.Fatalf("alive with incarnation %d, peer process says %d", ev.Incarnation, peer.incarnation)
	}
	if err := peer.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	ev := ea.waitState(5*time.Second, serialhb.StateDead)
	t.Logf("stopped peer declared dead after %v", ev.Time.Sub(stopped))
	if err := peer.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	ev, skipped := ea.wait(5*time.Second, "alive after SIGCONT", func(e serialhb.Event) bool {
		return e.Kind == serialhb.EventState && e.To == serialhb.StateAlive
	})
	for _, e := range skipped {
		if e.Kind == serialhb.EventRestart {
			t.Errorf("SIGSTOP/SIGCONT seen as a restart: %v", e)
		}
	}
	if ev.Incarnation != peer.incarnation {
		t.Errorf("after SIGCONT: incarnation %d, want the same %d", ev.Incarnation, peer.incarnation)
	}

	// Kill and restart the peer: a new incarnation.
	peer.cmd.Process.Kill()
	peer.cmd.Wait()
	ea.waitState(5*time.Second, serialhb.StateDead)
	peer2 := startPeer(t, c.PathB())
	rs, _ := ea.wait(5*time.Second, "restart event", func(e serialhb.Event) bool { return e.Kind == serialhb.EventRestart })
	if rs.PrevIncarnation != peer.incarnation || rs.Incarnation != peer2.incarnation || peer2.incarnation <= peer.incarnation {
		t.Errorf("restart event %+v; incarnations %d then %d", rs, peer.incarnation, peer2.incarnation)
	}
	ea.waitState(5*time.Second, serialhb.StateAlive)
	if st := a.Status(); st.Peer.Incarnation != peer2.incarnation || st.Counters.Restarts != 1 {
		t.Errorf("status after restart: peer %+v counters %+v", st.Peer, st.Counters)
	}
}

func TestRigUnplugReplug(t *testing.T) {
	t.Parallel()
	c, rs, es := pair(t, testTimers)
	// After Unplug the rig leaves PathA dangling to /dev/pts/N. Once every
	// descriptor of that pty is closed, a pty made by a parallel test may
	// take index N and the dangling path would lead to it; holding one
	// descriptor keeps N allocated until the replug.
	pin, err := os.OpenFile(c.PTS(rig.A), os.O_RDONLY|syscall.O_NOCTTY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer pin.Close()
	if err := c.Unplug(rig.A); err != nil {
		t.Fatal(err)
	}
	es[0].wait(5*time.Second, "port lost", func(e serialhb.Event) bool { return e.Kind == serialhb.EventPortLost })
	es[1].waitState(5*time.Second, serialhb.StateDead)
	if st := rs[0].Status(); st.PortOpen || st.PortErr == "" || st.Cable != serialhb.CablePortMissing {
		t.Errorf("unplugged: open %v err %q cable %q", st.PortOpen, st.PortErr, st.Cable)
	}
	time.Sleep(300 * time.Millisecond) // a few failed reopens
	if err := c.Replug(rig.A); err != nil {
		t.Fatal(err)
	}
	pin.Close()
	es[0].wait(5*time.Second, "port reopened", func(e serialhb.Event) bool { return e.Kind == serialhb.EventPortOpened })
	es[1].waitState(5*time.Second, serialhb.StateAlive)
	deadline := time.Now().Add(5 * time.Second)
	for rs[0].Status().State != serialhb.StateAlive && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if st := rs[0].Status(); st.State != serialhb.StateAlive || st.Reopens != 1 || !st.PortOpen {
		t.Errorf("after replug: %s reopens %d open %v", st.State, st.Reopens, st.PortOpen)
	}
}

func TestRigCableTest(t *testing.T) {
	t.Parallel()
	_, rs, _ := pair(t, testTimers)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rep, err := rs[0].CableTest(ctx, serialhb.CableTestConfig{Count: 50, Interval: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cable test: %v", rep)
	if rep.Sent != 50 || rep.Received != 50 || rep.Loss != 0 || rep.Corrupted != 0 {
		t.Errorf("clean cable: %+v", rep)
	}
	if rep.RTTMin <= 0 || rep.RTTMin > rep.RTTMedian || rep.RTTMedian > rep.RTTMax {
		t.Errorf("RTT min/median/max %v/%v/%v", rep.RTTMin, rep.RTTMedian, rep.RTTMax)
	}
}

func TestOpenPortErrors(t *testing.T) {
	t.Parallel()
	c := rig.CableFor(t, rig.CableConfig{})
	ctx := context.Background()
	regular := filepath.Join(t.TempDir(), "file")
	os.WriteFile(regular, nil, 0o600)
	held, err := serialhb.OpenPort(ctx, c.PathA(), serialhb.PortConfig{Baud: 115200})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	for _, tc := range []struct {
		name, path string
		baud       int
		want       error
		msg        string
	}{
		{"regular file", regular, 0, serialhb.ErrNotTTY, "regular file"},
		{"directory", t.TempDir(), 0, serialhb.ErrNotTTY, "directory"},
		{"char device not a tty", "/dev/null", 0, serialhb.ErrNotTTY, "/dev/null"},
		{"missing", filepath.Join(t.TempDir(), "ttyS9"), 0, os.ErrNotExist, "ttyS9"},
		{"busy", c.PathA(), 0, serialhb.ErrPortBusy, fmt.Sprintf("another heartbeat process has it open (pid %d,", os.Getpid())},
		{"baud 4800", c.PathB(), 4800, serialhb.ErrUnsupportedBaud, "4800"},
		{"baud 230400", c.PathB(), 230400, serialhb.ErrUnsupportedBaud, "230400"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := serialhb.OpenPort(ctx, tc.path, serialhb.PortConfig{Baud: tc.baud})
			if err == nil {
				p.Close()
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("OpenPort(%s): %v, want %v mentioning %q", tc.path, err, tc.want, tc.msg)
			}
			var oe *serialhb.OpError
			if !errors.As(err, &oe) || oe.Op != "open" {
				t.Errorf("not an *OpError: %#v", err)
			}
		})
	}
	// Every supported baud opens (a pty accepts them all).
	for _, baud := range []int{9600, 19200, 38400, 57600, 115200} {
		p, err := serialhb.OpenPort(ctx, c.PathB(), serialhb.PortConfig{Baud: baud})
		if err != nil {
			t.Fatalf("baud %d: %v", baud, err)
		}
		p.Close()
	}
	// Busy also comes out of Start.
	r, err := serialhb.NewRunner(serialhb.Config{Path: c.PathA(), Link: serialhb.LinkConfig{Node: 1, Key: key}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(ctx); !errors.Is(err, serialhb.ErrPortBusy) {
		t.Errorf("Start on a busy port: %v", err)
	}
}

func TestPortDeadlineAndModem(t *testing.T) {
	t.Parallel()
	for _, lib := range []bool{false, true} {
		t.Run(fmt.Sprintf("library-read=%v", lib), func(t *testing.T) {
			t.Parallel()
			testPortDeadlineAndModem(t, serialhb.PortConfig{LibraryRead: lib})
		})
	}
}

func testPortDeadlineAndModem(t *testing.T, cfg serialhb.PortConfig) {
	c := rig.CableFor(t, rig.CableConfig{})
	p, err := serialhb.OpenPort(context.Background(), c.PathA(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	// No descriptor of the port leaks into programs the process runs.
	real, _ := filepath.EvalSymlinks(c.PathA())
	ents, _ := os.ReadDir("/proc/self/fd")
	found := 0
	for _, e := range ents {
		if target, _ := os.Readlink("/proc/self/fd/" + e.Name()); target == real {
			found++
			fd, _ := strconv.Atoi(e.Name())
			if flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil || flags&unix.FD_CLOEXEC == 0 {
				t.Errorf("fd %d on the port is not close-on-exec (%#x, %v)", fd, flags, err)
			}
		}
	}
	if found < 2 {
		t.Errorf("%d descriptors on %s, want the port's and its lock's", found, real)
	}
	m, err := p.ModemLines()
	if err != nil || m.Known() {
		t.Errorf("pty modem lines: %+v, %v; want all unknown and no error", m, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	n, err := p.Read(ctx, make([]byte, 10))
	if n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("read on a silent line: %d, %v; want a deadline error", n, err)
	}
	if el := time.Since(start); el < 45*time.Millisecond || el > 2*time.Second {
		t.Errorf("read deadline 50ms returned after %v", el)
	}
	// Bytes arrive, and Close unblocks a pending read.
	c.Inject(rig.A, []byte("xy"))
	buf := make([]byte, 10)
	n, err = p.Read(context.Background(), buf)
	if err != nil || string(buf[:n]) != "xy" {
		t.Errorf("read: %q, %v", buf[:n], err)
	}
	cctx, ccancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, ccancel)
	if _, err := p.Read(cctx, buf); !errors.Is(err, context.Canceled) {
		t.Errorf("read with a cancelled context: %v, want context.Canceled", err)
	}
	if _, err := p.Write(context.Background(), []byte("out")); err != nil {
		t.Errorf("write: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := p.Read(context.Background(), buf)
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	p.Close()
	select {
	case err := <-done:
		if !errors.Is(err, serialhb.ErrPortClosed) {
			t.Errorf("read after close: %v, want ErrPortClosed", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not unblock Read")
	}
}

// pair starts node 1 on side A and node 2 on side B of a fresh rig cable
// and waits until both see each other alive.
func pair(t testing.TB, timers serialhb.Timers) (*rig.Cable, [2]*serialhb.Runner, [2]*events) {
	t.Helper()
	c := rig.CableFor(t, rig.CableConfig{Logger: testLogger(t)})
	a, ea := startRunner(t, serialhb.Config{Path: c.PathA(), Link: serialhb.LinkConfig{Node: 1, Peer: 2, Timers: timers}})
	b, eb := startRunner(t, serialhb.Config{Path: c.PathB(), Link: serialhb.LinkConfig{Node: 2, Peer: 1, Timers: timers}})
	for _, r := range []*serialhb.Runner{a, b} {
		deadline := time.Now().Add(5 * time.Second)
		for r.Status().State != serialhb.StateAlive {
			if time.Now().After(deadline) {
				t.Fatalf("pair never alive: %+v", r.Status())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	ea.drain()
	eb.drain()
	return c, [2]*serialhb.Runner{a, b}, [2]*events{ea, eb}
}

// Config.Realtime puts the process's threads on SCHED_RR at the priority
// while the runner runs (root here); Status says so.
func TestRunnerRealtime(t *testing.T) {
	testutil.SkipUnlessRoot(t)
	c := rig.CableFor(t, rig.CableConfig{Logger: testLogger(t)})
	r, _ := startRunner(t, serialhb.Config{Path: c.PathA(), Realtime: 3, Link: serialhb.LinkConfig{Node: 1, Peer: 2}})
	deadline := time.Now().Add(5 * time.Second)
	for r.Status().Realtime != 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if st := r.Status(); st.Realtime != 3 || st.RealtimeErr != "" {
		t.Fatalf("status realtime %d (%q), want 3", st.Realtime, st.RealtimeErr)
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	rr := 0
	for _, task := range tasks {
		tid, _ := strconv.Atoi(task.Name())
		if a, err := unix.SchedGetAttr(tid, 0); err == nil && a.Policy == unix.SCHED_RR && a.Priority == 3 {
			rr++
		}
	}
	if rr < len(tasks)/2 {
		t.Errorf("%d of %d threads at SCHED_RR 3", rr, len(tasks))
	}
	if _, err := serialhb.NewRunner(serialhb.Config{Path: "/dev/x", Realtime: 100, Link: serialhb.LinkConfig{Node: 1, Key: key, Timers: testTimers}}); err == nil {
		t.Error("priority 100 accepted")
	}
	// Reset the test process for the tests after this one.
	attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: 0} // SCHED_OTHER
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		tid, _ := strconv.Atoi(task.Name())
		_ = unix.SchedSetAttr(tid, &attr, 0)
	}
}

// Config.KworkerNice renices the kernel's unbound workers at nice 0 while
// the runner runs and puts them back when it stops; Status says so.
func TestRunnerKworkerNice(t *testing.T) {
	testutil.SkipUnlessRoot(t)
	const nice = -3 // a value nothing else on the machine sets
	// Start from the kernel's default: an agent killed earlier on this
	// machine (SIGKILL restores nothing) may have left workers at -20, and
	// another agent running now (a parallel test's) renices workers at 0
	// too: whoever scans first after a reset takes them, so the reset is
	// repeated until this runner has taken some. The re-renice of a worker
	// set back to 0 is TestReniceKworkers's (no race with a scan there).
	resetKworkers := func() {
		procs, _ := os.ReadDir("/proc")
		for _, p := range procs {
			pid, err := strconv.Atoi(p.Name())
			comm, _ := os.ReadFile("/proc/" + p.Name() + "/comm")
			if err == nil && bytes.HasPrefix(comm, []byte("kworker/u")) {
				_ = unix.Setpriority(unix.PRIO_PROCESS, pid, 0)
			}
		}
	}
	c := rig.CableFor(t, rig.CableConfig{Logger: testLogger(t)})
	resetKworkers()
	r, _ := startRunner(t, serialhb.Config{Path: c.PathA(), KworkerNice: nice, Link: serialhb.LinkConfig{Node: 1, Peer: 2}})
	if st := r.Status(); st.KworkerNice != nice || st.KworkerErr != "" {
		t.Fatalf("status kworker nice %d (%q), want %d", st.KworkerNice, st.KworkerErr, nice)
	}
	at := func() (n, all int) {
		procs, _ := os.ReadDir("/proc")
		for _, p := range procs {
			b, err := os.ReadFile("/proc/" + p.Name() + "/stat")
			end := bytes.LastIndexByte(b, ')')
			if err != nil || end < 0 || !bytes.Contains(b[:end], []byte("(kworker/u")) {
				continue
			}
			all++
			// Fields after the comm: state ppid ... nice is the 17th.
			if f := strings.Fields(string(b[end+1:])); len(f) > 16 && f[16] == strconv.Itoa(nice) {
				n++
			}
		}
		return n, all
	}
	n, all := at()
	for deadline := time.Now().Add(15 * time.Second); n == 0 && time.Now().Before(deadline); n, all = at() {
		resetKworkers()
		time.Sleep(1200 * time.Millisecond) // a scan of this runner's (every second)
	}
	if all == 0 || n == 0 {
		t.Fatalf("%d of %d unbound kworkers at nice %d: want some", n, all, nice)
	}
	t.Logf("%d of %d unbound kworkers at nice %d", n, all, nice)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for n, _ := at(); n > 0; n, _ = at() {
		if time.Now().After(deadline) {
			t.Fatalf("%d kworkers still at nice %d after the runner stopped", n, nice)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := serialhb.NewRunner(serialhb.Config{Path: "/dev/x", KworkerNice: 1, Link: serialhb.LinkConfig{Node: 1, Key: key, Timers: testTimers}}); err == nil {
		t.Error("kworker nice 1 accepted")
	}
}
