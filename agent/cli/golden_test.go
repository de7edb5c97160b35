package cli

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files of testdata/ from this run")

// The text output of the commands an operator reads, one run against an
// agent on an in-memory LUN with a registered peer, compared whole with
// testdata/commands.golden (go test -run TestCommandTextGolden -update
// rewrites it; review the diff). Only what changes from run to run is
// replaced: temporary paths, times, the pid, the uptime and the event
// count.
func TestCommandTextGolden(t *testing.T) {
	sock, cfgPath := startAgent(t)
	dir := filepath.Dir(sock)
	var b strings.Builder
	for _, args := range [][]string{
		{"status"},
		{"disks"},
		{"heartbeat"},
		{"heartbeat", "-v"},
		{"cabletest"},
		{"register"},
		{"acquire"},
		{"status"},
		{"fence", "b"},
		{"disks"},
		{"release"},
		{"release"},
		{"check-config", "--config", cfgPath},
	} {
		full := args
		if args[0] != "check-config" {
			full = append(append([]string{}, args...), "--socket", sock)
		}
		out, errOut, err := run(full...)
		b.WriteString("$ hwagent " + strings.Join(args, " ") + "\n" + out)
		if errOut != "" {
			b.WriteString("[stderr] " + errOut)
		}
		if err != nil {
			b.WriteString("[error] " + err.Error() + "\n")
		}
		b.WriteString("\n")
	}
	got := strings.ReplaceAll(b.String(), dir, "DIR")
	for _, r := range []struct{ re, to string }{
		{`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z`, "TIME"},
		{`pid \d+, up [0-9a-z.]+`, "pid PID, up UPTIME"},
		{`events     \d+ so far`, "events     N so far"},
	} {
		got = regexp.MustCompile(r.re).ReplaceAllString(got, r.to)
	}
	compareGolden(t, "commands.golden", got)
}

// compareGolden compares got with testdata/name, which -update rewrites
// first.
func compareGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *updateGolden {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -run %s -update writes it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("command output differs from %s (rerun with -update and review the diff):\n%s", path, got)
	}
}
