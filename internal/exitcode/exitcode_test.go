package exitcode

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/EXIT-CODES.md")

// docs/EXIT-CODES.md is the table as generated.
func TestMarkdownIsCurrent(t *testing.T) {
	const path = "../../docs/EXIT-CODES.md"
	want := Markdown()
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("%s is not the generated table: run go test ./internal/exitcode -update", path)
	}
}

// Each row's codes are distinct and ascending, and For finds every name.
func TestTable(t *testing.T) {
	for _, c := range Table() {
		for i := 1; i < len(c.Codes); i++ {
			if c.Codes[i].Code <= c.Codes[i-1].Code {
				t.Errorf("%s: codes not ascending at %d", c.Name, c.Codes[i].Code)
			}
		}
	}
	for _, name := range append([]string{"hwagent", "hwagent disk", "hwcheck", "fence_hwagent", "hakit-disk", "hakit-health"}, prefixed(ClientCommands())...) {
		if _, ok := For(name); !ok {
			t.Errorf("For(%q) finds no row", name)
		}
		if h := Help(name); !strings.HasPrefix(h, "Exit status:\n") {
			t.Errorf("Help(%q) = %q", name, h)
		}
	}
}

func prefixed(subs []string) []string {
	var out []string
	for _, s := range subs {
		out = append(out, "hwagent "+s)
	}
	return out
}
