package agent

import (
	"context"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hakit/hakit/nic"
)

// countingNIC is a NIC component whose Status stands for a probe (it
// counts them); with cache set it also implements NICCache.
type countingNIC struct {
	probes atomic.Int32
	st     NICStatus
}

func (c *countingNIC) Run(ctx context.Context, _ func(Event)) error { <-ctx.Done(); return nil }
func (c *countingNIC) Status(context.Context) (NICStatus, error) {
	c.probes.Add(1)
	return c.st, nil
}

type cachedNIC struct {
	countingNIC
	maxAge time.Duration
}

func (c *cachedNIC) CachedNIC(maxAge time.Duration) NICStatus {
	c.maxAge = maxAge
	return c.st
}

// The disk heartbeat's path view, refreshed every 2 s, reads the NIC
// component's cache: no probe however often it runs. Only a NIC
// component without a cache is asked (and probes) each time.
func TestPathViewProbesNothing(t *testing.T) {
	st := NICStatus{
		Status: &nic.Status{Link: nic.Link{Name: "eth1", Carrier: nic.CarrierUp}},
		Probe:  &nic.ProbeResult{Interface: "eth1", Peer: netip.MustParseAddr("192.168.77.2"), State: nic.ProbeReachable},
	}
	cached := &cachedNIC{countingNIC: countingNIC{st: st}}
	a := &Agent{deps: Deps{NICs: cached}}
	for range 50 {
		if p := a.pathView(context.Background()); p.NICCarrier != PathUp || p.NICPeer != PathUp {
			t.Fatalf("path view %+v, want the cache's carrier and peer up", p)
		}
	}
	if n := cached.probes.Load(); n != 0 {
		t.Errorf("50 path views probed %d times, want 0", n)
	}
	if cached.maxAge != nicProbeMaxAge {
		t.Errorf("cache asked with max age %v, want %v", cached.maxAge, nicProbeMaxAge)
	}
	// What the cache does not know (a stale probe left out, no watcher)
	// is unknown, never down.
	cached.st = NICStatus{}
	if p := a.pathView(context.Background()); p.NICCarrier != "" || p.NICPeer != "" {
		t.Errorf("empty cache: %+v, want unknown", p)
	}
	plain := &countingNIC{st: st}
	a = &Agent{deps: Deps{NICs: plain}}
	for range 3 {
		a.pathView(context.Background())
	}
	if n := plain.probes.Load(); n != 3 {
		t.Errorf("a NIC without a cache: %d status calls for 3 path views, want 3", n)
	}
	a = &Agent{}
	if p := a.pathView(context.Background()); p != (Paths{}) {
		t.Errorf("no NIC: %+v", p)
	}
}
