package check

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hakit/hakit/agent"
)

func TestParseCrmDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"60": time.Minute, "60s": time.Minute, "90sec": 90 * time.Second, "2min": 2 * time.Minute, "2m": 2 * time.Minute, "1500ms": 1500 * time.Millisecond, "1h": time.Hour, "500msec": 500 * time.Millisecond} {
		if got, err := ParseCrmDuration(in); err != nil || got != want {
			t.Errorf("%q: %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "s", "-5s", "10 days", "1.5s", "99999999999999s"} {
		if _, err := ParseCrmDuration(in); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}

func TestFencing(t *testing.T) {
	node := func(name string, prio, step int) *agent.Config {
		c := &agent.Config{}
		c.Node.Name, c.Peer.Name = name, "peer-of-"+name
		c.Fence.Priority, c.Fence.DelayStepMS = prio, step
		return c
	}
	cluster := func(d time.Duration, found bool, err error) StonithTimeoutFunc {
		return func(context.Context) (time.Duration, bool, error) { return d, found, err }
	}
	for _, tt := range []struct {
		name        string
		local, peer *agent.Config
		timeout     StonithTimeoutFunc
		want        []Verdict
		measured    string
	}{
		{"both fit the cluster's value", node("a", 0, 5000), node("b", 1, 5000), cluster(60*time.Second, true, nil), []Verdict{Pass, Pass}, "the cluster's stonith-timeout"},
		{"the delayed node does not fit", node("a", 0, 5000), node("b", 9, 5000), cluster(60*time.Second, true, nil), []Verdict{Pass, Fail}, "45s, + power_timeout 20s = 1m5s; limit 1m0s"},
		{"a raised stonith-timeout fits it", node("a", 0, 5000), node("b", 9, 5000), cluster(90*time.Second, true, nil), []Verdict{Pass, Pass}, ""},
		{"property unset: Pacemaker's default, known", node("a", 0, 5000), node("b", 1, 5000), cluster(60*time.Second, false, nil), []Verdict{Pass, Pass}, "the property is not set"},
		// The cluster's value unknown: fitting the default proves nothing
		// (skip), exceeding it is a warning.
		{"cluster unreadable", node("a", 0, 5000), node("b", 9, 5000), cluster(0, false, errors.New("no cluster")), []Verdict{Skip, Warn}, "could not be read: no cluster"},
		{"peer config unreadable", node("a", 2, 5000), nil, cluster(60*time.Second, true, nil), []Verdict{Pass, Skip}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rs := Fencing(context.Background(), Env{LocalConfig: tt.local, PeerConfig: tt.peer, StonithTimeout: tt.timeout})
			var got []Verdict
			all := ""
			for _, r := range rs {
				got = append(got, r.Verdict)
				all += r.Measured + "\n"
				if r.Verdict == Fail || r.Verdict == Warn {
					if !strings.Contains(r.Hint, "fence.priority") {
						t.Errorf("%s: hint %q names no fix", r.Name, r.Hint)
					}
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("verdicts %v, want %v: %+v", got, tt.want, rs)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("verdicts %v, want %v: %+v", got, tt.want, rs)
				}
			}
			if !strings.Contains(all, tt.measured) {
				t.Errorf("measured %q does not say %q", all, tt.measured)
			}
		})
	}
	if rs := Fencing(context.Background(), Env{}); len(rs) != 1 || rs[0].Verdict != Skip {
		t.Errorf("without a configuration: %+v", rs)
	}
}

func TestPercentiles(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	p50, p99, worst := percentiles(ds)
	if p50 != 51*time.Millisecond || p99 != 100*time.Millisecond || worst != 100*time.Millisecond {
		t.Errorf("p50 %v p99 %v max %v", p50, p99, worst)
	}
	if p50, p99, worst := percentiles([]time.Duration{3 * time.Millisecond}); p50 != p99 || p99 != worst {
		t.Errorf("one sample: %v %v %v", p50, p99, worst)
	}
}
