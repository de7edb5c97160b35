package rig

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/hakit/hakit/internal/testutil"
)

// TestLogger logs through t's output.
func TestLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// DiskFor starts a disk for a test: it skips (fails under CI) without root or
// tgt, and stops tgtd and removes the files when the test ends.
func DiskFor(t testing.TB, cfg DiskConfig) *Disk {
	t.Helper()
	testutil.SkipUnlessRoot(t)
	testutil.SkipUnlessTools(t, "tgtd", "tgtadm")
	if cfg.Logger == nil {
		cfg.Logger = TestLogger(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := StartDisk(ctx, cfg)
	if err != nil {
		t.Fatalf("rig disk: %v", err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("rig disk close: %v", err)
		}
	})
	return d
}

// CableFor makes a serial cable for a test and closes it when the test ends.
func CableFor(t testing.TB, cfg CableConfig) *Cable {
	t.Helper()
	testutil.SkipUnlessDevice(t, "/dev/ptmx")
	if cfg.Logger == nil {
		cfg.Logger = TestLogger(t)
	}
	c, err := NewCable(cfg)
	if err != nil {
		t.Fatalf("rig cable: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("rig cable close: %v", err)
		}
	})
	return c
}

// NetFor makes the two-namespace link for a test: it skips (fails under CI)
// without root or ip, and deletes the namespaces when the test ends.
func NetFor(t testing.TB, cfg NetConfig) *Net {
	t.Helper()
	testutil.SkipUnlessRoot(t)
	testutil.SkipUnlessTools(t, "ip")
	if cfg.Logger == nil {
		cfg.Logger = TestLogger(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nw, err := NewNet(ctx, cfg)
	if err != nil {
		t.Fatalf("rig net: %v", err)
	}
	t.Cleanup(func() {
		if err := nw.Close(); err != nil {
			t.Errorf("rig net close: %v", err)
		}
	})
	return nw
}
