//go:build !linux

package serialhb

// SetRealtime is not supported on this platform.
func SetRealtime(priority int) error { return errUnsupported("realtime scheduling") }

// LockMemory is not supported on this platform.
func LockMemory() error { return errUnsupported("memory locking") }

func processRealtime(int) error { return errUnsupported("realtime scheduling") }

func reniceKworkers(int, map[int]kthread) error { return errUnsupported("kworker priority") }

func restoreKworkers(int, map[int]kthread) {}

// kthread is what reniceKworkers knows of a kernel thread (Linux only).
type kthread int8
