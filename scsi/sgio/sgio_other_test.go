//go:build !linux

package sgio

import (
	"errors"
	"runtime"
	"strings"
	"testing"
)

func TestOpenUnsupported(t *testing.T) {
	_, err := Open("/dev/sg1")
	if !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), runtime.GOOS) {
		t.Errorf("Open: %v, want ErrUnsupported naming %s", err, runtime.GOOS)
	}
}
