// Package version says which build of hakit a binary is: the commit it
// was built from (runtime/debug.ReadBuildInfo's vcs.revision), for
// every command's --version.
package version

import (
	"runtime/debug"
)

// linked is the commit set at link time (-ldflags "-X
// github.com/hakit/hakit/internal/version.linked=REV", as `make build`
// does), for builds where the toolchain stamps none (a git worktree,
// -buildvcs=false). vcs.revision wins when both are present.
var linked string

// String is the --version line of prog: "prog (hakit) commit REV", with
// "+dirty" when the tree had uncommitted changes, and the Go version;
// the commit is "unknown" when the build carries none (go run, a build
// outside the repository, -buildvcs=false).
func String(prog string) string {
	bi, ok := debug.ReadBuildInfo()
	return format(prog, bi, ok)
}

// Commit is the build's commit, "unknown" when absent.
func Commit() string {
	bi, ok := debug.ReadBuildInfo()
	return commit(bi, ok)
}

func commit(bi *debug.BuildInfo, ok bool) string {
	rev, dirty := "", false
	if !ok || bi == nil {
		bi = &debug.BuildInfo{}
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		rev = linked
	}
	if rev == "" {
		return "unknown"
	}
	if dirty {
		rev += "+dirty"
	}
	return rev
}

func format(prog string, bi *debug.BuildInfo, ok bool) string {
	goVersion := "unknown"
	if ok && bi != nil && bi.GoVersion != "" {
		goVersion = bi.GoVersion
	}
	return prog + " (hakit) commit " + commit(bi, ok) + " " + goVersion
}
