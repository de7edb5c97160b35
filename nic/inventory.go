package nic

import (
	"log/slog"
	"strconv"
	"strings"
)

// DefaultPCIIDs is where Debian's pci.ids package puts the PCI ID database.
const DefaultPCIIDs = "/usr/share/misc/pci.ids"

// InventoryConfig configures Inventory. The zero value reads the host's
// /sys and DefaultPCIIDs. The inventory always describes the namespace of
// the mounted /sys (normally the host's).
type InventoryConfig struct {
	// PCIIDs is the PCI ID database; "" means DefaultPCIIDs.
	PCIIDs string
	// Logger receives per-NIC problems; nil discards.
	Logger *slog.Logger
}

// parseSpeed reads a speed as sysfs ("1000", "-1") or ethtool ("1000Mb/s",
// "Unknown!") write it; nil when unknown.
func parseSpeed(s string) *int {
	s = strings.TrimSuffix(strings.TrimSpace(s), "Mb/s")
	v, err := strconv.Atoi(s)
	if err != nil || v <= 0 || v == speedUnknown {
		return nil
	}
	return &v
}

// parseDuplex reads a duplex as sysfs ("full") or ethtool ("Full") write it.
func parseDuplex(s string) Duplex {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "full":
		return DuplexFull
	case "half":
		return DuplexHalf
	}
	return DuplexUnknown
}
