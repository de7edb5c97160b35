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
