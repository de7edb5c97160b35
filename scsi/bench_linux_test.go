package scsi_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/hakit/hakit/internal/rig"
	"github.com/hakit/hakit/scsi"
	"github.com/hakit/hakit/scsi/iscsi"
)

// reportDurations reports the median and 99th percentile in ms.
func reportDurations(b *testing.B, name string, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(ds[len(ds)/2]), name+"-median-ms")
	b.ReportMetric(ms(ds[min(len(ds)-1, len(ds)*99/100)]), name+"-p99-ms")
}

// reportSpread reports the 10th and 90th percentiles in ms (ds sorted, as
// reportDurations leaves it).
func reportSpread(b *testing.B, name string, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(ds[len(ds)/10]), name+"-p10-ms")
	b.ReportMetric(ms(ds[min(len(ds)-1, len(ds)*9/10)]), name+"-p90-ms")
}

// BenchmarkFence times Owner.Fence on the rig's tgtd, read-back check
// included (PREEMPT, READ KEYS, READ RESERVATION after TUR and READ KEYS).
// The peer unfences between iterations, untimed.
func BenchmarkFence(b *testing.B) {
	_, a, bn := benchPair(b)
	ctx := context.Background()
	ds := make([]time.Duration, 0, b.N)
	for b.Loop() {
		b.StopTimer()
		if _, err := a.owner.Unfence(ctx); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		if _, err := bn.owner.Fence(ctx, keyA); err != nil {
			b.Fatal(err)
		}
		ds = append(ds, time.Since(start))
	}
	reportDurations(b, "fence", ds)
}

// BenchmarkStatus times Owner.Status (TUR, READ KEYS, READ RESERVATION;
// capabilities are detected once).
func BenchmarkStatus(b *testing.B) {
	_, a, _ := benchPair(b)
	ctx := context.Background()
	ds := make([]time.Duration, 0, b.N)
	for b.Loop() {
		start := time.Now()
		if _, err := a.owner.Status(ctx); err != nil {
			b.Fatal(err)
		}
		ds = append(ds, time.Since(start))
	}
	reportDurations(b, "status", ds)
}

// BenchmarkRejoin times a dropped session back to a whole registration:
// from the moment tgtd dropped node A's connection, A's next command
// reconnects, the reconnect hook re-registers (Owner.Reassert: orphan
// dropped, reservation moved to the new session), and a WRITE succeeds.
func BenchmarkRejoin(b *testing.B) {
	d := rig.DiskFor(b, rig.DiskConfig{Initiators: []string{iqnA, iqnB}, Logger: quietLogger()})
	a, hookErr := dialWithRecovery(b, d)
	ctx := context.Background()
	ds := make([]time.Duration, 0, b.N)
	for b.Loop() {
		b.StopTimer()
		if n, err := d.DropConnections(ctx, iqnA); err != nil || n != 1 {
			b.Fatalf("drop: %d %v", n, err)
		}
		b.StartTimer()
		start := time.Now()
		rejoin(b, a, hookErr)
		ds = append(ds, time.Since(start))
	}
	reportDurations(b, "rejoin", ds)
}

// dialWithRecovery dials node A with a reconnect hook that reasserts its
// registration (Owner.Reassert on the node's own Owner, safe even when an
// Owner call triggers the reconnect), and acquires the LUN. The hook's
// results arrive on the channel.
func dialWithRecovery(tb testing.TB, d *rig.Disk) (*node, chan error) {
	tb.Helper()
	u, err := iscsi.ParseURL(d.URL())
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var owner *scsi.Owner
	hookErr := make(chan error, 1)
	s, err := iscsi.Dial(ctx, u, iscsi.Config{InitiatorName: iqnA, Logger: quietLogger(),
		Reconnect: iscsi.ReconnectPolicy{MinBackoff: time.Millisecond},
		OnReconnect: func(ctx context.Context, _ iscsi.ReconnectEvent) {
			_, err := owner.Reassert(ctx)
			hookErr <- err
		}})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	owner, err = scsi.NewOwner(scsi.OwnerConfig{Transport: s, Name: "A", Key: keyA})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := owner.Register(ctx); err != nil {
		tb.Fatal(err)
	}
	if _, err := owner.Acquire(ctx); err != nil {
		tb.Fatal(err)
	}
	return &node{name: iqnA, owner: owner, dev: &scsi.Device{Transport: s, Name: iqnA}}, hookErr
}

// rejoin writes after a dropped connection: the write reconnects, the hook
// reasserts, the write succeeds; then the state must be whole.
func rejoin(tb testing.TB, a *node, hookErr chan error) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := a.writeAfterUA(ctx); err != nil {
		tb.Fatalf("write after reconnect: %v", err)
	}
	if err := <-hookErr; err != nil {
		tb.Fatalf("reassert hook: %v", err)
	}
}

func benchPair(b *testing.B) (*rig.Disk, *tnode, *tnode) {
	d := rig.DiskFor(b, rig.DiskConfig{Initiators: []string{iqnA, iqnB}, Logger: quietLogger()})
	a := dialNode(b, d, iqnA, keyA, 0, nil)
	bn := dialNode(b, d, iqnB, keyB, 0, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := a.owner.Register(ctx); err != nil {
		b.Fatal(err)
	}
	if _, err := bn.owner.Register(ctx); err != nil {
		b.Fatal(err)
	}
	if _, err := bn.owner.Acquire(ctx); err != nil {
		b.Fatal(err)
	}
	return d, a, bn
}
