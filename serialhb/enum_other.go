//go:build !linux

package serialhb

// ListPorts is not supported on this platform.
func ListPorts() ([]PortInfo, error) { return nil, errUnsupported("list ports") }
