//go:build linux

package serialhb_test

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/hakit/hakit/serialhb"
)

// benchTimers are the detection settings: keepalive 10 ms,
// deadtime 50 ms (warntime and initdead by Heartbeat's rules).
var benchTimers = serialhb.TimersMS(10, 0, 50, 0)

// BenchmarkDetectDeadPeer cuts the rig cable 200 times between two live
// runners and measures, on node 1, the time from the cut to the dead event.
// It reports p50/p99 of (detection - deadtime), the figure (target
// p99 <= one keepalive), and p50/p99 of the overshoot past the deadline the
// node itself sets (silence at the event - deadtime), which is the timer
// and scheduling latency alone.
func BenchmarkDetectDeadPeer(b *testing.B) {
	const trials = 200
	useRealtime(b)
	c, rs, es := pair(b, benchTimers)
	tm := benchTimers.WithDefaults()
	var detect, overshoot []time.Duration
	for b.Loop() {
		for range trials {
			time.Sleep(3 * tm.Keepalive)
			es[0].drain()
			cut := time.Now()
			c.Cut()
			ev := es[0].waitState(10*time.Second, serialhb.StateDead)
			detect = append(detect, ev.Time.Sub(cut)-tm.Deadtime)
			overshoot = append(overshoot, ev.Silence-tm.Deadtime)
			c.Reconnect()
			es[0].waitState(10*time.Second, serialhb.StateAlive)
		}
	}
	if st := rs[0].Status(); st.Counters.Deaths < trials {
		b.Fatalf("%d deaths for %d cuts", st.Counters.Deaths, trials)
	}
	report := func(d []time.Duration, name string) {
		slices.Sort(d)
		q := func(p float64) float64 { return float64(d[int(p*float64(len(d)-1))]) / float64(time.Millisecond) }
		b.ReportMetric(q(0.50), name+"p50-ms")
		b.ReportMetric(q(0.99), name+"p99-ms")
		b.ReportMetric(float64(d[len(d)-1])/float64(time.Millisecond), name+"max-ms")
	}
	report(detect, "")
	report(overshoot, "late-")
	b.ReportMetric(float64(len(detect)), "trials")
}

var (
	soak       = flag.Duration("serialhb.soak", time.Minute, "how long BenchmarkSoak runs (e.g. 10m)")
	realtime   = flag.Int("serialhb.realtime", 0, "BenchmarkSoak and BenchmarkDetectDeadPeer: run the test process with SetRealtime(priority) (0: normal scheduling)")
	soakTimers = flag.String("serialhb.soak-timers", "10,0,50,0", "BenchmarkSoak timers in ms: keepalive,warntime,deadtime,initdead (0: default)")
)

// BenchmarkSoak is the soak mode: it runs two runners on the rig cable
// (default: the benchmark timers, keepalive 10 ms and deadtime 50 ms) for
// -serialhb.soak (default 1m; HAKIT_SERIALHB_SOAK overrides) while one
// busy-looping process per CPU keeps the machine fully loaded, and counts
// false deaths (target 0). Being a benchmark, it never runs in the test
// suite; run it with
//
//	go test -run '^$' -bench Soak -benchtime 1x ./serialhb/ -serialhb.soak=10m
func BenchmarkSoak(b *testing.B) {
	t := b
	d := *soak
	if v, err := time.ParseDuration(os.Getenv("HAKIT_SERIALHB_SOAK")); err == nil {
		d = v
	}
	if d <= 0 {
		b.Fatalf("soak duration %v: want a positive duration", d)
	}
	var ms [4]int
	if _, err := fmt.Sscanf(*soakTimers, "%d,%d,%d,%d", &ms[0], &ms[1], &ms[2], &ms[3]); err != nil {
		t.Fatalf("-serialhb.soak-timers %q: %v", *soakTimers, err)
	}
	timers := serialhb.TimersMS(ms[0], ms[1], ms[2], ms[3])
	if err := timers.Validate(); err != nil {
		t.Fatal(err)
	}
	useRealtime(t)
	_, rs, es := pair(t, timers)
	for range runtime.NumCPU() {
		burn := exec.Command(os.Args[0], "-test.run=^$")
		burn.Env = append(os.Environ(), helperEnv+"=burn")
		if err := burn.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { burn.Process.Kill(); burn.Wait() })
	}
	start := time.Now()
	time.Sleep(d)
	var falseDeaths [2]uint64
	for i, e := range es {
		for _, ev := range e.drain() {
			if ev.Kind == serialhb.EventState && ev.To == serialhb.StateDead {
				t.Logf("node %d false death: %v", i+1, ev)
			}
		}
	}
	for i, r := range rs {
		st := r.Status()
		falseDeaths[i] = st.Counters.Deaths
		t.Logf("node %d after %v with %d busy processes (%s, realtime %d): state %s, false deaths %d, rtt %+v, counters %+v",
			i+1, time.Since(start).Round(time.Second), runtime.NumCPU(), timers, *realtime, st.State, falseDeaths[i], st.RTT, st.Counters)
	}
	b.ReportMetric(float64(falseDeaths[0]+falseDeaths[1]), "false-deaths")
	b.ReportMetric(d.Minutes(), "soak-min")
	if falseDeaths[0]+falseDeaths[1] > 0 {
		t.Errorf("false deaths: node 1 %d, node 2 %d (target 0)", falseDeaths[0], falseDeaths[1])
	}
}

// useRealtime applies -serialhb.realtime to the test process.
func useRealtime(t testing.TB) {
	if *realtime > 0 {
		if err := serialhb.SetRealtime(*realtime); err != nil {
			t.Fatal(err)
		}
	}
}
