//go:build !linux

package serialhb

// SetRealtime is not supported on this platform.
func SetRealtime(priority int) error { return errUnsupported("realtime scheduling") }

// LockMemory is not supported on this platform.
func LockMemory() error { return errUnsupported("memory locking") }

func processRealtime(int) error { return errUnsupported("realtime scheduling") }
