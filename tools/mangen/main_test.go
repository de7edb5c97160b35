package main

import (
	"context"
	"github.com/hakit/hakit/internal/testutil"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hakit/hakit/agent/cli"
)

// The man pages hold every command with its flags and examples, and
// render without warnings where groff is installed.
func TestManPages(t *testing.T) {
	dir := t.TempDir()
	if err := write(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "hwagent.1"))
	if err != nil {
		t.Fatal(err)
	}
	man := string(b)
	pages, err := cli.Pages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pages {
		if p.Name != "" && !strings.Contains(man, ".SS "+roffText("hwagent "+p.Name)+"\n") {
			t.Errorf("hwagent.1 lacks the command %q", p.Name)
		}
		for _, f := range p.Flags {
			if !strings.Contains(man, roffText(f[1:])) {
				t.Errorf("hwagent.1 lacks %s of %q", f, p.Name)
			}
		}
	}
	if !strings.Contains(man, "Examples:") || !strings.Contains(man, "Exit status:") {
		t.Errorf("hwagent.1 has no examples or exit statuses")
	}
	hc, err := os.ReadFile(filepath.Join(dir, "hwcheck.1"))
	if err != nil || !strings.Contains(string(hc), roffText("-pr-test")) {
		t.Errorf("hwcheck.1: %v", err)
	}
	testutil.SkipUnlessTools(t, "groff")
	groff, err := exec.LookPath("groff")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"hwagent.1", "hwcheck.1"} {
		out, err := exec.Command(groff, "-man", "-Tutf8", "-ww", "-z", filepath.Join(dir, f)).CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("groff %s: %v\n%s", f, err, out)
		}
	}
}
