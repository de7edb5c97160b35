package hw

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/internal/testutil"
	"github.com/hakit/hakit/scsi"
	"github.com/hakit/hakit/scsi/scsitest"
)

// testPeriod is the renewal period of the scsi2 tests: the challenge wait
// is then 4 x 200 ms. Shorter periods fail on a loaded machine, where
// a goroutine may wait a few hundred milliseconds to run.
const testPeriod = 200 * time.Millisecond

// testSCSI2Disk is a scsi2 Disk on transport tr of the fake LUN.
func testSCSI2Disk(t *testing.T, name string, tr scsi.Transport) *SCSI2Disk {
	t.Helper()
	d, err := NewSCSI2Disk(agent.DiskConfig{Device: "iscsi://127.0.0.1/iqn.2026-11.io.hakit:fake/0", Initiator: "iqn.2026-11.io.hakit:" + name, Mode: agent.ModeSCSI2, SCSI2PeriodMS: int(testPeriod / time.Millisecond)}, testutil.Logger(t, slog.LevelInfo).With("node", name))
	if err != nil {
		t.Fatal(err)
	}
	d.open = func(context.Context) (scsi.Transport, io.Closer, error) { return tr, io.NopCloser(nil), nil }
	t.Cleanup(func() { d.Close() })
	return d
}

func mustStatus(t *testing.T, ctx context.Context, d *SCSI2Disk) agent.DiskStatus {
	t.Helper()
	s, err := d.Status(ctx)
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	return s
}

// holds checks the status facts of a scsi2 disk.
func holds(t *testing.T, who string, s agent.DiskStatus, registered, owner, peer bool, holder string) {
	t.Helper()
	if s.Mode != agent.ModeSCSI2 || s.Registered != registered || s.Owner != owner || s.PeerRegistered != peer || s.Holder != holder || s.Error != "" {
		t.Errorf("%s: mode %q registered %v owner %v peer %v holder %q error %q, want registered %v owner %v peer %v holder %q (notes %q)", who, s.Mode, s.Registered, s.Owner, s.PeerRegistered, s.Holder, s.Error, registered, owner, peer, holder, s.Notes)
	}
}

func TestSCSI2DiskConfig(t *testing.T) {
	d := testSCSI2Disk(t, "a", scsitest.New(scsitest.Config{}).Connect("a", ""))
	c := d.Config()
	if c.Period != testPeriod || c.CommandTimeout != testPeriod || c.Wait != 4*testPeriod {
		t.Errorf("config period %v command timeout %v wait %v, want %v, %v, %v", c.Period, c.CommandTimeout, c.Wait, testPeriod, testPeriod, 4*testPeriod)
	}
	if got, want := d.ActionTimeout(), 4*testPeriod+3*testPeriod+time.Second; got != want {
		t.Errorf("ActionTimeout = %v, want %v", got, want)
	}
	var at agent.ActionTimer = d
	_ = at
	if _, err := NewSCSI2Disk(agent.DiskConfig{Device: "nvme0", Mode: agent.ModeSCSI2}, nil); err == nil {
		t.Error("NewSCSI2Disk(nvme0): no error")
	}
}

// Acquire reserves and defends: the reservation outlives several periods,
// the other node sees it held by another initiator and cannot acquire;
// Release stops the defence and frees the unit for the other node.
func TestSCSI2DiskAcquireDefendRelease(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lun := scsitest.New(scsitest.Config{})
	a := testSCSI2Disk(t, "a", lun.Connect("a", ""))
	b := testSCSI2Disk(t, "b", lun.Connect("b", ""))
	holds(t, "a before", mustStatus(t, ctx, a), false, false, false, "")
	if err := a.Register(ctx); err != nil {
		t.Fatalf("register (a no-op): %v", err)
	}
	if err := a.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	g0, err := a.Generation(ctx)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * testPeriod)
	holds(t, "a holding", mustStatus(t, ctx, a), true, true, false, "this node")
	holds(t, "b", mustStatus(t, ctx, b), false, false, true, "other")
	if g, err := a.Generation(ctx); err != nil || g != g0 {
		t.Errorf("generation while holding = %d, %v; want %d (no state change)", g, err, g0)
	}
	if err := a.Acquire(ctx); err != nil {
		t.Errorf("second acquire (idempotent): %v", err)
	}
	if err := b.Acquire(ctx); !errors.Is(err, scsi.ErrReservationConflict) {
		t.Errorf("b acquire while a holds = %v, want a reservation conflict", err)
	}
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if g, _ := a.Generation(ctx); g == g0 {
		t.Error("generation unchanged by release")
	}
	time.Sleep(2 * testPeriod) // a stopped loop renews nothing
	holds(t, "a released", mustStatus(t, ctx, a), false, false, false, "")
	if err := b.Acquire(ctx); err != nil {
		t.Fatalf("b acquire after a's release: %v", err)
	}
	holds(t, "a after b took it", mustStatus(t, ctx, a), false, false, true, "other")
}

