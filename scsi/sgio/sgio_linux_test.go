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
