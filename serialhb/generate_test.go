package serialhb

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The stringer output checked in (link_string.go) is what link.go's
// //go:generate line writes now: run it into a temporary file and compare
// (the first line quotes the command, with its own -output).
func TestGeneratedStringsUpToDate(t *testing.T) {
	src, err := os.ReadFile("link.go")
	if err != nil {
		t.Fatal(err)
	}
	var args []string
	for _, line := range strings.Split(string(src), "\n") {
		if cmd, ok := strings.CutPrefix(line, "//go:generate go "); ok {
			args = strings.Fields(cmd)
		}
	}
	if len(args) == 0 {
		t.Fatal("link.go has no //go:generate line")
	}
	out := filepath.Join(t.TempDir(), "link_string.go")
	checkedIn := ""
	for i, a := range args {
		if f, ok := strings.CutPrefix(a, "-output="); ok {
			checkedIn, args[i] = f, "-output="+out
		}
	}
	if b, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	body := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		_, rest, _ := strings.Cut(string(b), "\n")
		return rest
	}
	if body(out) != body(checkedIn) {
		t.Errorf("%s is stale: run go generate ./serialhb", checkedIn)
	}
}
