package hw

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/internal/testutil"
	"github.com/hakit/hakit/scsi"
	"github.com/hakit/hakit/scsi/scsitest"
)

// refusingPROut answers every PR OUT with RESERVATION CONFLICT while refuse
// is set: a reassert the device turns down.
type refusingPROut struct {
	scsi.Transport
	refuse atomic.Bool
}

func (r *refusingPROut) Execute(ctx context.Context, cmd *scsi.Command) (*scsi.Response, error) {
	if r.refuse.Load() && len(cmd.CDB) > 0 && cmd.CDB[0] == scsi.OpPROut {
		return &scsi.Response{Status: scsi.StatusReservationConflict}, nil
	}
	return r.Transport.Execute(ctx, cmd)
}

// testDisk is a Disk on transport t of the fake LUN, with its latch in
// stateDir ("" for none).
func testDisk(t *testing.T, tr scsi.Transport, key, peer scsi.Key, stateDir string) *Disk {
	t.Helper()
	d, err := NewDisk(agent.DiskConfig{Device: "iscsi://127.0.0.1/iqn.2026-11.io.hakit:fake/0", Initiator: "iqn.2026-11.io.hakit:a"}, key, peer, stateDir, testutil.Discard())
	if err != nil {
		t.Fatal(err)
	}
	d.undoTimeout = 200 * time.Millisecond
	oc, err := d.ownerConfig(tr)
	if err != nil {
		t.Fatal(err)
	}
	o, err := scsi.NewOwner(oc)
	if err != nil {
		t.Fatal(err)
	}
	d.sess, d.owner = io.NopCloser(nil), o
	return d
}

const keyA, keyB = scsi.Key(0x686b000000000001), scsi.Key(0x686b000000000002)

