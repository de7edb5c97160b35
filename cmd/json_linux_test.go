package cmd_test

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hakit/hakit/internal/testutil"
)

// The --json output of each command (docs/JSON.md), decoded from the
// built binaries: one object a document with schema_version 1, the
// fields each command documents, one time format, no zero times.
func TestJSONSchemaOfBuiltBinaries(t *testing.T) {
	bin, dir, cfg, sock := builtNode(t)
	startAgent(t, bin, cfg, sock)
	key := writeFile(t, dir, "hb.key", "0123456789abcdef0123456789abcdef\n", 0o600, 0)
	img := writeFile(t, dir, "sbd.img", "", 0o600, 4<<20)
	fx := "../fixtures/raid/ipssend/synthetic__getconfig-1-AL-cluster-"
	pty := openPTY(t)
	hw := func(args ...string) []string { return append([]string{"hwagent"}, args...) }
	if out, err := exec.Command(filepath.Join(bin, "hwagent"), "sbd", "-d", img, "create").CombinedOutput(); err != nil {
		t.Fatalf("sbd create: %v\n%s", err, out)
	}
	for _, tc := range []struct {
		args   []string
		fields []string // top-level fields besides schema_version
	}{
		{hw("status", "--socket", sock, "--json"), []string{"node", "peer", "fenced"}},
		{hw("disks", "--socket", sock, "--json"), []string{"disks"}},
		{hw("hb", "ports", "--json"), []string{"ports"}},
		{hw("hb", "status", "--json", "--port", pty, "--key-file", key, "--wait", "200ms"), []string{"state", "since", "last_heard", "counters"}},
		{hw("nic", "status", "lo", "--json"), []string{"name", "carrier", "operstate"}},
		{hw("nic", "inventory", "--json"), []string{"nics"}},
		{hw("raid-tool", "show", "--vendor", "ipssend", "--file", fx+"A.txt", "--json"), []string{"tool", "controllers"}},
		{hw("raid-tool", "validate", "--file-a", fx+"A.txt", "--file-b", fx+"B.txt", "--json"), []string{"node_a", "node_b"}},
		{hw("sbd", "-d", img, "dump", "--json"), nil},
		{hw("sbd", "-d", img, "list", "--json"), []string{"slots"}},
		{[]string{"hwcheck", "--config", cfg, "--json"}, []string{"results"}},
	} {
		name := strings.Join(tc.args, " ")
		cmd := exec.Command(filepath.Join(bin, tc.args[0]), tc.args[1:]...)
		var stdout bytes.Buffer
		cmd.Stdout = &stdout
		_ = cmd.Run() // some exit non-zero by design (no peer, warnings): the JSON is still printed
		var doc map[string]any
		if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
			t.Errorf("%s: not one JSON object: %v\n%s", name, err, stdout.String())
			continue
		}
		if doc["schema_version"] != 1.0 {
			t.Errorf("%s: schema_version %v, want 1", name, doc["schema_version"])
		}
		for _, f := range tc.fields {
			if _, ok := doc[f]; !ok {
				t.Errorf("%s: no %q field:\n%s", name, f, stdout.String())
			}
		}
		testutil.CheckJSONValues(t, name, doc)
	}

	// A stream: one object a line, each with its schema_version.
	ev := exec.Command(filepath.Join(bin, "hwagent"), "events", "--socket", sock, "--since", "0", "--json")
	var stdout bytes.Buffer
	ev.Stdout = &stdout
	if err := ev.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	ev.Process.Kill()
	ev.Wait()
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	for _, l := range lines {
		var e map[string]any
		if err := json.Unmarshal([]byte(l), &e); err != nil || e["schema_version"] != 1.0 || e["seq"] == nil || e["time"] == nil {
			t.Errorf("events --json line %q: %v", l, err)
			continue
		}
		testutil.CheckJSONValues(t, "events", e)
	}
	if len(lines) == 0 || lines[0] == "" {
		t.Errorf("events --json printed nothing")
	}
}
