//go:build linux

package nic

import (
	"bytes"
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/hakit/hakit/internal/rig"
)

// percentile is the nearest-rank p-th percentile of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p/100*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 200; i++ {
		d = append(d, time.Duration(i))
	}
	for p, want := range map[float64]time.Duration{50: 100, 99: 198, 100: 200, 0: 1} {
		if got := percentile(d, p); got != want {
			t.Errorf("percentile(1..200, %v) = %d, want %d", p, got, want)
		}
	}
	if percentile(nil, 50) != 0 {
		t.Error("percentile of nothing is not 0")
	}
}

// BenchmarkLinkEventLatency measures, per flap, the time from the netlink
// request that sets the peer end down (issued inside the peer's namespace)
// to the watcher's event reaching a subscriber. Run it with
// -benchtime=200x for 200 flaps. The polling figures are a model, not a
// measurement: a monitor reading /sys/class/net/IF/carrier once a second
// sees a change that falls uniformly within the period at the next poll, so
// its latency is uniform on [0, 1 s): p50 500 ms, p99 990 ms
// (BenchmarkCarrierPoll measures a few flaps).
func BenchmarkLinkEventLatency(b *testing.B) {
	nw := rig.NetFor(b, rig.NetConfig{})
	// The rig's veth ends have distinct interface indexes, so the kernel
	// reports their carrier changes at once (with equal indexes it would
	// batch them like a physical NIC's, up to a second late).
	ifA, ifB := nw.Interface(rig.A), nw.Interface(rig.B)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w, err := Watch(ctx, WatchConfig{NetNS: nw.NamespacePath(rig.A), Interfaces: []string{ifA}})
	if err != nil {
		b.Fatal(err)
	}
	peer := newLinkCtl(b, nw.NamespacePath(rig.B), ifB)
	wait := func(want Carrier) time.Time {
		timeout := time.NewTimer(3 * time.Second)
		defer timeout.Stop()
		for {
			select {
			case ev := <-w.Events():
				if ev.New.Carrier == want {
					return time.Now()
				}
			case <-timeout.C:
				b.Fatalf("no carrier %s event within 3s", want)
			}
		}
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		peer.set(b, false)
		lat = append(lat, wait(CarrierDown).Sub(start))
		peer.set(b, true)
		wait(CarrierUp)
	}
	b.StopTimer()
	slices.Sort(lat)
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	b.ReportMetric(us(percentile(lat, 50)), "event-p50-us")
	b.ReportMetric(us(percentile(lat, 99)), "event-p99-us")
	b.ReportMetric(us(lat[len(lat)-1]), "event-max-us")
	b.ReportMetric(500, "poll-model-p50-ms")
	b.ReportMetric(990, "poll-model-p99-ms")
	if w.Resyncs() != 0 {
		b.Logf("resyncs during the run: %d", w.Resyncs())
	}
}

// BenchmarkCarrierPoll measures what a polling monitor sees: a goroutine
// reads /sys/class/net/IF/carrier inside A's namespace once a second (by
// `ip netns exec NS cat`, which mounts that namespace's sysfs), and each
// flap comes at a random phase of the period. Each flap costs about 1.5 s:
// run it with -benchtime=5x.
func BenchmarkCarrierPoll(b *testing.B) {
	nw := rig.NetFor(b, rig.NetConfig{})
	// The rig's veth ends have distinct interface indexes, so the kernel
	// reports their carrier changes at once (with equal indexes it would
	// batch them like a physical NIC's, up to a second late).
	ifA, ifB := nw.Interface(rig.A), nw.Interface(rig.B)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	peer := newLinkCtl(b, nw.NamespacePath(rig.B), ifB)
	seen := make(chan bool) // carrier value at each poll
	go func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			out, err := nw.Command(ctx, rig.A, "cat", "/sys/class/net/"+ifA+"/carrier").Output()
			if ctx.Err() != nil {
				return
			}
			if err == nil {
				select {
				case seen <- bytes.Equal(bytes.TrimSpace(out), []byte("1")):
				case <-ctx.Done():
					return
				}
			}
			select {
			case <-tick.C:
			case <-ctx.Done():
				return
			}
		}
	}()
	waitPoll := func(up bool) time.Time {
		for v := range seen {
			if v == up {
				return time.Now()
			}
		}
		return time.Time{}
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		waitPoll(true)
		time.Sleep(rand.N(time.Second))
		start := time.Now()
		peer.set(b, false)
		lat = append(lat, waitPoll(false).Sub(start))
		peer.set(b, true)
	}
	b.StopTimer()
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(percentile(lat, 50)), "poll-p50-ms")
	b.ReportMetric(ms(lat[len(lat)-1]), "poll-max-ms")
}
