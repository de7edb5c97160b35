package version

import (
	"runtime/debug"
	"testing"
)

func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		bi   *debug.BuildInfo
		ok   bool
		want string
	}{
		{nil, false, "hwagent (hakit) commit unknown unknown"},
		{&debug.BuildInfo{GoVersion: "go1.26.0"}, true, "hwagent (hakit) commit unknown go1.26.0"},
		{&debug.BuildInfo{GoVersion: "go1.26.0", Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}}}, true, "hwagent (hakit) commit abc123 go1.26.0"},
		{&debug.BuildInfo{GoVersion: "go1.26.0", Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.modified", Value: "true"}}}, true, "hwagent (hakit) commit abc123+dirty go1.26.0"},
	} {
		if got := format("hwagent", tc.bi, tc.ok); got != tc.want {
			t.Errorf("format = %q, want %q", got, tc.want)
		}
	}
}
