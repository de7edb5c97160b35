package lab

import (
	"context"
	"errors"
	"strings"
	"testing"
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
