package hw

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/internal/rig"
	"github.com/hakit/hakit/internal/testutil"
	"github.com/hakit/hakit/scsi"
)

// twoLUNs is a rig disk whose target has a second LUN (2) beside LUN 1, and
// the two iscsi:// URLs.
func twoLUNs(t *testing.T, initiator string) (*rig.Disk, [2]string) {
	t.Helper()
	d := rig.DiskFor(t, rig.DiskConfig{Initiators: []string{initiator}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	u2, err := d.AddLUN(ctx, 2, 16<<20, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return d, [2]string{d.URL(), u2}
}

// Two LUNs of one target with one initiator name: the agent's disks share
// one session (one I_T nexus), so alternating commands on the two LUNs
// cause no reconnect and no orphaned registration. The run lasts a minute
// (10 s with -short). Without the pool (a session per disk) the two
// sessions evict each other at every command: the control run shows it.
func TestIntegrationTwoLUNsOneTarget(t *testing.T) {
	const iqn = "iqn.2026-11.io.hakit:node-a"
	disk, urls := twoLUNs(t, iqn)
	own, peer := scsi.Key(0x686b00000000002a), scsi.Key(0x686b00000000002b)
	log := testutil.Logger(t, slog.LevelWarn)
	mk := func(pool *Sessions) [2]*Disk {
		var ds [2]*Disk
		for i, u := range urls {
			d, err := NewDisk(agent.DiskConfig{Device: u, Initiator: iqn}, own, peer, "", log)
			if err != nil {
				t.Fatal(err)
			}
			d.pool = pool
			t.Cleanup(func() { _ = d.Close() })
			ds[i] = d
		}
		return ds
	}
	ctx := context.Background()

	// Control: a session per disk.
	alone := mk(nil)
	for _, d := range alone {
		if err := d.Register(ctx); err != nil {
			t.Fatal(err)
		}
	}
	before := reconnects(t, alone[:]...)
	for range 10 {
		for _, d := range alone {
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			_, _ = d.Generation(cctx)
			cancel()
		}
	}
	if n := reconnects(t, alone[:]...) - before; n < 10 {
		t.Errorf("control: a session per disk gave %d reconnects over 20 alternating commands; want them evicting each other (else this test shows nothing)", n)
	}
	for _, d := range alone {
		_ = d.Close()
	}

	pool := NewSessions(log)
	ds := mk(pool)
	for _, d := range ds {
		if err := d.Register(ctx); err != nil {
			t.Fatal(err)
		}
		if err := d.Acquire(ctx); err != nil {
			t.Fatal(err)
		}
	}
	run := time.Minute
	if testing.Short() {
		run = 10 * time.Second
	}
	start := time.Now()
	rounds := 0
	for time.Since(start) < run {
		for i, d := range ds {
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			if rounds%10 == 0 {
				s, err := d.Status(cctx)
				if err != nil || !s.Registered || !s.Owner || strings.Count(strings.Join(s.Keys, " "), own.String()) != 1 {
					t.Fatalf("round %d LUN %d: status %+v, %v: want registered once and owner", rounds, i+1, s, err)
				}
			} else if _, err := d.Generation(cctx); err != nil {
				t.Fatalf("round %d LUN %d: %v", rounds, i+1, err)
			}
			cancel()
		}
		rounds++
		time.Sleep(20 * time.Millisecond)
	}
	if n := reconnects(t, ds[:]...); n != 0 {
		t.Errorf("%d reconnects in %v with the two LUNs sharing a session, want 0", n, run)
	}
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	show, err := disk.Show(sctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(show, "I_T nexus:"); n != 1 {
		t.Errorf("tgtd lists %d I_T nexus, want 1:\n%s", n, show)
	}
	t.Logf("%d rounds over 2 LUNs in %v, 0 reconnects, 1 I_T nexus", rounds, run)

	// A dropped connection: one reconnect of the shared session, whose hook
	// restores the registration on both LUNs before anything else runs.
	if n, err := disk.DropConnections(sctx, iqn); err != nil || n != 1 {
		t.Fatalf("drop: %d, %v", n, err)
	}
	for i, d := range ds {
		s, err := d.Status(sctx)
		if err != nil || !s.Registered || !s.Owner || strings.Count(strings.Join(s.Keys, " "), own.String()) != 1 {
			t.Errorf("after the reconnect, LUN %d: %+v, %v: want registered once and owner on both", i+1, s, err)
		}
	}
	if n := reconnects(t, ds[:]...); n != 1 {
		t.Errorf("%d reconnects after one drop, want 1", n)
	}
}

// reconnects sums the reconnects of the disks' sessions (a shared one
// counted once).
func reconnects(t *testing.T, ds ...*Disk) uint64 {
	t.Helper()
	seen := map[any]bool{}
	var n uint64
	for _, d := range ds {
		if _, err := d.Owner(context.Background()); err != nil {
			t.Fatal(err)
		}
		s := d.session()
		if s == nil || seen[s] {
			continue
		}
		seen[s] = true
		n += s.Stats().Reconnects
	}
	return n
}
