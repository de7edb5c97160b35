package serialhb_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/hakit/hakit/internal/testutil"
	"github.com/hakit/hakit/serialhb"
)

var (
	key      = []byte("0123456789abcdef0123456789abcdef")
	otherKey = []byte("this is not the key of the pair!")
	// testTimers keep detection quick while leaving room for a loaded
	// machine (2 cores shared by parallel test runs): warn after 4 lost
	// keepalives, dead after 7.
	testTimers = serialhb.TimersMS(100, 400, 700, 1400)
)

const helperEnv = "HAKIT_SERIALHB_PEER"

// TestMain runs the peer helper process when the test binary is re-executed
// with HAKIT_SERIALHB_PEER set (see startPeer).
func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
	case "burn": // a CPU hog for BenchmarkSoak, until killed
		for x := uint64(1); ; x = x*6364136223846793005 + 1442695040888963407 {
			_ = x
		}
	case "disk": // disk I/O for BenchmarkSoak: 1 MiB writes with fsync
		os.Exit(diskLoad())
	case "net": // loopback TCP traffic for BenchmarkSoak
		os.Exit(netLoad())
	default:
		os.Exit(peerMain())
	}
	os.Exit(m.Run())
}

// diskLoad writes and fsyncs 1 MiB at a time into a temporary file until
// killed.
func diskLoad() int {
	f, err := os.CreateTemp("", "hakit-soak-disk-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer os.Remove(f.Name())
	buf := make([]byte, 1<<20)
	for i := 0; ; i++ {
		if _, err := f.WriteAt(buf, int64(i%64)<<20); err != nil {
			return 2
		}
		if err := f.Sync(); err != nil {
			return 2
		}
	}
}

// netLoad streams bytes over a loopback TCP connection until killed.
func netLoad() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 2
	}
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, c)
	}()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		return 2
	}
	buf := make([]byte, 64<<10)
	for {
		if _, err := c.Write(buf); err != nil {
			return 2
		}
	}
}

// peerMain is a heartbeat node in its own process: it prints its
// incarnation and runs until SIGTERM.
func peerMain() int {
	k, err := hex.DecodeString(os.Getenv("PEER_KEY"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	node, _ := strconv.Atoi(os.Getenv("PEER_NODE"))
	r, err := serialhb.NewRunner(serialhb.Config{
		Path: os.Getenv("PEER_PATH"),
		Link: serialhb.LinkConfig{Cluster: 7, Node: uint16(node), Key: k, Timers: testTimers},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if err := r.Start(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	fmt.Printf("incarnation %d\n", r.Incarnation())
	<-r.Done()
	return 0
}

// events collects a runner's events for a test.
type events struct {
	t  testing.TB
	ch <-chan serialhb.Event
}

func subscribe(t testing.TB, r *serialhb.Runner) *events {
	ch, cancel := r.Subscribe(4096)
	t.Cleanup(cancel)
	return &events{t: t, ch: ch}
}

// wait returns the first event matching fn within timeout, failing the test
// otherwise; skipped events are returned too.
func (e *events) wait(timeout time.Duration, what string, fn func(serialhb.Event) bool) (serialhb.Event, []serialhb.Event) {
	e.t.Helper()
	var skipped []serialhb.Event
	tm := time.NewTimer(timeout)
	defer tm.Stop()
	for {
		select {
		case ev := <-e.ch:
			if fn(ev) {
				return ev, skipped
			}
			skipped = append(skipped, ev)
		case <-tm.C:
			e.t.Fatalf("no %s within %v; events meanwhile: %v", what, timeout, skipped)
		}
	}
}

func (e *events) waitState(timeout time.Duration, s serialhb.State) serialhb.Event {
	e.t.Helper()
	ev, _ := e.wait(timeout, "transition to "+s.String(), func(ev serialhb.Event) bool {
		return ev.Kind == serialhb.EventState && ev.To == s
	})
	return ev
}

// drain returns the events queued now.
func (e *events) drain() []serialhb.Event {
	var out []serialhb.Event
	for {
		select {
		case ev := <-e.ch:
			out = append(out, ev)
		default:
			return out
		}
	}
}

// startRunner starts a runner for the test, subscribed to its events from
// before the start, and stops it when the test ends.
func startRunner(t testing.TB, cfg serialhb.Config) (*serialhb.Runner, *events) {
	t.Helper()
	if cfg.Link.Cluster == 0 {
		cfg.Link.Cluster = 7
	}
	if cfg.Link.Key == nil {
		cfg.Link.Key = key
	}
	if cfg.Link.Timers == (serialhb.Timers{}) {
		cfg.Link.Timers = testTimers
	}
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	r, err := serialhb.NewRunner(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ev := subscribe(t, r)
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := r.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return r, ev
}

// testLogger logs through t, except in benchmarks, which print their log.
func testLogger(t testing.TB) *slog.Logger {
	if _, ok := t.(*testing.B); ok {
		return testutil.Discard()
	}
	return testutil.Logger(t, slog.LevelInfo)
}
