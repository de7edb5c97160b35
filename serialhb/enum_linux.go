//go:build linux

package serialhb

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"go.bug.st/serial/enumerator"
)

// ListPorts lists the serial ports the system knows (from sysfs, through
// go.bug.st/serial/enumerator), with USB details and the stable
// /dev/serial/by-id names of USB adapters. Pseudo-terminals are not listed.
func ListPorts() ([]PortInfo, error) {
	list, err := enumerator.GetDetailedPortsList()
	if err != nil {
		return nil, fmt.Errorf("serialhb: list ports: %w", err)
	}
	byID := map[string]string{}
	if ents, err := os.ReadDir("/dev/serial/by-id"); err == nil {
		for _, e := range ents {
			link := filepath.Join("/dev/serial/by-id", e.Name())
			if t, err := filepath.EvalSymlinks(link); err == nil {
				byID[t] = link
			}
		}
	}
	out := make([]PortInfo, 0, len(list))
	for _, p := range list {
		out = append(out, PortInfo{Name: p.Name, USB: p.IsUSB, VID: p.VID, PID: p.PID, Serial: p.SerialNumber, Product: p.Product, ByID: byID[p.Name]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
