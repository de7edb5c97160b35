package check

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMainPeerDoesNotAnswer(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "a.yaml")
	y := "node: {name: a, id: 1}\npeer: {name: b, id: 2, socket: " + filepath.Join(dir, "b.sock") + "}\ncluster: {id: 7}\napi: {socket: " + filepath.Join(dir, "a.sock") + "}\nstate_dir: " + filepath.Join(dir, "state") + "\n"
	if err := os.WriteFile(cfg, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := Main(context.Background(), []string{"--config", cfg}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "this node's agent does not answer") {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
	errb.Reset()
	if code := Main(context.Background(), []string{"--config", filepath.Join(dir, "none.yaml")}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "none.yaml") {
		t.Errorf("missing config: exit %d, stderr %q", code, errb.String())
	}
	if code := Main(context.Background(), []string{"--bogus"}, &out, &errb); code != 2 {
		t.Errorf("bad flag: exit %d", code)
	}
}

func TestReport(t *testing.T) {
	r := Report{Node: "a", Peer: "b", Counts: map[Verdict]int{}}
	for _, x := range []Result{{Group: "g", Name: "one", Verdict: Pass, Measured: "1 ms"}, {Group: "g", Name: "two", Verdict: Warn, Measured: "odd", Hint: "fix it"}} {
		r.Results = append(r.Results, x)
		r.Counts[x.Verdict]++
	}
	var b bytes.Buffer
	r.WriteText(&b)
	for _, want := range []string{"[PASS] one", "[WARN] two", "fix: fix it", "1 pass, 1 warn, 0 fail"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
	if r.ExitCode(false) != 0 || r.ExitCode(true) != 1 {
		t.Errorf("exit codes %d %d", r.ExitCode(false), r.ExitCode(true))
	}
	r.Counts[Fail] = 1
	if r.ExitCode(false) != 1 {
		t.Error("a failure exits 0")
	}
	// Probes without the agents say why they skip.
	for _, p := range Probes() {
		for _, res := range p.Run(context.Background(), Env{}) {
			if res.Verdict != Skip || res.Measured == "" || res.Hint == "" {
				t.Errorf("%s without agents: %+v, want a skip with reason and hint", p.Group, res)
			}
		}
	}
}

// Progress names each probe as it starts (N of M) and what it found.
func TestProgress(t *testing.T) {
	var b bytes.Buffer
	Run(context.Background(), Env{Progress: &b})
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != len(Probes()) {
		t.Fatalf("%d progress lines for %d probes:\n%s", len(lines), len(Probes()), b.String())
	}
	for i, p := range Probes() {
		if want := "] " + p.Group + " ... "; !strings.Contains(lines[i], want) || !strings.Contains(lines[i], "result(s) in") {
			t.Errorf("line %d %q, want %q and the result count", i, lines[i], want)
		}
	}
}

// Flag values that cannot work are usage errors (exit 2), named.
func TestMainBadFlagValues(t *testing.T) {
	for _, args := range [][]string{{"--test-region", "2048"}, {"--test-region", "1+0"}, {"--rounds", "-1"}} {
		var out, errb bytes.Buffer
		if code := Main(context.Background(), args, &out, &errb); code != 2 || !strings.Contains(errb.String(), args[0]) {
			t.Errorf("%v: exit %d, stderr %q", args, code, errb.String())
		}
	}
}
