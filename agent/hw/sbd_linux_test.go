package hw_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/agent/hw"
	"github.com/hakit/hakit/internal/rig"
	"github.com/hakit/hakit/internal/testutil"
	"github.com/hakit/hakit/sbd"
)

// runSBD runs one of the real sbd's non-daemon verbs (never watch, which
// would arm this machine's watchdog).
func runSBD(t *testing.T, args ...string) {
	t.Helper()
	for _, a := range args {
		if a == "watch" {
			t.Fatal("refusing to run sbd watch")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "sbd", args...).CombinedOutput(); err != nil {
		t.Fatalf("sbd %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// TestIntegrationSBDPoisonPill: hwagent watches its slot on a loop device
// the real sbd created; `sbd message a test` is answered (cleared, sender
// logged); `sbd message a reset` makes the agent self-fence (action exit)
// and latch it.
func TestIntegrationSBDPoisonPill(t *testing.T) {
	testutil.SkipUnlessTools(t, "sbd")
	dev := testutil.LoopDevice(t, 4<<20)
	runSBD(t, "-d", dev, "-1", "1", "-2", "0", "-3", "1", "-4", "1", "create")
	dir := t.TempDir()
	y := fmt.Sprintf("node: {name: a, id: 1}\npeer: {name: b, id: 2}\ncluster: {id: 7}\n"+
		"timers: {keepalive_ms: 100, disk_status_ms: 100}\napi: {socket: %s}\nstate_dir: %s\nself_fence: {action: exit}\nsbd: {device: %s}\n",
		filepath.Join(dir, "a.sock"), filepath.Join(dir, "state"), dev)
	cfg, err := agent.ParseConfig("a.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	log := testutil.Logger(t, slog.LevelInfo)
	deps, closeAll, err := hw.Build(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()
	deps.Notifier = agent.NewNotifier("", 0)
	a, err := agent.New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, events, unsub := a.Hub().Subscribe(0)
	defer unsub()
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	waitEvent := func(kind string) agent.Event {
		t.Helper()
		for {
			select {
			case e := <-events:
				if e.Source == "sbd" && e.Kind == kind {
					return e
				}
			case err := <-done:
				t.Fatalf("agent ended waiting for sbd %s: %v", kind, err)
			case <-ctx.Done():
				t.Fatalf("no sbd %s event", kind)
			}
		}
	}
	waitEvent("watching")
	runSBD(t, "-d", dev, "-n", "node-b", "message", "a", "test")
	if e := waitEvent("test"); !strings.Contains(e.Msg, "node-b") {
		t.Errorf("test event does not name the sender: %s", e.Msg)
	}
	sent := time.Now()
	runSBD(t, "-d", dev, "-n", "node-b", "message", "a", "reset")
	select {
	case err := <-done:
		if !errors.Is(err, agent.ErrSelfFenced) {
			t.Fatalf("Run = %v, want ErrSelfFenced", err)
		}
		t.Logf("agent exited self-fenced %s after sbd message reset started (sbd itself returns after msgwait, 1s)", time.Since(sent).Round(time.Millisecond))
	case <-time.After(10 * time.Second):
		t.Fatal("agent did not self-fence after sbd's reset message")
	}
	st := agent.SelfFenceState(cfg.StateDir)
	if l, ok, err := st.Load(); err != nil || !ok || !strings.Contains(l.Reason, "sbd reset message from node-b") {
		t.Errorf("latch %+v %v %v, want the sbd reset from node-b", l, ok, err)
	}
}

// startSBDAgent runs one hwagent with only an SBD device (and its disk
// heartbeat) configured, until the test ends or stop is called.
func startSBDAgent(t *testing.T, name, peer string, id int, device, initiator string) (sock string, stop func()) {
	t.Helper()
	dir := t.TempDir()
	sock = filepath.Join(dir, name+".sock")
	y := fmt.Sprintf("node: {name: %s, id: %d}\npeer: {name: %s, id: %d}\ncluster: {id: 7}\n"+
		"timers: {keepalive_ms: 100, disk_status_ms: 100}\napi: {socket: %s}\nstate_dir: %s\nself_fence: {action: exit}\n"+
		"sbd: {device: %q, initiator: %s, heartbeat_ms: 500}\n",
		name, id, peer, 3-id, sock, filepath.Join(dir, "state"), device, initiator)
	cfg, err := agent.ParseConfig(name+".yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	log := testutil.Logger(t, slog.LevelInfo).With("node", name)
	deps, closeAll, err := hw.Build(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	deps.Notifier = agent.NewNotifier("", 0)
	a, err := agent.New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("%s: Run = %v", name, err)
			}
			closeAll()
		})
	}
	t.Cleanup(stop)
	return sock, stop
}

// waitDiskPeer polls the agent's status until its disk path says state
// for peer, and returns how long that took.
func waitDiskPeer(t *testing.T, sock, peer, state string, within time.Duration) (time.Duration, agent.DiskPeer) {
	t.Helper()
	c := agent.NewClient(sock)
	start := time.Now()
	var last agent.Status
	for time.Since(start) < within {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		st, err := c.Status(ctx)
		cancel()
		if err == nil {
			last = st
			if p, ok := st.DiskPeer(peer); ok && p.State == state {
				return time.Since(start), p
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: %s not %s on the disk path within %v; last disk_heartbeat %+v", sock, peer, state, within, last.DiskHeartbeat)
	return 0, agent.DiskPeer{}
}

// TestIntegrationDiskHeartbeatISCSI: two agents share an SBD device on
// tgtd through hakit's iSCSI initiator; each sees the other alive on the
// disk path; once B's agent stops writing, A sees B dead within the bound
// (dead after 4 x 500 ms, under 3 s), and says so in an event.
func TestIntegrationDiskHeartbeatISCSI(t *testing.T) {
	testutil.SkipUnlessRoot(t)
	testutil.SkipUnlessTools(t, "tgtd", "tgtadm")
	disk := rig.DiskFor(t, rig.DiskConfig{Initiators: []string{iqnA, iqnB}, Size: 8 << 20})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := sbd.Open(ctx, disk.URL(), iqnA)
	if err != nil {
		t.Fatal(err)
	}
	if err := (&sbd.Disk{Sectors: s, Name: disk.URL()}).Create(ctx, sbd.DefaultHeader(512)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	sockA, _ := startSBDAgent(t, "a", "b", 1, disk.URL(), iqnA)
	sockB, stopB := startSBDAgent(t, "b", "a", 2, disk.URL(), iqnB)
	took, pb := waitDiskPeer(t, sockA, "b", agent.PeerAlive, 15*time.Second)
	t.Logf("a sees b alive on the disk path %v after start (slot %d, counter %d)", took.Round(time.Millisecond), pb.Slot, pb.Counter)
	waitDiskPeer(t, sockB, "a", agent.PeerAlive, 5*time.Second)
	if pb.Serial != "unknown" || pb.NIC != "unknown" {
		t.Errorf("b wrote serial %q nic %q with neither configured, want unknown", pb.Serial, pb.NIC)
	}
	stopped := time.Now()
	stopB()
	took, pb = waitDiskPeer(t, sockA, "b", agent.PeerDead, 10*time.Second)
	if pb.Changed == nil || pb.Changed.After(stopped.Add(time.Second)) {
		t.Fatalf("b's last change %v, want it at or before the stop (%v)", pb.Changed, stopped)
	}
	// From b's last block that a saw change to a's dead verdict: dead
	// after 2 s, judged at a's next round (500 ms), read by this poll.
	detect := time.Since(*pb.Changed)
	t.Logf("a sees b dead on the disk path %v after b's agent stopped, %v after b's last block changed (dead after 2s, interval 500ms)", took.Round(time.Millisecond), detect.Round(time.Millisecond))
	if detect > 3*time.Second {
		t.Errorf("detection took %v after the last change, want under 3 s at a 500 ms interval", detect)
	}
	// The verdicts are events, in order: alive, then dead.
	var kinds []string
	ectx, ecancel := context.WithTimeout(ctx, 2*time.Second)
	defer ecancel()
	_ = agent.NewClient(sockA).Events(ectx, 0, func(e agent.Event) error {
		if e.Source == "diskhb" {
			kinds = append(kinds, e.Kind)
			if e.Kind == agent.PeerDead {
				if !strings.Contains(e.Msg, "b (slot") || !strings.Contains(e.Msg, "stood still") {
					t.Errorf("dead event %q does not name the peer and why", e.Msg)
				}
				return errors.New("seen")
			}
		}
		return nil
	})
	if !slices.Equal(kinds, []string{agent.PeerAlive, agent.PeerDead}) {
		t.Errorf("disk heartbeat events %v, want [alive dead]", kinds)
	}
}
