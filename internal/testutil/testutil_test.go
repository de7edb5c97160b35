package testutil

import "testing"

func TestInCI(t *testing.T) {
	for v, want := range map[string]bool{"": false, "true": true, "1": true, "false": false, "0": false, "FALSE": false, "yes": true} {
		t.Setenv("CI", v)
		if got := InCI(); got != want {
			t.Errorf("CI=%q: InCI() = %v, want %v", v, got, want)
		}
	}
}

func TestMissingTools(t *testing.T) {
	got := MissingTools("sh", "hakit-no-such-tool")
	if len(got) != 1 || got[0] != "hakit-no-such-tool" {
		t.Errorf("MissingTools = %v", got)
	}
}