// Another node breaking the reservation (reset) and reserving makes the
// owner's next renewal conflict: the disk is lost, Registered and Owner go
// false (the guard self-fences) and the generation changes.
func TestSCSI2DiskLost(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lun := scsitest.New(scsitest.Config{})
	a := testSCSI2Disk(t, "a", lun.Connect("a", ""))
	thief := lun.Connect("b", "")
	if err := a.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	g0, _ := a.Generation(ctx)
	dev := &scsi.Device{Transport: thief, UnitAttentionRetries: 4}
	if err := dev.Reset(ctx, scsi.ResetLUN); err != nil {
		t.Fatal(err)
	}
	if err := dev.Reserve6(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * testPeriod)
	s := mustStatus(t, ctx, a)
	holds(t, "a after the theft", s, false, false, true, "other")
	changed(t, ctx, a, s, g0, "lost", scsi2Lost)
}

// changed checks a state change of a: a note containing note, a new
// generation (from g0), and the state want.
func changed(t *testing.T, ctx context.Context, a *SCSI2Disk, s agent.DiskStatus, g0 uint32, note string, want scsi2State) {
	t.Helper()
	if !strings.Contains(strings.Join(s.Notes, "; "), note) {
		t.Errorf("notes %q do not say %q", s.Notes, note)
	}
	if g, _ := a.Generation(ctx); g == g0 {
		t.Error("generation unchanged")
	}
	a.mu.Lock()
	st := a.state
	a.mu.Unlock()
	if st != want {
		t.Errorf("state %v, want %v", st, want)
	}
}

// A challenge against an owner whose defend loop is gone (a dead agent
// whose reservation the array kept) wins: reset, wait, reserve; the old
// owner then reads the unit held by another. Against a live owner it
// fails with the owner alive, and the owner keeps the unit.
func TestSCSI2DiskFence(t *testing.T) {
	for _, tc := range []struct {
		name string
		dead bool
	}{{"dead owner", true}, {"live owner", false}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			lun := scsitest.New(scsitest.Config{})
			a := testSCSI2Disk(t, "a", lun.Connect("a", ""))
			b := testSCSI2Disk(t, "b", lun.Connect("b", ""))
			if err := a.Acquire(ctx); err != nil {
				t.Fatal(err)
			}
			if tc.dead {
				a.StopDefending()
			}
			start := time.Now()
			err := b.Fence(ctx)
			took := time.Since(start)
			if !tc.dead {
				if !errors.Is(err, scsi.ErrOwnerAlive) || !strings.Contains(err.Error(), "alive") {
					t.Fatalf("fence of a live owner = %v, want ErrOwnerAlive", err)
				}
				holds(t, "a (live)", mustStatus(t, ctx, a), true, true, false, "this node")
				holds(t, "b (lost the challenge)", mustStatus(t, ctx, b), false, false, true, "other")
				return
			}
			if err != nil {
				t.Fatalf("fence of a dead owner: %v", err)
			}
			if took < b.Config().Wait {
				t.Errorf("fence took %v, less than the challenge wait %v", took, b.Config().Wait)
			}
			time.Sleep(2 * testPeriod)
			sb := mustStatus(t, ctx, b)
			holds(t, "b (won)", sb, true, true, false, "this node")
			if !strings.Contains(sb.FenceMethod, "challenge") {
				t.Errorf("fence method %q does not say challenge", sb.FenceMethod)
			}
			holds(t, "a (dead)", mustStatus(t, ctx, a), false, false, true, "other")
			// Idempotent: b holds it.
			if err := b.Fence(ctx); err != nil {
				t.Errorf("second fence: %v", err)
			}
		})
	}
}

