package cmd_test

import (
	"os/exec"
	"strings"
	"testing"
)

// No production binary (every main under cmd/) links test code: the
// testing package, the rig or the test helpers.
func TestBinariesLinkNoTestCode(t *testing.T) {
	bins, err := exec.Command("go", "list", "-f", "{{if eq .Name \"main\"}}{{.ImportPath}}{{end}}", "./...").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, bin := range strings.Fields(string(bins)) {
		deps, err := exec.Command("go", "list", "-deps", bin).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", bin, err)
		}
		for _, d := range strings.Fields(string(deps)) {
			if d == "testing" || strings.Contains(d, "/internal/rig") || strings.Contains(d, "/internal/testutil") {
				t.Errorf("%s links %s", bin, d)
			}
		}
	}
}

// The library packages (everything but cmd/, tools/ and internal/) import
// no test code and nothing from tools/, so that the layers of
// docs/ARCHITECTURE.md hold: a production binary can link any of them.
func TestLibrariesImportNoTestCode(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Deps \" \"}}", "../...").Output()
	if err != nil {
		t.Fatal(err)
	}
	const mod = "github.com/hakit/hakit/"
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg := strings.TrimPrefix(f[0], mod)
		if strings.HasPrefix(pkg, "cmd") || strings.HasPrefix(pkg, "tools/") || strings.HasPrefix(pkg, "internal/") || strings.HasSuffix(pkg, "test") {
			continue // mains, tools, the rig and helpers; scsitest-style doubles are test-only by name
		}
		checked++
		for _, d := range f[1:] {
			if d == "testing" || strings.HasPrefix(d, mod+"internal/rig") || strings.HasPrefix(d, mod+"internal/testutil") || strings.HasPrefix(d, mod+"tools/") {
				t.Errorf("%s imports %s", pkg, d)
			}
		}
	}
	if checked < 15 {
		t.Errorf("only %d library packages checked: the listing is wrong", checked)
	}
}
