//go:build linux

package iscsi

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/hakit/hakit/internal/rig"
	"github.com/hakit/hakit/scsi"
)

// benchSession dials a loopback tgtd for a benchmark.
func benchSession(b *testing.B) *Session {
	d := rig.DiskFor(b, rig.DiskConfig{Size: 8 << 20, Logger: discardLogger()})
	u, err := ParseURL(d.URL())
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Dial(ctx, u, Config{InitiatorName: nodeA})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	// Absorb the power-on unit attention.
	for range 3 {
		if resp, err := s.Execute(ctx, &scsi.Command{CDB: make([]byte, 6)}); err == nil && resp.Status == scsi.StatusGood {
			break
		}
	}
	return s
}

// benchRoundTrips runs cmd b.N times and reports the median, 99th
// percentile and longest round trip.
func benchRoundTrips(b *testing.B, s *Session, cmd *scsi.Command) {
	ctx := context.Background()
	rtts := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		resp, err := s.Execute(ctx, cmd)
		rtts = append(rtts, time.Since(start))
		if err != nil || resp.Status != scsi.StatusGood {
			b.Fatalf("%v %+v", err, resp)
		}
	}
	b.StopTimer()
	slices.Sort(rtts)
	b.ReportMetric(float64(rtts[len(rtts)/2].Microseconds()), "p50-us")
	b.ReportMetric(float64(rtts[len(rtts)*99/100].Microseconds()), "p99-us")
	b.ReportMetric(float64(rtts[len(rtts)-1].Microseconds()), "max-us")
}

// BenchmarkTestUnitReady measures the round trip of TEST UNIT READY against
// tgtd on loopback.
func BenchmarkTestUnitReady(b *testing.B) {
	s := benchSession(b)
	benchRoundTrips(b, s, &scsi.Command{CDB: make([]byte, 6)})
}

// BenchmarkRead64K measures the round trip of a 64 KiB READ(10) against
// tgtd on loopback.
func BenchmarkRead64K(b *testing.B) {
	s := benchSession(b)
	b.SetBytes(64 << 10)
	benchRoundTrips(b, s, &scsi.Command{CDB: rw10(0x28, 0, 128), Direction: scsi.FromDevice, AllocLen: 64 << 10})
}
