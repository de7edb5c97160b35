package rigdemo

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hakit/hakit/internal/rig"
)

func TestIntegrationRunDemo(t *testing.T) {
	const a, b = "iqn.2026-11.io.hakit:node-a", "iqn.2026-11.io.hakit:node-b"
	r := Rig{
		Disk:  rig.DiskFor(t, rig.DiskConfig{Initiators: []string{a, b}}),
		Cable: rig.CableFor(t, rig.CableConfig{}),
		Net:   rig.NetFor(t, rig.NetConfig{}),
		IQNA:  a, IQNB: b,
		RAIDTool:  "ipssend",
		RAIDFiles: [2]string{"../../../fixtures/raid/ipssend/synthetic__getconfig-1-AL-cluster-A.txt", "../../../fixtures/raid/ipssend/synthetic__getconfig-1-AL-cluster-B.txt"},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := RunDemo(ctx, &out, r, slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Logf("demo output:\n%s", out.String())
	for _, want := range []string{"== hwcheck", "0 fail", "heartbeat dead", "nic       link-down", "Success: Powered OFF", "guard     fenced", "node-a registered: false"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
}
