//go:build !linux

package nic

import (
	"context"
	"errors"
	"testing"
)

func TestUnsupported(t *testing.T) {
	ctx := context.Background()
	if _, err := ReadStatus(ctx, Config{}, "eth0"); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("ReadStatus = %v, want ErrUnsupported", err)
	}
	if _, err := Watch(ctx, WatchConfig{}); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Watch = %v, want ErrUnsupported", err)
	}
}
