package agent_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/agent/agenttest"
	"github.com/hakit/hakit/internal/testutil"
	"github.com/hakit/hakit/serialhb"
)

// node is one running agent of a test pair.
type node struct {
	cfg    *agent.Config
	a      *agent.Agent
	client *agent.Client
	done   chan error
	cancel context.CancelFunc
	once   sync.Once
}

func testConfig(t *testing.T, dir, name, peer string, id, peerID int) *agent.Config {
	t.Helper()
	y := fmt.Sprintf("node: {name: %s, id: %d}\npeer: {name: %s, id: %d}\ncluster: {id: 7}\n"+
		"timers: {keepalive_ms: 100, disk_status_ms: 100}\napi: {socket: %s}\nstate_dir: %s\nself_fence: {action: event}\n",
		name, id, peer, peerID, filepath.Join(dir, name+".sock"), filepath.Join(dir, name+"-state"))
	cfg, err := agent.ParseConfig(name, []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func startNode(t *testing.T, cfg *agent.Config, deps agent.Deps) *node {
	t.Helper()
	if deps.Logger == nil {
		deps.Logger = testLogger(t)
	}
	if deps.Notifier == nil {
		deps.Notifier = agent.NewNotifier("", 0)
	}
	a, err := agent.New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := &node{cfg: cfg, a: a, client: agent.NewClient(cfg.API.Socket), done: make(chan error, 1), cancel: cancel}
	go func() { n.done <- a.Run(ctx) }()
	t.Cleanup(func() { n.stop(t) })
	waitFor(t, "agent "+cfg.Node.Name+" answers", func() bool {
		_, err := n.client.Status(context.Background())
		return err == nil
	})
	return n
}

func (n *node) stop(t *testing.T) {
	n.once.Do(func() {
		n.cancel()
		select {
		case err := <-n.done:
			if err != nil {
				t.Errorf("agent %s: %v", n.cfg.Node.Name, err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("agent %s did not stop", n.cfg.Node.Name)
		}
	})
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// pair starts agents A and B over one shared in-memory LUN.
func pair(t *testing.T) (a, b *node, lun *agenttest.LUN) {
	dir := t.TempDir()
	lun = agenttest.NewLUN("naa.600140500000000000000000000000aa")
	ka, kb := agenttest.Key(7, 1), agenttest.Key(7, 2)
	a = startNode(t, testConfig(t, dir, "a", "b", 1, 2), agent.Deps{Disks: []agent.Disk{&agenttest.Disk{LUN: lun, Name: "lun0", Own: ka, Peer: kb}}, Heartbeat: agenttest.Static[agent.HeartbeatStatus]{V: agent.HeartbeatStatus{LinkStatus: serialhb.LinkStatus{State: serialhb.StateAlive}}}})
	b = startNode(t, testConfig(t, dir, "b", "a", 2, 1), agent.Deps{Disks: []agent.Disk{&agenttest.Disk{LUN: lun, Name: "lun0", Own: kb, Peer: ka}}})
	return a, b, lun
}

func TestAgentOwnershipAndSelfFence(t *testing.T) {
	testutil.SkipUnlessRoot(t) // the socket is chowned to root
	a, b, lun := pair(t)
	ctx := context.Background()

	events := make(chan agent.Event, 64)
	ectx, ecancel := context.WithCancel(ctx)
	defer ecancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = a.client.Events(ectx, 1, func(e agent.Event) error { events <- e; return nil })
	}()

	for _, n := range []*node{a, b} {
		if _, err := n.client.Action(ctx, "register"); err != nil {
			t.Fatal(err)
		}
	}
	r, err := a.client.Action(ctx, "acquire")
	if err != nil {
		t.Fatal(err)
	}
	if d := r.Disks[0]; !d.Owner || !d.Registered || !d.PeerRegistered {
		t.Fatalf("after acquire A sees %+v", d)
	}
	// B cannot acquire what A holds: a 502 carrying the disk's answer.
	if _, err := b.client.Action(ctx, "acquire"); err == nil || !strings.Contains(err.Error(), "reservation conflict") {
		t.Fatalf("B acquire = %v, want a reservation conflict", err)
	}
	// Self-fence refused; unknown node refused.
	var ae *agent.APIError
	if _, err := b.client.Fence(ctx, "b"); !errors.As(err, &ae) || ae.Code != http.StatusConflict {
		t.Errorf("B fencing itself = %v, want 409", err)
	}
	if _, err := b.client.Fence(ctx, "zz"); !errors.As(err, &ae) || ae.Code != http.StatusNotFound {
		t.Errorf("B fencing zz = %v, want 404", err)
	}
	fr, err := b.client.Fence(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if d := fr.Disks[0]; d.PeerRegistered || !d.Owner {
		t.Fatalf("after fence B sees %+v", d)
	}
	// A's watcher notices within a few periods, raises "fenced", claims nothing.
	deadline := time.After(5 * time.Second)
	for fenced := false; !fenced; {
		select {
		case e := <-events:
			fenced = e.Source == "guard" && e.Kind == "fenced"
		case <-deadline:
			t.Fatal("no fenced event on A")
		}
	}
	st, err := a.client.Status(ctx)
	if err != nil || !st.Fenced {
		t.Fatalf("A status fenced=%v err=%v", st.Fenced, err)
	}
	if _, err := a.client.Action(ctx, "acquire"); !errors.As(err, &ae) || ae.Code != http.StatusConflict {
		t.Errorf("fenced A acquire = %v, want 409", err)
	}
	if _, err := a.client.Action(ctx, "unfence"); err != nil {
		t.Fatal(err)
	}
	if st, _ := a.client.Status(ctx); st.Fenced {
		t.Error("A still fenced after unfence")
	}
	if got := len(lun.Keys()); got != 2 {
		t.Errorf("keys after unfence = %d, want 2", got)
	}
	ecancel()
	wg.Wait()
}

func TestAgentIdleIsCheap(t *testing.T) {
	testutil.SkipUnlessRoot(t)
	a, _, lun := pair(t)
	_ = a
	before := lun.Calls()
	time.Sleep(500 * time.Millisecond)
	// Two agents, 100 ms period: about 10 generation reads in 500 ms, and
	// no full status while nothing changes.
	if n := lun.Calls() - before; n > 16 {
		t.Errorf("%d LUN calls in 500 ms of idle, want at most 16 (one generation read per period per node)", n)
	}
}

func TestSecondAgentRefused(t *testing.T) {
	testutil.SkipUnlessRoot(t)
	a, _, _ := pair(t)
	second, err := agent.New(a.cfg, agent.Deps{Notifier: agent.NewNotifier("", 0)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := second.Run(ctx); !errors.Is(err, agent.ErrAgentRunning) {
		t.Fatalf("second agent: %v, want ErrAgentRunning", err)
	}
	// The first one still answers: nothing of it was disturbed.
	if _, err := a.client.Status(context.Background()); err != nil {
		t.Fatalf("first agent after the second's attempt: %v", err)
	}
}

func TestNotifyReadyAndWatchdog(t *testing.T) {
	testutil.SkipUnlessRoot(t)
	dir := t.TempDir()
	sock := filepath.Join(dir, "notify")
	pc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	cfg := testConfig(t, dir, "a", "b", 1, 2)
	startNode(t, cfg, agent.Deps{Notifier: agent.NewNotifier(sock, 100*time.Millisecond)})
	got := map[string]bool{}
	buf := make([]byte, 512)
	_ = pc.SetReadDeadline(time.Now().Add(3 * time.Second))
	for !got["READY=1"] || !got["WATCHDOG=1"] {
		n, err := pc.Read(buf)
		if err != nil {
			t.Fatalf("notify socket: %v (got %v)", err, got)
		}
		for _, l := range strings.Split(string(buf[:n]), "\n") {
			got[l] = true
		}
	}
}

func TestSelfFenceExit(t *testing.T) {
	testutil.SkipUnlessRoot(t)
	dir := t.TempDir()
	lun := agenttest.NewLUN("id")
	ka, kb := agenttest.Key(7, 1), agenttest.Key(7, 2)
	cfg := testConfig(t, dir, "a", "b", 1, 2)
	cfg.SelfFence.Action = "exit"
	da := &agenttest.Disk{LUN: lun, Name: "lun0", Own: ka, Peer: kb}
	db := &agenttest.Disk{LUN: lun, Name: "lun0", Own: kb, Peer: ka}
	ctx := context.Background()
	if err := da.Register(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.Register(ctx); err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(cfg, agent.Deps{Disks: []agent.Disk{da}, Notifier: agent.NewNotifier("", 0), Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	waitFor(t, "claim", func() bool {
		st, err := agent.NewClient(cfg.API.Socket).Status(ctx)
		return err == nil && len(st.Disks) == 1 && st.Disks[0].Registered
	})
	if err := db.Fence(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, agent.ErrSelfFenced) {
			t.Fatalf("Run = %v, want ErrSelfFenced", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("agent did not exit after being fenced")
	}
	if _, err := os.Stat(cfg.API.Socket); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left behind: %v", err)
	}

	// The unit restarts the agent: it comes up fenced (the latch in the
	// state directory), claims nothing and refuses to acquire, until a
	// verified unfence.
	restart := func(what string) (*agent.Client, func()) {
		t.Helper()
		a, err := agent.New(cfg, agent.Deps{Disks: []agent.Disk{da}, Notifier: agent.NewNotifier("", 0), Logger: testLogger(t)})
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- a.Run(rctx) }()
		c := agent.NewClient(cfg.API.Socket)
		waitFor(t, what+": agent answers", func() bool { _, err := c.Status(ctx); return err == nil })
		return c, func() { cancel(); <-done }
	}
	c, stop := restart("restart after the self-fence")
	st, err := c.Status(ctx)
	if err != nil || !st.Fenced {
		t.Errorf("restarted agent: fenced=%v (%v), want fenced: the latch did not survive the restart", st.Fenced, err)
	}
	if _, err := c.Action(ctx, "acquire"); err == nil {
		t.Error("restarted fenced agent acquired")
	}
	if _, err := c.Action(ctx, "unfence"); err != nil {
		t.Fatalf("unfence: %v", err)
	}
	if st, _ := c.Status(ctx); st.Fenced {
		t.Error("still fenced after a verified unfence")
	}
	stop()
	if _, err := os.Stat(agent.SelfFenceState(cfg.StateDir).Path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("latch file after the unfence: %v, want gone", err)
	}
	c, stop = restart("restart after the unfence")
	defer stop()
	if st, err := c.Status(ctx); err != nil || st.Fenced {
		t.Errorf("agent after a verified unfence and a restart: fenced=%v (%v)", st.Fenced, err)
	}
}

// TestIntegrationPeerCredRefused runs a client as uid/gid 65534 against an
// agent whose socket file is world-writable: only SO_PEERCRED stands in
// the way, and it must refuse.
func TestIntegrationPeerCredRefused(t *testing.T) {
	testutil.SkipUnlessRoot(t)
	dir, bin := helperDir(t)
	cfg := testConfig(t, dir, "a", "b", 1, 2)
	startNode(t, cfg, agent.Deps{SocketMode: 0o666})
	run := func(uid uint32) (string, error) {
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), "HWAGENT_HELPER_SOCKET="+cfg.API.Socket)
		cmd.Dir = dir
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run(65534)
	if err != nil {
		t.Fatalf("helper as 65534: %v\n%s", err, out)
	}
	if !strings.Contains(out, "status 403") || !strings.Contains(out, "uid 65534") {
		t.Errorf("uid 65534 was not refused:\n%s", out)
	}
	out, err = run(0)
	if err != nil || !strings.Contains(out, "status 200") {
		t.Errorf("root refused: %v\n%s", err, out)
	}
}

// TestMain turns the test binary into the client of
// TestIntegrationPeerCredRefused when HWAGENT_HELPER_SOCKET is set.
func TestMain(m *testing.M) {
	if sock := os.Getenv("HWAGENT_HELPER_SOCKET"); sock != "" {
		peerCredHelper(sock)
		return
	}
	if sock := os.Getenv("HWAGENT_CONNECT_HELPER"); sock != "" {
		// Connect, then exit at once: the connection waits in the
		// listener's backlog after this pid is gone.
		if _, err := net.Dial("unix", sock); err != nil {
			fmt.Println("error:", err)
			os.Exit(2)
		}
		return
	}
	if target := os.Getenv("HWAGENT_IDLE_HELPER"); target != "" {
		idleHelper(target)
		return
	}
	os.Exit(m.Run())
}

func peerCredHelper(sock string) {
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	resp, err := hc.Get("http://hwagent" + agent.PathStatus)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(2)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	fmt.Printf("status %d %s\n", resp.StatusCode, b)
}

func testLogger(t testing.TB) *slog.Logger {
	return testutil.Logger(t, slog.LevelDebug)
}

// helperDir makes a directory others may enter, removed at the end of
// the test, holding a copy of the test binary an unprivileged child can run.
func helperDir(t *testing.T) (dir, bin string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "hwagent-helper-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin = filepath.Join(dir, "client")
	if err := copyFile(exe, bin); err != nil {
		t.Fatal(err)
	}
	return dir, bin
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o755)
}

func TestMetricsLoopback(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	cfg := testConfig(t, dir, "a", "b", 1, 2)
	cfg.Metrics.Listen = addr
	lun := agenttest.NewLUN("id")
	d := &agenttest.Disk{LUN: lun, Name: "lun0", Own: agenttest.Key(7, 1), Peer: agenttest.Key(7, 2)}
	if err := d.Register(context.Background()); err != nil {
		t.Fatal(err)
	}
	startNode(t, cfg, agent.Deps{Disks: []agent.Disk{d}})
	var body string
	waitFor(t, "metrics", func() bool {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		return strings.Contains(body, `hakit_disk_registered{device="lun0"} 1`)
	})
	for _, want := range []string{"# TYPE hakit_fenced gauge", "hakit_fenced 0", "hakit_events_total"} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
	// Prometheus' own text parser reads the exposition, with the classic
	// (strictest) name rules: every family once, with its type, help and
	// the samples it announces.
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("the Prometheus text parser refuses the exposition: %v\n%s", err, body)
	}
	for name, typ := range map[string]dto.MetricType{
		"hakit_fenced": dto.MetricType_GAUGE, "hakit_events_total": dto.MetricType_COUNTER, "hakit_events_dropped_total": dto.MetricType_COUNTER,
		"hakit_disk_up": dto.MetricType_GAUGE, "hakit_disk_registered": dto.MetricType_GAUGE, "hakit_disk_owner": dto.MetricType_GAUGE,
		"hakit_disk_peer_registered": dto.MetricType_GAUGE, "hakit_disk_pr_generation": dto.MetricType_GAUGE,
	} {
		f := fams[name]
		if f == nil || f.GetType() != typ || f.GetHelp() == "" || len(f.GetMetric()) == 0 {
			t.Errorf("family %s: %v, want a %v with help and samples", name, f, typ)
		}
	}
	if m := fams["hakit_disk_registered"].GetMetric(); len(m) != 1 || len(m[0].GetLabel()) != 1 || m[0].GetLabel()[0].GetName() != "device" || m[0].GetLabel()[0].GetValue() != "lun0" || m[0].GetGauge().GetValue() != 1 {
		t.Errorf("hakit_disk_registered: %v, want one sample device=lun0 1", m)
	}
}

// fakeWatchdog counts pets and records a disarm.
type fakeWatchdog struct {
	mu       sync.Mutex
	pets     int
	disarmed bool
}

func (w *fakeWatchdog) Pet() error { w.mu.Lock(); w.pets++; w.mu.Unlock(); return nil }

func (w *fakeWatchdog) Timeout() time.Duration { return 300 * time.Millisecond }

func (w *fakeWatchdog) Disarm() error { w.mu.Lock(); w.disarmed = true; w.mu.Unlock(); return nil }

func (w *fakeWatchdog) state() (int, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pets, w.disarmed
}

// fencedWatchdogNode starts node A (self_fence watchdog) on a LUN both
// nodes registered, through wrap's view of A's disk, lets B fence A and
// waits for A's guard to raise "fenced".
func fencedWatchdogNode(t *testing.T, wrap func(*agenttest.Disk) agent.Disk) (n *node, wd *fakeWatchdog, lun *agenttest.LUN) {
	t.Helper()
	lun = agenttest.NewLUN("id")
	ka, kb := agenttest.Key(7, 1), agenttest.Key(7, 2)
	da := &agenttest.Disk{LUN: lun, Name: "lun0", Own: ka, Peer: kb}
	db := &agenttest.Disk{LUN: lun, Name: "lun0", Own: kb, Peer: ka}
	ctx := context.Background()
	for _, d := range []*agenttest.Disk{da, db} {
		if err := d.Register(ctx); err != nil {
			t.Fatal(err)
		}
	}
	cfg := testConfig(t, t.TempDir(), "a", "b", 1, 2)
	cfg.SelfFence.Action = "watchdog"
	wd = &fakeWatchdog{}
	n = startNode(t, cfg, agent.Deps{Disks: []agent.Disk{wrap(da)}, Watchdog: wd})
	waitFor(t, "watchdog pets", func() bool { p, _ := wd.state(); return p >= 2 })
	waitFor(t, "claim", func() bool {
		st, err := n.client.Status(ctx)
		return err == nil && len(st.Disks) == 1 && st.Disks[0].Registered
	})
	if err := db.Fence(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "fenced", func() bool { st, err := n.client.Status(ctx); return err == nil && st.Fenced })
	return n, wd, lun
}

func TestSelfFenceWatchdog(t *testing.T) {
	n, wd, _ := fencedWatchdogNode(t, func(d *agenttest.Disk) agent.Disk { return d })
	p1, _ := wd.state()
	time.Sleep(300 * time.Millisecond) // three watchdog periods
	p2, _ := wd.state()
	if p2 > p1+1 {
		t.Errorf("watchdog still petted after the self-fence: %d -> %d", p1, p2)
	}
	n.stop(t)
	if _, disarmed := wd.state(); disarmed {
		t.Error("a fenced node disarmed its watchdog on stop; it must let it expire")
	}
}

func TestWatchdogDisarmedOnCleanStop(t *testing.T) {
	cfg := testConfig(t, t.TempDir(), "a", "b", 1, 2)
	cfg.SelfFence.Action = "watchdog"
	wd := &fakeWatchdog{}
	n := startNode(t, cfg, agent.Deps{Watchdog: wd})
	waitFor(t, "watchdog pets", func() bool { p, _ := wd.state(); return p >= 1 })
	n.stop(t)
	if _, disarmed := wd.state(); !disarmed {
		t.Error("clean stop left the watchdog armed")
	}
}

// lossyUnfence, while lose is set, answers an unfence with success without
// registering: a device that accepts the command but does not take the key.
type lossyUnfence struct {
	*agenttest.Disk
	lose *atomic.Bool
}

func (d lossyUnfence) Unfence(ctx context.Context) error {
	if d.lose.Load() {
		return nil
	}
	return d.Disk.Unfence(ctx)
}

// A fenced node stays fenced, and its watchdog unpetted, until an unfence
// is confirmed by reading this node's key back: an unfence that fails, or
// that the device does not show, changes nothing.
func TestUnfenceClearsFencedOnlyOnReadBack(t *testing.T) {
	ctx := context.Background()
	var lose atomic.Bool
	n, wd, lun := fencedWatchdogNode(t, func(d *agenttest.Disk) agent.Disk { return lossyUnfence{d, &lose} })
	stillFenced := func(what string) {
		t.Helper()
		p1, _ := wd.state()
		time.Sleep(300 * time.Millisecond) // three watchdog periods
		p2, _ := wd.state()
		if p2 > p1+1 {
			t.Errorf("%s: watchdog petted again: %d -> %d", what, p1, p2)
		}
		if st, err := n.client.Status(ctx); err != nil || !st.Fenced {
			t.Errorf("%s: status fenced=%v err=%v, want fenced", what, st.Fenced, err)
		}
		var ae *agent.APIError
		if _, err := n.client.Action(ctx, "acquire"); !errors.As(err, &ae) || ae.Code != http.StatusConflict {
			t.Errorf("%s: acquire = %v, want 409", what, err)
		}
	}

	// The unfence fails: the path is down.
	lun.SetDown(true)
	if _, err := n.client.Action(ctx, "unfence"); err == nil {
		t.Fatal("unfence on a dead path succeeded")
	}
	lun.SetDown(false)
	stillFenced("failed unfence")

	// The unfence answers success, but the key is not on the disk.
	lose.Store(true)
	var ae *agent.APIError
	if _, err := n.client.Action(ctx, "unfence"); !errors.As(err, &ae) || ae.Code != http.StatusBadGateway || !strings.Contains(err.Error(), agent.ErrStillFenced.Error()) {
		t.Fatalf("unfence not shown by the read-back = %v, want 502 %q", err, agent.ErrStillFenced)
	}
	stillFenced("unfence not read back")

	// A real unfence: the read-back shows the key, the flag goes.
	lose.Store(false)
	if _, err := n.client.Action(ctx, "unfence"); err != nil {
		t.Fatal(err)
	}
	if st, err := n.client.Status(ctx); err != nil || st.Fenced {
		t.Fatalf("after a confirmed unfence: fenced=%v err=%v", st.Fenced, err)
	}
	p1, _ := wd.state()
	waitFor(t, "watchdog pets again", func() bool { p, _ := wd.state(); return p >= p1+2 })
}

// A group that does not exist is a ConfigError naming api.group that
// keeps the lookup's error.
func TestUnknownAPIGroupKeepsCause(t *testing.T) {
	cfg := testConfig(t, t.TempDir(), "a", "b", 1, 2)
	cfg.API.Group = "no-such-group-hakit"
	_, err := agent.New(cfg, agent.Deps{Notifier: agent.NewNotifier("", 0), Logger: testLogger(t)})
	var ce *agent.ConfigError
	var ug user.UnknownGroupError
	if !errors.As(err, &ce) || ce.Field != "api.group" || !errors.As(err, &ug) {
		t.Fatalf("agent.New with an unknown group: %v (%T): want a ConfigError for api.group wrapping user.UnknownGroupError", err, err)
	}
}

// TestIntegrationGroupReachesSocket: with api.group set, the agent gives
// the socket directory it created (0750) to the group, so a member (here
// by a supplementary group) reaches the socket; others cannot even
// connect, and the directory stays unwritable by the group.
func TestIntegrationGroupReachesSocket(t *testing.T) {
	testutil.SkipUnlessRoot(t)
	dir, bin := helperDir(t)
	cfg := testConfig(t, dir, "a", "b", 1, 2)
	cfg.API.Socket = filepath.Join(dir, "run", "hwagent.sock")
	cfg.API.Group = "daemon" // gid 1 on Debian
	startNode(t, cfg, agent.Deps{})
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Dir(cfg.API.Socket), &st); err != nil {
		t.Fatal(err)
	}
	if st.Gid != 1 || st.Mode&0o777 != 0o750 {
		t.Errorf("socket directory gid %d mode %o, want gid 1 mode 0750", st.Gid, st.Mode&0o777)
	}
	run := func(groups []uint32) string {
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), "HWAGENT_HELPER_SOCKET="+cfg.API.Socket)
		cmd.Dir = dir
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: groups}}
		out, _ := cmd.CombinedOutput()
		return string(out)
	}
	if out := run([]uint32{1}); !strings.Contains(out, "status 200") {
		t.Errorf("a member of api.group did not reach the API:\n%s", out)
	}
	if out := run(nil); !strings.Contains(out, "permission denied") {
		t.Errorf("a non-member reached the socket:\n%s", out)
	}
}
