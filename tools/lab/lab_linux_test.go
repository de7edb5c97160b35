package lab

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hakit/hakit/internal/testutil"
)

func TestMissingQEMUSaysHow(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := ensureQEMU(context.Background(), false, nil)
	if !errors.Is(err, ErrMissing) {
		t.Fatalf("err %v, want ErrMissing", err)
	}
	if !strings.Contains(err.Error(), "apt-get install --no-install-recommends qemu-system-x86 qemu-utils qemu-block-extra") {
		t.Errorf("message %q does not say how to install QEMU", err)
	}
}

func TestStartWithoutParts(t *testing.T) {
	if _, err := Start(context.Background(), Config{}); !errors.Is(err, ErrMissing) {
		t.Errorf("Start without parts: err %v, want ErrMissing", err)
	}
}

// TestIntegrationLab boots two nodes and runs a command on each. It boots
// VMs (about a minute, more with a cold cache), so it runs only with
// HAKIT_LAB=1; make lab runs the full scenarios through cmd/lab instead.
func TestIntegrationLab(t *testing.T) {
	if os.Getenv("HAKIT_LAB") != "1" {
		t.Skip("skipped: boots QEMU VMs; set HAKIT_LAB=1 (or run make lab)")
	}
	testutil.SkipUnlessRoot(t)
	testutil.SkipUnlessTools(t, "tgtd", "tgtadm", "apt-get", "dpkg-deb", "xz")
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	parts, err := Prepare(ctx, PartsConfig{RepoDir: "../..", Install: true, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	l, err := Start(ctx, Config{Parts: parts, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := l.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	}()
	for _, n := range l.Nodes() {
		r, err := n.Run(ctx, "cat", "/proc/cmdline")
		if err != nil {
			t.Fatal(err)
		}
		if r.Code != 0 || !strings.Contains(r.Stdout, "lab.name="+n.Name()) {
			t.Errorf("node %s: %+v", n.Name(), r)
		}
		r, err = n.Run(ctx, "hakit", "no-such-tool")
		if err != nil || r.Code != 2 {
			t.Errorf("node %s: unknown tool: %+v, %v (want exit 2)", n.Name(), r, err)
		}
	}
}