// After a reconnect the old session's registration stays as an orphan
// (tgtd keeps it; the fake LUN does the same), so READ KEYS still lists
// this node's key. When the reconnect hook's reassert is turned down, the
// disk's status is unknown (an error), neither "registered" (the live
// session is not) nor "not registered" (the key is there: that would
// self-fence a node nobody fenced); each status retries the reassert, and
// Generation fails meanwhile so the watcher keeps reading the status.
func TestFailedReassertIsUnknown(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lun := scsitest.New(scsitest.Config{NoPreemptAndAbort: true, NoReadFullStatus: true, NoAPTPL: true})
	nx := lun.Connect("iqn.2026-11.io.hakit:a", "")
	tr := &refusingPROut{Transport: nx}
	d := testDisk(t, tr, keyA, keyB, "")
	b := testOwner(t, lun, "b", keyB)
	if _, err := b.Register(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d.Register(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	s, err := d.Status(ctx)
	if err != nil || !s.Registered || !s.Owner {
		t.Fatalf("before the reconnect: %+v, %v", s, err)
	}

	// The session is replaced; the hook's reassert is turned down.
	nx.Reconnect()
	tr.refuse.Store(true)
	if err := d.reassert(ctx, d.owner); err == nil {
		t.Fatal("reassert succeeded although the device refused PR OUT")
	}
	for _, what := range []string{"reassert refused", "still refused"} {
		s, err := d.Status(ctx)
		if err == nil {
			t.Errorf("%s: status %+v without error, want unknown", what, s)
		} else if !strings.Contains(err.Error(), "reassert") {
			t.Errorf("%s: error %q does not say why", what, err)
		}
		if _, err := d.Generation(ctx); err == nil {
			t.Errorf("%s: Generation succeeded while the registration is unconfirmed: the watcher would not read the status again", what)
		}
	}
	if got := lun.Keys(); countKeys(got, keyA) != 1 {
		t.Errorf("keys %v: want the old session's orphan still listed once (else this test shows nothing)", got)
	}

	// The device takes PR OUT again: the next status's reassert succeeds.
	tr.refuse.Store(false)
	s, err = d.Status(ctx)
	if err != nil || !s.Registered || !s.Owner {
		t.Fatalf("reassert retried: %+v, %v", s, err)
	}
	if n := countKeys(lun.Keys(), keyA); n != 1 {
		t.Errorf("keys %v: own key %d times, want once (orphan dropped)", lun.Keys(), n)
	}
	if _, err := d.Generation(ctx); err != nil {
		t.Errorf("Generation after the reassert: %v", err)
	}
}

// The agent stops (dies, is killed or paused for good) right after its
// reassert sent the re-register, while the peer had fenced it: the device
// holds this node's key again through the dead agent's nexus. The next
// agent, on the same state directory, must come up fenced, not registered.
func TestReassertLatchSurvivesRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dir := t.TempDir()
	lun := scsitest.New(scsitest.Config{NoReadFullStatus: true})
	nx := lun.Connect("iqn.2026-11.io.hakit:a", "23d000000001")
	f := &scsitest.Faulty{T: nx}
	d1 := testDisk(t, f, keyA, keyB, dir)
	b := testOwner(t, lun, "b", keyB)
	if _, err := b.Register(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d1.Register(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d1.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	nx.Reconnect()
	var bErr error
	stopped := make(chan struct{})
	f.Add(&scsitest.Fault{
		Match: func(c *scsi.Command) bool {
			return scsitest.IsPROut(scsi.PROutRegisterAndIgnore)(c) && !scsitest.IsUnregister(c)
		},
		Before: func() { _, bErr = b.Fence(ctx, keyA) },
		// The agent stops here: nothing it would send reaches the device.
		After: func() { f.Kill(); close(stopped) },
	})
	done := make(chan error, 1)
	go func() { done <- d1.reassert(ctx, d1.owner) }()
	<-stopped
	if bErr != nil {
		t.Fatalf("B's fence: %v", bErr)
	}
	if countKeys(lun.Keys(), keyA) != 1 {
		t.Fatalf("keys %v: the scenario needs A's re-register to have landed", lun.Keys())
	}

	// The next agent: a new session of the same initiator, the same state
	// directory.
	nx2 := lun.Connect("iqn.2026-11.io.hakit:a", "23d000000001")
	d2 := testDisk(t, nx2, keyA, keyB, dir)
	s, err := d2.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Registered || s.Owner || s.Latched == "" {
		t.Errorf("restarted agent: registered=%v owner=%v latched=%q (keys %v): want latched fenced", s.Registered, s.Owner, s.Latched, s.Keys)
	}
	g := agent.NewGuard()
	if v := g.Observe(s); v != agent.SelfFenced {
		t.Errorf("guard verdict on the latched status: %v, want SelfFenced", v)
	}
	if err := d2.Acquire(ctx); err == nil {
		t.Error("a latched disk acquired")
	}
	if err := d2.Fence(ctx); err == nil {
		t.Error("a latched disk fenced its peer")
	}
	<-done
	// A verified unfence clears the latch, in memory and on disk.
	if err := d2.Unfence(ctx); err != nil {
		t.Fatal(err)
	}
	s, err = d2.Status(ctx)
	if err != nil || !s.Registered || s.Latched != "" {
		t.Errorf("after unfence: %+v, %v", s, err)
	}
	if _, err := os.Stat(d2.latch.Path); !os.IsNotExist(err) {
		t.Errorf("latch file after a verified unfence: %v, want gone", err)
	}
}

func countKeys(ks []scsi.Key, k scsi.Key) int {
	n := 0
	for _, x := range ks {
		if x == k {
			n++
		}
	}
	return n
}

// On a target without PREEMPT AND ABORT the disk's fence fails unless
// allow_preempt_without_abort is set; when it is, the status read back
// says the fence went without abort (fence_hwagent prints it for
// Pacemaker's log).
func TestFenceWithoutAbortIsExplicit(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, allow := range []bool{false, true} {
		lun := scsitest.New(scsitest.Config{NoPreemptAndAbort: true, NoReadFullStatus: true})
		a := testOwner(t, lun, "a", keyA)
		if _, err := a.Register(ctx); err != nil {
			t.Fatal(err)
		}
		d, err := NewDisk(agent.DiskConfig{Device: "iscsi://127.0.0.1/iqn.2026-11.io.hakit:fake/0", Initiator: "iqn.2026-11.io.hakit:b", AllowPreemptWithoutAbort: allow}, keyB, keyA, "", testutil.Discard())
		if err != nil {
			t.Fatal(err)
		}
		oc, _ := d.ownerConfig(lun.Connect("iqn.2026-11.io.hakit:b", ""))
		d.owner, _ = scsi.NewOwner(oc)
		d.sess = io.NopCloser(nil)
		if err := d.Register(ctx); err != nil {
			t.Fatal(err)
		}
		err = d.Fence(ctx)
		if !allow {
			if !errors.Is(err, scsi.ErrAbortRefused) || countKeys(lun.Keys(), keyA) != 1 {
				t.Errorf("default: fence = %v (keys %v), want ErrAbortRefused and the peer untouched", err, lun.Keys())
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		s, err := d.Status(ctx)
		if err != nil || s.FenceMethod != "PREEMPT" || !strings.Contains(s.FenceFallback, "not aborted") {
			t.Errorf("allowed: status fence_method %q fallback %q (%v)", s.FenceMethod, s.FenceFallback, err)
		}
	}
}
