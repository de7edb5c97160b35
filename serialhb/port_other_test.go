//go:build !linux

package serialhb_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/hakit/hakit/serialhb"
)

func TestUnsupportedOS(t *testing.T) {
	_, err := serialhb.Open(context.Background(), "/dev/ttyS0", serialhb.PortConfig{})
	if !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), runtime.GOOS) {
		t.Errorf("Open: %v", err)
	}
	if _, err := serialhb.ListPorts(); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("ListPorts: %v", err)
	}
}
