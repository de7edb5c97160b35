package cli

import (
	"context"
	"github.com/hakit/hakit/internal/testutil"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hakit/hakit/internal/exitcode"
)

// Every command's --help goes to stdout with exit 0, has an Examples
// section (the field tools' overviews list commands instead) and lists
// flags; hwagent's own commands print their exit statuses from the table.
func TestPages(t *testing.T) {
	pages, err := Pages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	overview := map[string]bool{"": true, "disk": true, "hb": true, "nic": true, "raid-tool": true}
	seen := map[string]bool{}
	for _, p := range pages {
		seen[p.Name] = true
		if overview[p.Name] {
			continue
		}
		if !strings.Contains(p.Help, "Examples:\n") {
			t.Errorf("hwagent %s --help has no Examples section", p.Name)
		}
		if len(p.Flags) == 0 && p.Name != "compare" { // compare takes only its two files
			t.Errorf("hwagent %s --help lists no flag", p.Name)
		}
		h := exitcode.Help("hwagent " + p.Name)
		if h == "" {
			h = exitcode.Help("hwagent " + strings.Fields(p.Name)[0])
		}
		if h == "" || !strings.Contains(p.Help, h) {
			t.Errorf("hwagent %s --help lacks its exit statuses:\n%s", p.Name, h)
		}
	}
	for _, n := range []string{"status", "fence", "disk keys", "hb cabletest", "nic probe", "raid-tool validate", "sbd"} {
		if !seen[n] {
			t.Errorf("no page for %s", n)
		}
	}
}

// The bash completion completes commands, subcommands and each command's
// own flags.
func TestBashCompletion(t *testing.T) {
	testutil.SkipUnlessTools(t, "bash")
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := Run(context.Background(), []string{"completion", "bash"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(t.TempDir(), "hwagent.bash")
	if err := os.WriteFile(script, []byte(out.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	for words, want := range map[string]string{
		"hwagent sta":              "status",
		"hwagent disk ide":         "identify",
		"hwagent disk keys --js":   "--json",
		"hwagent nic probe --if":   "--iface",
		"hwagent status --soc":     "--socket",
		"hwagent hb cabletest --c": "--count",
		"hwagent comp":             "completion",
	} {
		w := strings.Fields(words)
		cmd := exec.Command(bash, "-c", `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($#-1)); _hwagent; echo "${COMPREPLY[*]}"`, "bash", script)
		cmd.Args = append(cmd.Args, w...)
		got, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(" "+strings.TrimSpace(string(got))+" ", " "+want+" ") {
			t.Errorf("%q: %v %q, want %s among the completions", words, err, got, want)
		}
	}
	if _, _, err := run("completion", "zsh"); ExitCode(err) != exitcode.Usage {
		t.Errorf("completion zsh: %v", err)
	}
}
