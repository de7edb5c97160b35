package hw

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hakit/hakit/internal/testutil"
	"github.com/hakit/hakit/scsi"
	"github.com/hakit/hakit/scsi/scsitest"
)

func testOwner(t *testing.T, lun *scsitest.LUN, name string, key scsi.Key) *scsi.Owner {
	t.Helper()
	o, err := scsi.NewOwner(scsi.OwnerConfig{Transport: lun.Connect("iqn.2026-11.io.hakit:"+name, ""), Name: name, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// A peer key already gone is an idempotent success only while a
// reservation keeps the unregistered peer from writing.
func TestFencePeerAlreadyGone(t *testing.T) {
	const keyA, keyB = scsi.Key(0x686b000000000001), scsi.Key(0x686b000000000002)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	log := testutil.Logger(t, slog.LevelInfo)

	t.Run("no reservation", func(t *testing.T) {
		lun := scsitest.New(scsitest.Config{})
		a := testOwner(t, lun, "a", keyA)
		if _, err := a.Register(ctx); err != nil {
			t.Fatal(err)
		}
		_, err := fencePeer(ctx, a, keyB, log)
		if err == nil || !strings.Contains(err.Error(), "no reservation") {
			t.Fatalf("fence of an unregistered peer with no reservation = %v, want an error", err)
		}
	})
	t.Run("reserved", func(t *testing.T) {
		lun := scsitest.New(scsitest.Config{})
		a, b := testOwner(t, lun, "a", keyA), testOwner(t, lun, "b", keyB)
		for _, o := range []*scsi.Owner{a, b} {
			if _, err := o.Register(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := fencePeer(ctx, a, keyB, log); err != nil {
			t.Fatalf("first fence: %v", err)
		}
		if _, err := fencePeer(ctx, a, keyB, log); err != nil {
			t.Fatalf("second fence (key already gone, reservation held): %v", err)
		}
	})
}
