package hw

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/scsi/sgio"
)

func TestNewDiskDevicePaths(t *testing.T) {
	if _, err := NewDisk(agent.DiskConfig{Device: "sdb"}, 1, 2, "", nil); err == nil {
		t.Error("a bare name was accepted as a disk")
	}
	if _, err := NewDisk(agent.DiskConfig{Device: "iscsi://"}, 1, 2, "", nil); err == nil {
		t.Error("a malformed iscsi URL was accepted")
	}
	// A /dev path goes through SG_IO: a regular file is refused with a
	// clear error on first use, never mistaken for a disk.
	file := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(file, make([]byte, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := NewDisk(agent.DiskConfig{Device: "/dev/../" + file}, 1, 2, "", nil)
	if err != nil {
		t.Fatalf("NewDisk(/dev path): %v", err)
	}
	defer d.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := d.Owner(ctx); !errors.Is(err, sgio.ErrNotSCSI) {
		t.Errorf("Owner on a regular file: %v, want sgio.ErrNotSCSI", err)
	}
	if _, err := d.Status(ctx); err == nil {
		t.Error("Status on a regular file succeeded")
	}
}

// A scsi2 disk on a /dev path goes through SG_IO too: a regular file is
// refused on first use.
func TestSCSI2DiskDevicePaths(t *testing.T) {
	if _, err := NewSCSI2Disk(agent.DiskConfig{Device: "sdb", Mode: agent.ModeSCSI2}, nil); err == nil {
		t.Error("a bare name was accepted as a disk")
	}
	file := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(file, make([]byte, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := NewSCSI2Disk(agent.DiskConfig{Device: "/dev/../" + file, Mode: agent.ModeSCSI2, SCSI2PeriodMS: 200}, nil)
	if err != nil {
		t.Fatalf("NewSCSI2Disk(/dev path): %v", err)
	}
	defer d.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.Acquire(ctx); !errors.Is(err, sgio.ErrNotSCSI) {
		t.Errorf("Acquire on a regular file: %v, want sgio.ErrNotSCSI", err)
	}
	if _, err := d.Status(ctx); err == nil {
		t.Error("Status on a regular file succeeded")
	}
}
