package check

import (
	"context"
	"errors"
	"github.com/hakit/hakit/internal/testutil"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseCorosyncTotem(t *testing.T) {
	ms := time.Millisecond
	nodes := func(n int) string {
		s := "nodelist {\n"
		for i := range n {
			s += "  node {\n    nodeid: " + string(rune('1'+i)) + "\n  }\n"
		}
		return s + "}\n"
	}
	for _, tc := range []struct {
		name            string
		conf            string
		token, cons     time.Duration
		wantErrContains string
	}{
		{"defaults", "totem {\n version: 2\n}\n" + nodes(2), 3000 * ms, 3600 * ms, ""},
		{"set", "totem {\n  token: 5000 # ms\n  consensus: 7000\n  interface {\n    token: 1\n  }\n}\n", 5000 * ms, 7000 * ms, ""},
		{"token only", "totem {\n token: 1000\n}\n", 1000 * ms, 1200 * ms, ""},
		{"three nodes", "totem {\n token: 1000\n}\n" + nodes(3), 1650 * ms, 1980 * ms, ""},
		{"coefficient", "totem {\n token: 1000\n token_coefficient: 100\n}\n" + nodes(4), 1200 * ms, 1440 * ms, ""},
		{"Debian's file", "totem {\n\tversion: 2\n\tcluster_name: debian\n}\nquorum {\n\tprovider: corosync_votequorum\n}\n" + nodes(1), 3000 * ms, 3600 * ms, ""},
		{"bad number", "totem {\n token: 3s\n}\n", 0, 0, "totem.token"},
		{"unclosed", "totem {\n token: 1\n", 0, 0, "not closed"},
		{"stray brace", "}\n", 0, 0, "without a section"},
		{"junk", "totem {\n token\n}\n", 0, 0, "neither key"},
	} {
		got, err := ParseCorosyncTotem([]byte(tc.conf))
		if tc.wantErrContains != "" {
			if err == nil || !errors.Is(err, ErrCorosyncConf) || !strings.Contains(err.Error(), tc.wantErrContains) {
				t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.wantErrContains)
			}
			continue
		}
		if err != nil || got.Token != tc.token || got.Consensus != tc.cons {
			t.Errorf("%s: %+v, %v; want token %v consensus %v", tc.name, got, err, tc.token, tc.cons)
		}
	}
	if d, err := parseCmap("runtime.config.totem.token (u32) = 3000\n"); err != nil || d != 3000*ms {
		t.Errorf("parseCmap: %v %v", d, err)
	}
	if _, err := parseCmap("Failed to initialize the cmap API"); err == nil {
		t.Error("parseCmap took an error message")
	}
}

