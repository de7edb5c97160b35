package nic

import (
	"context"
	"log/slog"
	"net/netip"
	"time"
)

// Host is what a front end (the agent, hwcheck, niccli) needs from a
// machine's NICs. System is the real one; nictest.Host is the test double.
type Host interface {
	// Status reads one interface (see ReadStatus).
	Status(ctx context.Context, name string) (*Status, error)
	// Watch returns the current snapshot and the changes after it, for the
	// named interfaces (all when none). The channel is closed after ctx
	// ends and everything is released.
	Watch(ctx context.Context, names ...string) (Snapshot, <-chan Event, error)
	// Probe tells whether peer answers through iface (see Probe).
	Probe(ctx context.Context, iface string, peer netip.Addr) (*ProbeResult, error)
	// Inventory lists the NICs (see Inventory).
	Inventory(ctx context.Context) ([]NIC, error)
}

// System is the Host of this machine (or of one network namespace of it).
// The zero value is the caller's namespace with default settings. It holds
// no resources and is safe for concurrent use.
type System struct {
	// NetNS is the namespace, as in Config. Inventory ignores it: it
	// describes the mounted /sys.
	NetNS string
	// ProbeCount and ProbeInterval are ProbeConfig's Count and Interval.
	ProbeCount    int
	ProbeInterval time.Duration
	// PCIIDs is InventoryConfig.PCIIDs.
	PCIIDs string
	// Logger is passed down; nil discards.
	Logger *slog.Logger
}

var _ Host = System{}

// Status implements Host.
func (s System) Status(ctx context.Context, name string) (*Status, error) {
	return ReadStatus(ctx, Config{NetNS: s.NetNS}, name)
}

// Watch implements Host.
func (s System) Watch(ctx context.Context, names ...string) (Snapshot, <-chan Event, error) {
	w, err := Watch(ctx, WatchConfig{NetNS: s.NetNS, Interfaces: names, Logger: s.Logger})
	if err != nil {
		return nil, nil, err
	}
	return w.Initial(), w.Events(), nil
}

// Probe implements Host.
func (s System) Probe(ctx context.Context, iface string, peer netip.Addr) (*ProbeResult, error) {
	return Probe(ctx, ProbeConfig{NetNS: s.NetNS, Count: s.ProbeCount, Interval: s.ProbeInterval, Logger: s.Logger}, iface, peer)
}

// Inventory implements Host.
func (s System) Inventory(ctx context.Context) ([]NIC, error) {
	return Inventory(ctx, InventoryConfig{PCIIDs: s.PCIIDs, Logger: s.Logger})
}
