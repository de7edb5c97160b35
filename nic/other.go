//go:build !linux

package nic

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
)

func unsupported(op string) error {
	return &OpError{Op: op, Err: fmt.Errorf("%w: nic needs Linux (netlink), not %s/%s", errors.ErrUnsupported, runtime.GOOS, runtime.GOARCH)}
}

// ReadStatus is not supported on this operating system.
func ReadStatus(ctx context.Context, cfg Config, name string) (*Status, error) {
	return nil, unsupported("status")
}

// Watch is not supported on this operating system.
func Watch(ctx context.Context, cfg WatchConfig) (*Watcher, error) {
	return nil, unsupported("watch")
}

// Probe is not supported on this operating system.
func Probe(ctx context.Context, cfg ProbeConfig, iface string, peer netip.Addr) (*ProbeResult, error) {
	return nil, unsupported("probe")
}

// Inventory is not supported on this operating system.
func Inventory(ctx context.Context, cfg InventoryConfig) ([]NIC, error) {
	return nil, unsupported("inventory")
}
