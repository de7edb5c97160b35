package agent

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/hakit/hakit/raidctl"
)

// TestDistConfig keeps the shipped example valid.
func TestDistConfig(t *testing.T) {
	if _, err := LoadConfig("../dist/hwagent.yaml"); err != nil {
		t.Fatal(err)
	}
}

// The example configurations' comment on the RAID tool lists exactly the
// names raidctl's tool table accepts, in its order.
func TestDistConfigRAIDToolNames(t *testing.T) {
	names := raidctl.ConfigToolNames()
	want := strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
	re := regexp.MustCompile(`(?m)tool: \w+\}?\s+# (.*)$`)
	for _, f := range []string{"../dist/hwagent.yaml", "../dist/examples/enclosure-sgio.yaml"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m := re.FindSubmatch(data)
		if m == nil {
			t.Errorf("%s: no comment after the RAID tool", f)
			continue
		}
		if got := string(m[1]); got != want {
			t.Errorf("%s: RAID tool comment %q, want %q", f, got, want)
		}
	}
}
