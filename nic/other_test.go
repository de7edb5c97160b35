//go:build !linux

package nic

import (
	"context"
	"errors"
	"net/netip"
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
	if _, err := Probe(ctx, ProbeConfig{}, "eth0", netip.MustParseAddr("127.0.0.1")); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Probe = %v, want ErrUnsupported", err)
	}
	if _, err := Inventory(ctx, InventoryConfig{}); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Inventory = %v, want ErrUnsupported", err)
	}
}
