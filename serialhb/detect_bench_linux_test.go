//go:build linux

package serialhb_test

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hakit/hakit/internal/rig"
	"github.com/hakit/hakit/internal/testutil"
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
	soak       = flag.Duration("serialhb.soak", time.Minute, "how long each BenchmarkSoak setting runs (e.g. 10m)")
	realtime   = flag.Int("serialhb.realtime", 0, "BenchmarkDetectDeadPeer: run the test process with SetRealtime(priority) (0: normal scheduling)")
	soakNice   = flag.Int("serialhb.soak-kworker-nice", -20, "BenchmarkSoak: Config.KworkerNice of the real-time runs (0: leave the kernel's workers alone)")
	soakTimers = flag.String("serialhb.soak-timers", "10,50;20,100;50,250", "BenchmarkSoak settings: keepalive,deadtime in ms, ';' between settings")
)

// BenchmarkSoak loads the machine as a busy node is loaded (one
// busy-looping process per CPU, a process writing and fsyncing 1 MiB at a
// time, a process streaming over loopback TCP) and runs two runners on the
// rig cable for -serialhb.soak (default 1m; HAKIT_SERIALHB_SOAK overrides)
// per setting: keepalive/deadtime 10/50, 20/100 and 50/250 ms, each with
// normal scheduling and with Config.Realtime 1 and Config.KworkerNice -20
// (-serialhb.soak-kworker-nice). It reports, per setting, the false deaths
// (target 0 with real-time at 10/50), the worst silence between two frames
// (Status.MaxSilence) and how much of it the sender was late
// (Status.MaxSilencePeerGap; the rest is the path through the kernel's tty
// work, the relay and the reader's wake-up). The cable's relay runs at
// real-time priority 2 in every run: it stands in for a null-modem cable,
// which is never late. Being a benchmark, it never runs in the test suite:
//
//	go test -run '^$' -bench Soak -benchtime 1x ./serialhb/ -serialhb.soak=10m
func BenchmarkSoak(b *testing.B) {
	d := *soak
	if v, err := time.ParseDuration(os.Getenv("HAKIT_SERIALHB_SOAK")); err == nil {
		d = v
	}
	if d <= 0 {
		b.Fatalf("soak duration %v: want a positive duration", d)
	}
	testutil.SkipUnlessRoot(b)
	var settings [][2]int
	for _, part := range strings.Split(*soakTimers, ";") {
		var ka, dt int
		if _, err := fmt.Sscanf(part, "%d,%d", &ka, &dt); err != nil {
			b.Fatalf("-serialhb.soak-timers %q: %v", *soakTimers, err)
		}
		settings = append(settings, [2]int{ka, dt})
	}
	load := []string{"disk", "net"}
	for range runtime.NumCPU() {
		load = append(load, "burn")
	}
	for _, mode := range load {
		p := exec.Command(os.Args[0], "-test.run=^$")
		p.Env = append(os.Environ(), helperEnv+"="+mode)
		if err := p.Start(); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { p.Process.Kill(); p.Wait() })
	}
	for _, set := range settings {
		for _, prio := range []int{0, 1} {
			name := fmt.Sprintf("%d-%d/realtime=%v", set[0], set[1], prio > 0)
			b.Run(name, func(b *testing.B) {
				timers := serialhb.TimersMS(set[0], 0, set[1], 0)
				if err := timers.Validate(); err != nil {
					b.Fatal(err)
				}
				nice := 0
				if prio > 0 {
					nice = *soakNice
				}
				var falseDeaths uint64
				var worst, worstGap time.Duration
				for b.Loop() {
					c := rig.CableFor(b, rig.CableConfig{Logger: testLogger(b), Realtime: 2})
					var rs [2]*serialhb.Runner
					for i, path := range []string{c.PathA(), c.PathB()} {
						rs[i], _ = startRunner(b, serialhb.Config{Path: path, Realtime: prio, KworkerNice: nice, Link: serialhb.LinkConfig{Node: uint16(i + 1), Peer: uint16(2 - i), Timers: timers}})
					}
					waitAlive(b, rs[:]...)
					base := [2]uint64{rs[0].Status().Counters.Deaths, rs[1].Status().Counters.Deaths}
					time.Sleep(d)
					for i, r := range rs {
						st := r.Status()
						if prio > 0 && st.Realtime != prio {
							b.Fatalf("node %d runs at real-time %d (%s), want %d", i+1, st.Realtime, st.RealtimeErr, prio)
						}
						if st.KworkerNice != nice {
							b.Fatalf("node %d: kworker nice %d (%s), want %d", i+1, st.KworkerNice, st.KworkerErr, nice)
						}
						falseDeaths += st.Counters.Deaths - base[i]
						if st.MaxSilence > worst {
							worst, worstGap = st.MaxSilence, st.MaxSilencePeerGap
						}
						b.Logf("node %d: %v under %d busy processes + disk + net (load %s), %s, realtime %d, kworker nice %d: false deaths %d, worst silence %v (sender late %v of it), rtt %+v",
							i+1, d, runtime.NumCPU(), loadavg(), timers, st.Realtime, st.KworkerNice, st.Counters.Deaths-base[i], st.MaxSilence.Round(time.Microsecond), st.MaxSilencePeerGap.Round(time.Microsecond), st.RTT)
					}
				}
				b.ReportMetric(float64(falseDeaths), "false-deaths")
				b.ReportMetric(float64(worst)/float64(time.Millisecond), "worst-silence-ms")
				b.ReportMetric(float64(worstGap)/float64(time.Millisecond), "of-it-sender-ms")
				b.ReportMetric(d.Minutes(), "soak-min")
			})
		}
	}
}

// loadavg returns the 1, 5 and 15-minute load averages, for the log.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

// waitAlive waits until every runner sees its peer alive.
func waitAlive(t testing.TB, rs ...*serialhb.Runner) {
	t.Helper()
	for _, r := range rs {
		deadline := time.Now().Add(5 * time.Second)
		for r.Status().State != serialhb.StateAlive {
			if time.Now().After(deadline) {
				t.Fatalf("never alive: %+v", r.Status())
			}
			time.Sleep(5 * time.Millisecond)
		}
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
