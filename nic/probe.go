package nic

import (
	"fmt"
	"log/slog"
	"net/netip"
	"time"
)

// ProbeConfig configures Probe. The zero value sends up to 3 echoes 200 ms
// apart in the caller's namespace.
type ProbeConfig struct {
	// NetNS is the namespace of the interface, as in Config.
	NetNS string
	// Count is the most echo requests sent; the probe stops at the first
	// reply. 0 means 3.
	Count int
	// Interval is how long each echo waits for its reply before the next
	// is sent. 0 means 200 ms.
	Interval time.Duration
	// Logger receives one line per probe; nil discards.
	Logger *slog.Logger
}

func (c ProbeConfig) withDefaults() ProbeConfig {
	if c.Count <= 0 {
		c.Count = 3
	}
	if c.Interval <= 0 {
		c.Interval = 200 * time.Millisecond
	}
	c.Logger = discardIfNil(c.Logger)
	return c
}

// validatePeer accepts an IPv4 unicast address (an IPv4-mapped IPv6
// address is unmapped).
func validatePeer(peer netip.Addr) (netip.Addr, error) {
	peer = peer.Unmap()
	switch {
	case !peer.IsValid():
		return peer, fmt.Errorf("%w: no address", ErrInvalidAddress)
	case !peer.Is4():
		return peer, fmt.Errorf("%w: %s is not IPv4", ErrInvalidAddress, peer)
	case peer.IsUnspecified() || peer.IsMulticast() || peer == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return peer, fmt.Errorf("%w: %s is not a unicast address", ErrInvalidAddress, peer)
	}
	return peer, nil
}
