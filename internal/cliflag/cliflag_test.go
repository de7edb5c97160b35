package cliflag

import (
	"flag"
	"io"
	"slices"
	"testing"
)

func TestParseInterleaved(t *testing.T) {
	for _, tt := range []struct {
		args []string
		pos  []string
		v    bool
	}{
		{[]string{"-v", "a", "b"}, []string{"a", "b"}, true},
		{[]string{"a", "-v", "b"}, []string{"a", "b"}, true},
		{[]string{"a", "b", "-v"}, []string{"a", "b"}, true},
		{[]string{"a", "--", "-v", "b"}, []string{"a", "-v", "b"}, false},
		{[]string{"--", "-v"}, []string{"-v"}, false},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		v := fs.Bool("v", false, "")
		pos, err := ParseInterleaved(fs, tt.args)
		if err != nil || !slices.Equal(pos, tt.pos) || *v != tt.v {
			t.Errorf("%q: %q, -v %v, %v; want %q, -v %v", tt.args, pos, *v, err, tt.pos, tt.v)
		}
	}
}

func TestSuggest(t *testing.T) {
	known := []string{"key_file", "port", "baud", "realtime_priority", "status", "cabletest"}
	for word, want := range map[string]string{
		"keyfile": "key_file", "key_flie": "key_file", "prot": "port", "stauts": "status",
		"cabeltest": "cabletest", "xyz": "", "port": "", "bd": "", "realtime": "",
	} {
		if got := Suggest(word, known); got != want {
			t.Errorf("Suggest(%q) = %q, want %q", word, got, want)
		}
	}
	if got := DidYouMean("prot", known); got != ` (did you mean "port"?)` {
		t.Errorf("DidYouMean = %q", got)
	}
}

func TestCommandHint(t *testing.T) {
	known := []string{"status", "disks"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--socket", "/x", "status"}, ` (flags go after the command: hwagent status --socket /x)`},
		{[]string{"--json", "disks", "--timeout", "5s"}, ` (flags go after the command: hwagent disks --json --timeout 5s)`},
		{[]string{"stauts"}, ` (did you mean "status"?)`},
		{[]string{"--socket", "/x"}, ""},
		{nil, ""},
	} {
		if got := CommandHint("hwagent", tc.args, known); got != tc.want {
			t.Errorf("%q: %q, want %q", tc.args, got, tc.want)
		}
	}
}
