// Package testutil holds the skip helpers shared by hakit's tests.
//
// A test that needs root or an external tool calls one of these helpers. On a
// developer machine a missing prerequisite skips the test with a reason; when
// the environment variable CI is set, the same condition fails the test,
// because CI installs everything and a skip there would hide a gap.
package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// InCI reports whether the tests run under CI (the CI environment variable is
// set to a non-empty value other than "false" or "0").
func InCI() bool {
	v := strings.ToLower(strings.TrimSpace(os.Getenv("CI")))
	return v != "" && v != "false" && v != "0"
}

// Unavailable skips t with reason, or fails it under CI.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	reason := fmt.Sprintf(format, args...)
	if InCI() {
		t.Fatalf("prerequisite missing under CI (CI=%s): %s", os.Getenv("CI"), reason)
	}
	t.Skipf("skipped: %s", reason)
}

// SkipUnlessRoot skips (or fails under CI) when the process is not root.
func SkipUnlessRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Unavailable(t, "needs root (euid is %d); run the tests as root, e.g. sudo make test", os.Geteuid())
	}
}

// MissingTools returns the names in tools that are not on PATH.
func MissingTools(tools ...string) []string {
	var missing []string
	for _, name := range tools {
		if _, err := exec.LookPath(name); err != nil {
			missing = append(missing, name)
		}
	}
	return missing
}

// SkipUnlessTools skips (or fails under CI) when any of tools is not on PATH.
func SkipUnlessTools(t testing.TB, tools ...string) {
	t.Helper()
	if missing := MissingTools(tools...); len(missing) > 0 {
		Unavailable(t, "needs %s on PATH (make deps installs them)", strings.Join(missing, ", "))
	}
}

// SkipUnlessDevice skips (or fails under CI) when path does not exist.
func SkipUnlessDevice(t testing.TB, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		Unavailable(t, "needs device %s: %v", path, err)
	}
}
