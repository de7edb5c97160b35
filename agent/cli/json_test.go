package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/hakit/hakit/scsi"
	"github.com/hakit/hakit/scsi/diskcli"
	"github.com/hakit/hakit/scsi/scsitest"
)

// One disk, read by `hwagent disk status --json` (no agent) and by the
// agent's `hwagent disks --json`, uses the same names for the same facts
// (docs/JSON.md): own_key, registered, holder (the reservation key in
// hex), type, owner (this node holds the reservation), keys, generation.
func TestDiskJSONNamesAgree(t *testing.T) {
	lun := scsitest.New(scsitest.Config{})
	nx := lun.Connect("iqn.2026-11.io.hakit.test:a", "")
	r := diskcli.Runner{Open: func(ctx context.Context, device string, o diskcli.OpenOptions) (scsi.Transport, io.Closer, error) {
		return nx, io.NopCloser(nil), nil
	}}
	disk := func(args ...string) map[string]any {
		var out, errb bytes.Buffer
		if err := r.Run(context.Background(), args, &out, &errb); err != nil {
			t.Fatalf("disk %v: %v\n%s", args, err, errb.String())
		}
		var m map[string]any
		if err := json.Unmarshal(out.Bytes(), &m); err != nil {
			t.Fatalf("disk %v: %v\n%s", args, err, out.String())
		}
		return m
	}
	disk("register", "fake://a", "--cluster", "7", "--node", "1", "--json")
	disk("reserve", "fake://a", "--cluster", "7", "--node", "1", "--json")
	field := disk("status", "fake://a", "--cluster", "7", "--node", "1", "--json")

	sock, _ := startAgent(t)
	for _, a := range []string{"register", "acquire"} {
		if _, _, err := run(a, "--socket", sock); err != nil {
			t.Fatal(err)
		}
	}
	out, _, err := run("disks", "--socket", sock, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Version int              `json:"schema_version"`
		Disks   []map[string]any `json:"disks"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || doc.Version != 1 || len(doc.Disks) != 1 {
		t.Fatalf("disks --json: %v\n%s", err, out)
	}
	agentDisk := doc.Disks[0]
	hexKey := regexp.MustCompile(`^0x[0-9a-f]+$`)
	for name, m := range map[string]map[string]any{"disk status": field, "agent disks": agentDisk} {
		for _, k := range []string{"device", "own_key", "registered", "holder", "type", "owner", "keys", "generation"} {
			if _, ok := m[k]; !ok {
				t.Errorf("%s --json lacks %q: %v", name, k, m)
			}
		}
		if h, _ := m["holder"].(string); !hexKey.MatchString(h) || h != m["own_key"] {
			t.Errorf("%s: holder %v, want this node's key %v in hex", name, m["holder"], m["own_key"])
		}
		if m["owner"] != true || m["registered"] != true {
			t.Errorf("%s: owner %v registered %v, want both true", name, m["owner"], m["registered"])
		}
		if typ, _ := m["type"].(string); !strings.HasPrefix(typ, "Write Exclusive") {
			t.Errorf("%s: type %q", name, typ)
		}
	}
}