// Each seeded misconfiguration of a timeout pair is flagged with a fix;
// the good configuration passes every pair.
func TestAuditTimeouts(t *testing.T) {
	s := time.Second
	good := timeoutFacts{Node: "a", Deadtime: 2 * s, Keepalive: 100 * time.Millisecond, Silence: 200 * time.Millisecond, SilenceLate: 150 * time.Millisecond, NIC: nicDetection, Totem: Totem{Token: 3 * s, Consensus: 3600 * time.Millisecond, Source: "test"}, TotemKnown: true,
		Stonith: 60 * s, StonithSource: "test", StonithKnown: true, SelfFence: "watchdog", Watchdog: 10 * s, DiskStatus: s}
	for _, r := range auditTimeouts(good) {
		if r.Verdict != Pass {
			t.Errorf("good configuration: %s: %s %s", r.Name, r.Verdict, r.Measured)
		}
	}
	for _, tc := range []struct {
		name  string
		seed  func(*timeoutFacts)
		check string
		fix   string
		warn  bool // a warning, not a failure
	}{
		{"consensus below 1.2 x token", func(f *timeoutFacts) { f.Totem.Consensus = 3 * s }, "corosync token and consensus", "totem.consensus to at least 3600", false},
		{"deadtime past token + consensus", func(f *timeoutFacts) { f.Deadtime = 30 * s }, "serial deadtime vs corosync (a)", "timers.deadtime_ms to at most 6600", true},
		{"NIC slower than the token", func(f *timeoutFacts) {
			f.Totem, f.Deadtime = Totem{Token: 300 * time.Millisecond, Consensus: 360 * time.Millisecond}, 500*time.Millisecond
		}, "NIC detection vs corosync (a)", "raise totem.token above 400", false},
		{"deadtime below twice the worst silence", func(f *timeoutFacts) { f.Silence = 1200 * time.Millisecond }, "serial deadtime vs worst silence (a)", "timers.deadtime_ms to at least 2400", true},
		{"watchdog path too long", func(f *timeoutFacts) { f.Watchdog = 40 * s }, "watchdog vs self-fence path (a)", "watchdog_timeout_s to at most 29", false},
	} {
		f := good
		tc.seed(&f)
		var hit *Result
		rs := auditTimeouts(f)
		want := Fail
		if tc.warn {
			want = Warn
		}
		for i := range rs {
			if rs[i].Verdict != Pass {
				if hit != nil {
					t.Errorf("%s: more than one finding: %s and %s", tc.name, hit.Name, rs[i].Name)
				}
				hit = &rs[i]
			}
		}
		if hit == nil || hit.Name != tc.check || hit.Verdict != want || !strings.Contains(hit.Hint, tc.fix) {
			t.Errorf("%s: %+v, want %q %s with a fix containing %q", tc.name, hit, tc.check, want, tc.fix)
		}
	}
	// Unknown sides are skips, never passes.
	f := good
	f.TotemKnown, f.Deadtime, f.NIC, f.SelfFence, f.StonithKnown = false, 0, 0, "event", false
	for _, r := range auditTimeouts(f) {
		if r.Verdict != Skip || r.Hint == "" {
			t.Errorf("unknown side: %s: %s, want a skip with a hint", r.Name, r.Verdict)
		}
	}
}

// The smallest safe deadtime is twice the worst silence the agent measured,
// at least three keepalives, rounded up to 10 ms; the message says where
// the silence came from.
func TestSilenceAudit(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name                             string
		keepalive, deadtime, worst, late time.Duration
		why                              string
		want                             Verdict
		says, fix                        string
	}{
		{"ample", 100 * ms, 1000 * ms, 12 * ms, 11 * ms, "", Pass, "smallest safe deadtime 300ms", ""},
		{"10/50 with a 24 ms worst silence", 10 * ms, 50 * ms, 24 * ms, 10 * ms, "", Pass, "smallest safe deadtime 50ms", ""},
		{"10/50 with a 33 ms worst silence", 10 * ms, 50 * ms, 33 * ms, 12 * ms, "", Warn, "the line and this node's kernel and reader added 21ms", "timers.deadtime_ms to at least 70"},
		{"rounded up", 20 * ms, 100 * ms, 50*ms + 1, 20 * ms, "", Warn, "smallest safe deadtime 110ms", "at least 110"},
		{"the sender was late", 10 * ms, 100 * ms, 80 * ms, 78 * ms, "", Warn, "the peer sent 78ms apart", "at least 160"},
		{"the peer's clock a little ahead", 100 * ms, 1000 * ms, 100 * ms, 101 * ms, "", Pass, "reader added 0s", ""},
		{"reached the deadtime", 200 * ms, 1000 * ms, 2300 * ms, 2300 * ms, "", Skip, "cannot size the deadtime", "at least 4600"},
		{"nothing measured", 100 * ms, 1000 * ms, 0, 0, "", Skip, "no silence measured yet", "run hwcheck again"},
		{"agent not reachable", 100 * ms, 1000 * ms, 0, 0, "its agent is not reachable from here", Skip, "not reachable", "run hwcheck again"},
		{"no serial heartbeat", 0, 0, 0, 0, "", Skip, "no serial heartbeat", "serial:"},
	} {
		r := silenceAudit(timeoutFacts{Node: "a", Keepalive: tc.keepalive, Deadtime: tc.deadtime, Silence: tc.worst, SilenceLate: tc.late, SilenceWhy: tc.why})
		if r.Verdict != tc.want || !strings.Contains(r.Measured, tc.says) || !strings.Contains(r.Hint, tc.fix) {
			t.Errorf("%s: %s %q hint %q; want %s saying %q, hint with %q", tc.name, r.Verdict, r.Measured, r.Hint, tc.want, tc.says, tc.fix)
		}
	}
}

