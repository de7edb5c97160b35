package sgio

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hakit/hakit/scsi"
)

func TestOpenRejects(t *testing.T) {
	file := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(file, make([]byte, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(file); !errors.Is(err, ErrNotSCSI) {
		t.Errorf("regular file: %v, want ErrNotSCSI", err)
	}
	if _, err := Open("/dev/null"); !errors.Is(err, ErrNotSCSI) {
		t.Errorf("/dev/null: %v, want ErrNotSCSI", err)
	}
	if _, err := Open(filepath.Join(t.TempDir(), "sg99")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing device: %v, want not exist", err)
	}
}

func TestExecuteNeedsDeadline(t *testing.T) {
	d := &Device{path: "/dev/sg-test", fd: -1}
	if _, err := d.Execute(context.Background(), scsi.TestUnitReady()); err == nil || !strings.Contains(err.Error(), "deadline is required") {
		t.Errorf("no deadline: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := d.Execute(ctx, scsi.TestUnitReady()); !errors.Is(err, os.ErrClosed) {
		t.Errorf("closed device: %v", err)
	}
	if err := d.Reset(ctx, scsi.ResetLUN); !errors.Is(err, os.ErrClosed) {
		t.Errorf("closed device reset: %v", err)
	}
}

// TestIntegrationSGIO identifies a real SCSI device named by
// HAKIT_SGIO_DEVICE (e.g. /dev/sg1) and reads its keys; it only reads.
func TestIntegrationSGIO(t *testing.T) {
	path := os.Getenv("HAKIT_SGIO_DEVICE")
	if path == "" {
		t.Skip("skipped: set HAKIT_SGIO_DEVICE=/dev/sgN (or /dev/sdX) to identify a real SCSI device (read-only)")
	}
	d, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dev := &scsi.Device{Transport: d, Name: path, UnitAttentionRetries: 4}
	id, err := dev.Identify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %s %s, id %s (%s)", path, id.Vendor, id.Product, id.ID, id.Source)
	c, err := dev.ReadCapacity(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("capacity %d blocks of %d bytes", c.Blocks(), c.BlockSize)
	if k, err := dev.ReadKeys(ctx); err != nil {
		t.Logf("READ KEYS: %v", err)
	} else {
		t.Logf("keys %v", k.Keys)
	}
}
