package nic

import (
	"context"
	"fmt"
	"os"

	"github.com/jaypipes/ghw"
	"github.com/jaypipes/pcidb"
)

// Inventory lists every network interface ghw finds in /sys/class/net, with
// its PCI device, vendor, product and driver (from ghw and the PCI ID
// database), and its link state (rtnetlink) and speed and duplex (sysfs, as
// ghw reads them; unknown when the driver does not say).
//
// ghw does not take a context: ctx is checked before and after. It never
// fetches the PCI ID database from the network: a missing database is an
// error wrapping ErrNoPCIIDs.
func Inventory(ctx context.Context, cfg InventoryConfig) ([]NIC, error) {
	opErr := func(err error) error { return &OpError{Op: "inventory", Err: err} }
	log := discardIfNil(cfg.Logger)
	path := cfg.PCIIDs
	if path == "" {
		path = DefaultPCIIDs
	}
	if err := ctx.Err(); err != nil {
		return nil, opErr(err)
	}
	if _, err := os.Stat(path); err != nil {
		return nil, opErr(fmt.Errorf("%w: %w", ErrNoPCIIDs, err))
	}
	db, err := pcidb.New(pcidb.WithPath(path), pcidb.WithCacheOnly())
	if err != nil {
		return nil, opErr(fmt.Errorf("%w: %s: %w", ErrNoPCIIDs, path, err))
	}
	opts := []any{ghw.WithPCIDB(db), ghw.WithDisableTools(), ghw.WithDisableWarnings(), ghw.WithLogger(log)}
	netInfo, err := ghw.Network(opts...)
	if err != nil {
		return nil, opErr(fmt.Errorf("ghw network: %w", err))
	}
	pciInfo, err := ghw.PCI(opts...)
	if err != nil {
		return nil, opErr(fmt.Errorf("ghw pci: %w", err))
	}
	var out []NIC
	for _, n := range netInfo.NICs {
		nic := NIC{
			Name:      n.Name,
			MAC:       n.MACAddress,
			Virtual:   n.IsVirtual,
			SpeedMbps: parseSpeed(n.Speed),
			Duplex:    parseDuplex(n.Duplex),
			Carrier:   CarrierUnknown,
			OperState: OperUnknown,
		}
		// The driver's own view (ETHTOOL_GDRVINFO) fills what ghw misses,
		// such as the PCI function of a virtio NIC.
		drv := Status{Link: Link{Name: n.Name}}
		readDriverInfo(&drv)
		nic.Driver = drv.Driver
		if n.PCIAddress != nil {
			nic.PCIAddress = *n.PCIAddress
		} else if ghw.PCIAddressFromString(drv.BusInfo) != nil {
			nic.PCIAddress = drv.BusInfo
		}
		if nic.PCIAddress != "" {
			if d := pciInfo.GetDevice(nic.PCIAddress); d != nil {
				if nic.Driver == "" {
					nic.Driver = d.Driver
				}
				if d.Vendor != nil {
					nic.Vendor = d.Vendor.Name
				}
				if d.Product != nil {
					nic.Product = d.Product.Name
				}
			}
		}
		if link, _, err := getLink(n.Name); err == nil {
			l := linkFrom(link)
			nic.Carrier, nic.OperState = l.Carrier, l.OperState
		} else {
			log.Warn("nic inventory: link state", "iface", n.Name, "err", err)
		}
		out = append(out, nic)
	}
	if err := ctx.Err(); err != nil {
		return nil, opErr(err)
	}
	return out, nil
}
