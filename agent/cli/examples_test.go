package cli

import (
	"os"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/hakit/hakit/agent"
)

// The example configurations under dist/ pass check-config's parser, and
// every key the agent knows is shown in one of them.
func TestExampleConfigsShowEveryKey(t *testing.T) {
	files := []string{"../../dist/hwagent.yaml", "../../dist/examples/enclosure-sgio.yaml", "../../dist/examples/iscsi.yaml", "../../dist/examples/four-nodes.yaml"}
	shown := map[string]bool{}
	for _, f := range files {
		if out, _, err := run("check-config", "--parse-only", "--config", f); err != nil || !strings.Contains(out, ": ok: ") {
			t.Errorf("check-config %s: %v %q", f, err, out)
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var root yaml.Node
		if err := yaml.Unmarshal(b, &root); err != nil {
			t.Fatal(err)
		}
		collectKeys(root.Content[0], "", shown)
	}
	for _, k := range agent.ConfigKeys() {
		if !shown[k] {
			t.Errorf("no example configuration shows %s", k)
		}
	}
}

// collectKeys adds the dotted path of every key under n ("disks[].mode").
func collectKeys(n *yaml.Node, prefix string, into map[string]bool) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			path := prefix + n.Content[i].Value
			into[path] = true
			collectKeys(n.Content[i+1], path+".", into)
		}
	case yaml.SequenceNode:
		for _, e := range n.Content {
			collectKeys(e, strings.TrimSuffix(prefix, ".")+"[].", into)
		}
	}
}