// Transport errors on renewals are retried on schedule: one lost renewal
// keeps the unit; renewals failing for longer than 2 x period + the
// command timeout make the
// disk not claimable (Registered and Owner false, no error: the guard
// self-fences), and a renewal that succeeds again restores it.
func TestSCSI2DiskRenewalFaults(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lun := scsitest.New(scsitest.Config{})
	f := &scsitest.Faulty{T: lun.Connect("a", "")}
	a := testSCSI2Disk(t, "a", f)
	if err := a.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	isReserve := func(c *scsi.Command) bool { return c.CDB[0] == scsi.OpReserve6 }
	one := f.Add(&scsitest.Fault{Match: isReserve, Drop: true})
	// Read the status often across the failed renewal and the next one:
	// it must never stop claiming the unit.
	for i := 0; i < 30; i++ {
		time.Sleep(testPeriod / 10)
		holds(t, "around one lost renewal", mustStatus(t, ctx, a), true, true, false, "this node")
	}
	if f.Hits(one) == 0 {
		t.Fatal("no renewal was dropped")
	}

	g0, _ := a.Generation(ctx)
	var dropping atomic.Bool
	dropping.Store(true)
	f.Add(&scsitest.Fault{Match: func(c *scsi.Command) bool { return isReserve(c) && dropping.Load() }, Drop: true, Times: -1})
	time.Sleep(4 * testPeriod)
	s := mustStatus(t, ctx, a)
	holds(t, "renewals failing", s, false, false, false, "")
	// Still holding: transport errors are retried on schedule.
	changed(t, ctx, a, s, g0, "challenger may have taken", scsi2Holding)
	dropping.Store(false)
	time.Sleep(2 * testPeriod)
	holds(t, "renewing again", mustStatus(t, ctx, a), true, true, false, "this node")
}

// Register and Unfence have nothing to do on SCSI-2 and succeed.
func TestSCSI2DiskNoKeys(t *testing.T) {
	ctx := context.Background()
	a := testSCSI2Disk(t, "a", scsitest.New(scsitest.Config{}).Connect("a", ""))
	if err := a.Register(ctx); err != nil {
		t.Error(err)
	}
	if err := a.Unfence(ctx); err != nil {
		t.Error(err)
	}
	if a.Mode() != agent.ModeSCSI2 {
		t.Error(a.Mode())
	}
}

// The direct path refuses a scsi2 disk: nothing would renew a reservation
// it took.
func TestDirectRefusesSCSI2(t *testing.T) {
	cfg := &agent.Config{Node: agent.NodeConfig{Name: "a", ID: 1}, Cluster: agent.ClusterConfig{ID: 1}, Disks: []agent.DiskConfig{{Device: "iscsi://127.0.0.1/iqn.2026-11.io.hakit:fake/0", Mode: agent.ModeSCSI2}}}
	cfg.Peer.Name, cfg.Peer.ID = "b", 2
	if _, err := NewDirect(cfg, nil); !errors.Is(err, ErrDirectSCSI2) || !strings.Contains(err.Error(), "start hwagent") {
		t.Errorf("NewDirect with a scsi2 disk = %v, want ErrDirectSCSI2", err)
	}
}

// Build makes a SCSI2Disk for a scsi2 disk, on the same session pool as
// the node's PR disks (one session per target and initiator).
func TestBuildSCSI2Disk(t *testing.T) {
	y := "node: {name: a, id: 1}\npeer: {name: b, id: 2}\ncluster: {id: 7}\nstate_dir: " + t.TempDir() + "\ndisks:\n" +
		"  - device: iscsi://127.0.0.1/iqn.2026-11.io.hakit:fake/0\n    initiator: iqn.2026-11.io.hakit:a\n" +
		"  - device: iscsi://127.0.0.1/iqn.2026-11.io.hakit:fake/1\n    initiator: iqn.2026-11.io.hakit:a\n    mode: scsi2\n    scsi2_period_ms: 500\n"
	cfg, err := agent.ParseConfig("a.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	deps, closeAll, err := Build(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()
	pr, ok1 := deps.Disks[0].(*Disk)
	s2, ok2 := deps.Disks[1].(*SCSI2Disk)
	if !ok1 || !ok2 {
		t.Fatalf("disks %T, %T: want *Disk, *SCSI2Disk", deps.Disks[0], deps.Disks[1])
	}
	if pr.pool == nil || s2.pool != pr.pool {
		t.Error("the scsi2 disk does not share the node's session pool")
	}
	if c := s2.Config(); c.Period != 500*time.Millisecond || c.Wait != 2*time.Second {
		t.Errorf("scsi2 config period %v wait %v, want 500ms and 2s", c.Period, c.Wait)
	}
}
