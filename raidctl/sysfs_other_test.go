//go:build !linux

package raidctl

import (
	"errors"
	"runtime"
	"strings"
	"testing"
)

func TestSysfsMDUnsupported(t *testing.T) {
	_, err := SysfsMD{}.Read(t.Context())
	if !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), runtime.GOOS) {
		t.Fatalf("error = %v, want ErrUnsupported naming %s", err, runtime.GOOS)
	}
}
