package hw_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/agent/hw"
	"github.com/hakit/hakit/internal/rig"
	"github.com/hakit/hakit/nic"
)

var _ agent.NICCache = (*hw.NIC)(nil)

// echoesIn is how many ICMP echo requests side s's namespace has
// received (its kernel's Icmp InEchos counter).
func echoesIn(t *testing.T, nw *rig.Net, s rig.Side) int {
	t.Helper()
	var n int
	err := nw.Do(s, func() error {
		b, err := os.ReadFile("/proc/thread-self/net/snmp")
		if err != nil {
			return err
		}
		var names []string
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) == 0 || f[0] != "Icmp:" {
				continue
			}
			if names == nil {
				names = f
				continue
			}
			for i, name := range names {
				if name == "InEchos" && i < len(f) {
					n, err = strconv.Atoi(f[i])
					return err
				}
			}
		}
		return os.ErrNotExist
	})
	if err != nil {
		t.Fatalf("reading %s's ICMP counters: %v", s, err)
	}
	return n
}

// The NIC component's cache (what the disk heartbeat's path view reads
// every 2 s) sends no echo: counted on the peer's kernel, a thousand
// cached reads add none, one status call adds its probe's. The link in the
// cache follows the watcher: a link set down is down there with no
// status call.
func TestIntegrationNICCacheProbesNothing(t *testing.T) {
	nw := rig.NetFor(t, rig.NetConfig{})
	b := nw.Addr(rig.B).Addr()
	n := &hw.NIC{Interface: nw.Interface(rig.A), NetNS: nw.Namespace(rig.A), Peer: b, Logger: testLogger(t)}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if c := n.CachedNIC(time.Minute); c.Status != nil || c.Probe != nil {
		t.Fatalf("cache before Run and any status: %+v, want nothing known", c)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- n.Run(runCtx, func(agent.Event) {}) }()
	defer func() { stop(); <-done }()
	waitCache := func(what string, ok func(agent.NICStatus) bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if c := n.CachedNIC(time.Minute); ok(c) {
				return
			} else if time.Now().After(deadline) {
				t.Fatalf("%s: cache %+v", what, c)
			}
		}
	}
	waitCache("carrier up from the watcher", func(c agent.NICStatus) bool { return c.Status != nil && c.Status.Carrier == nic.CarrierUp })

	before := echoesIn(t, nw, rig.B)
	start := time.Now()
	for range 1000 {
		if c := n.CachedNIC(time.Minute); c.Probe != nil {
			t.Fatalf("a probe in the cache before any status call: %+v", c.Probe)
		}
	}
	took := time.Since(start)
	if got := echoesIn(t, nw, rig.B) - before; got != 0 {
		t.Errorf("1000 cached reads: the peer received %d echoes, want 0", got)
	}
	t.Logf("1000 cached reads in %v", took)

	st, err := n.Status(ctx)
	if err != nil || st.Probe == nil || st.Probe.State != nic.ProbeReachable {
		t.Fatalf("status: %+v %v", st, err)
	}
	probed := echoesIn(t, nw, rig.B) - before
	if probed < 1 || probed > 2 {
		t.Errorf("one status call: the peer received %d echoes, want 1 or 2 (a probe sends up to 2, stopping at the first answer)", probed)
	}
	if c := n.CachedNIC(time.Minute); c.Probe == nil || c.Probe.State != nic.ProbeReachable {
		t.Errorf("cache after a status call: %+v, want its probe", c)
	}
	if c := n.CachedNIC(0); c.Probe != nil {
		t.Errorf("cache with max age 0: probe %+v, want it left out as too old", c.Probe)
	}

	if err := nw.SetLink(ctx, rig.A, false); err != nil {
		t.Fatal(err)
	}
	waitCache("carrier down from the watcher", func(c agent.NICStatus) bool { return c.Status != nil && c.Status.Carrier != nic.CarrierUp })
	if c := n.CachedNIC(time.Minute); c.Probe != nil {
		t.Errorf("cache after the link went down: probe %+v taken before, want it left out (unknown)", c.Probe)
	}
	if got := echoesIn(t, nw, rig.B) - before; got != probed {
		t.Errorf("after the link went down: %d echoes in all, want the status call's %d", got, probed)
	}
	stop()
	<-done
	done <- nil
	if c := n.CachedNIC(time.Minute); c.Status != nil {
		t.Errorf("cache after Run ended: link %+v, want unknown", c.Status)
	}
}
