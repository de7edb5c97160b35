package scsi_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/hakit/hakit/scsi"
	"github.com/hakit/hakit/scsi/scsitest"
)

// An Owner names its device on every line, once: the caller's logger
// carries the part or node, not the device again.
func TestOwnerLogsDeviceOnce(t *testing.T) {
	ctx := ctxT(t)
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})).With("node", "a")
	lun := scsitest.New(scsitest.Config{})
	a, b := lun.Connect("iqn.2026-11.io.hakit:a", "23d000000001"), lun.Connect("iqn.2026-11.io.hakit:b", "23d000000002")
	oa, err := scsi.NewOwner(scsi.OwnerConfig{Transport: a, Name: "iscsi://127.0.0.1/iqn.x/0", Key: keyA, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ob, err := scsi.NewOwner(scsi.OwnerConfig{Transport: b, Name: "lun-b", Key: keyB})
	if err != nil {
		t.Fatal(err)
	}
	chk(oa.Register(ctx))(t)
	chk(ob.Register(ctx))(t)
	chk(ob.Acquire(ctx))(t)
	if _, err := oa.Fence(ctx, keyB); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) < 2 {
		t.Fatalf("too few log lines:\n%s", buf.String())
	}
	for _, l := range lines {
		if n := strings.Count(l, " device="); n != 1 || !strings.Contains(l, " device=iscsi://127.0.0.1/iqn.x/0") {
			t.Errorf("device= %d times, want once with the owner's name: %s", n, l)
		}
	}
}
