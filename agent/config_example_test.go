package agent

import "testing"

// TestDistConfig keeps the shipped example valid.
func TestDistConfig(t *testing.T) {
	if _, err := LoadConfig("../dist/hwagent.yaml"); err != nil {
		t.Fatal(err)
	}
}
