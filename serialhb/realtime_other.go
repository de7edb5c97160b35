//go:build !linux

package serialhb

// SetRealtime is not supported on this platform.
func SetRealtime(priority int) error { return errUnsupported("realtime scheduling") }