// Without the cluster's own stonith-timeout, a watchdog path that fits the
// default is a skip, not a pass.
func TestAuditStonithUnknown(t *testing.T) {
	f := timeoutFacts{Node: "a", Stonith: 60 * time.Second, SelfFence: "watchdog", Watchdog: 10 * time.Second, DiskStatus: time.Second}
	for _, r := range auditTimeouts(f) {
		if r.Name == "watchdog vs self-fence path (a)" && r.Verdict != Skip {
			t.Errorf("%s: %s, want skip", r.Name, r.Verdict)
		}
	}
}

// The running cmap wins over the file; without it the file is read, and no
// file means corosync is not configured.
func TestCorosyncFrom(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	conf := filepath.Join(dir, "corosync.conf")
	if err := os.WriteFile(conf, []byte("totem {\n token: 2000\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fails := func(ctx context.Context, name string, args ...string) *exec.Cmd {
		return exec.CommandContext(ctx, "false")
	}
	tt, found, err := CorosyncFrom(conf, fails)(ctx)
	if err != nil || !found || tt.Token != 2*time.Second || tt.Consensus != 2400*time.Millisecond || tt.Source != conf {
		t.Errorf("from the file: %+v %v %v", tt, found, err)
	}
	if _, found, err := CorosyncFrom(filepath.Join(dir, "none"), fails)(ctx); found || err != nil {
		t.Errorf("no file: found %v, %v", found, err)
	}
	testutil.SkipUnlessTools(t, "corosync-cmapctl")
	cmap := func(ctx context.Context, name string, args ...string) *exec.Cmd {
		return exec.CommandContext(ctx, "echo", args[1]+" (u32) = 1000")
	}
	tt, found, err = CorosyncFrom(conf, cmap)(ctx)
	if err != nil || !found || tt.Token != time.Second || tt.Consensus != time.Second || !strings.Contains(tt.Source, "cmap") {
		t.Errorf("from the cmap: %+v %v %v", tt, found, err)
	}
}

// No corosync.conf makes the parser panic or return a negative timer.
func FuzzParseCorosyncTotem(f *testing.F) {
	f.Add([]byte("totem {\n token: 3000\n consensus: 3600\n}\nnodelist {\n node {\n nodeid: 1\n }\n}\n"))
	f.Add([]byte("totem {\n token_coefficient: 650\n}\n}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tt, err := ParseCorosyncTotem(b)
		if err == nil && (tt.Token < 0 || tt.Consensus < 0) {
			t.Errorf("negative timers %+v", tt)
		}
	})
}

func TestParseCorosyncTotemHuge(t *testing.T) {
	conf := "totem {\n token_coefficient: 4294967295\n}\nnodelist {\n" + strings.Repeat(" node {\n }\n", 5) + "}\n"
	if _, err := ParseCorosyncTotem([]byte(conf)); err == nil {
		t.Error("a token of 3 x 2^32 ms accepted")
	}
}

// Without the peer's configuration, the peer's deadtime is judged from
// its agent's heartbeat: the timers it runs and the worst silence it saw.
func TestPeerSilence(t *testing.T) {
	for _, c := range []struct {
		name  string
		agent Agent
		want  string // verdict and hint, "" for no result
	}{
		{"stalls near the deadtime", &fakeAgent{hb: aliveHB(600 * time.Millisecond)}, "warn: a stall like the one measured, slightly longer, declares a live peer dead: set timers.deadtime_ms to at least 1200"},
		{"ample", &fakeAgent{hb: aliveHB(20 * time.Millisecond)}, "pass: "},
		{"no serial heartbeat", &fakeAgent{hbErr: errors.New("heartbeat is not configured on this node")}, ""},
		{"nothing measured yet", &fakeAgent{hb: aliveHB(0)}, "skip: run hwcheck again once the pair has run for a while under its usual load (hours give a figure worth trusting)"},
	} {
		got := ""
		for _, r := range peerSilence(context.Background(), "b", c.agent) {
			if r.Name != "serial deadtime vs worst silence (b)" {
				t.Errorf("%s: result named %q", c.name, r.Name)
			}
			got = string(r.Verdict) + ": " + r.Hint
		}
		if got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
