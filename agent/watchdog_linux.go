package agent

import (
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

type devWatchdog struct {
	f       *os.File
	timeout time.Duration
}

// OpenWatchdog opens a Linux watchdog device (which arms it) and sets its
// timeout (WDIOC_SETTIMEOUT).
func OpenWatchdog(path string, timeout time.Duration) (Watchdog, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("watchdog %s: %w", path, err)
	}
	secs := int(timeout / time.Second)
	if err := unix.IoctlSetPointerInt(int(f.Fd()), unix.WDIOC_SETTIMEOUT, secs); err != nil {
		// The device is armed with its default timeout: read it back.
		if got, gerr := unix.IoctlGetInt(int(f.Fd()), unix.WDIOC_GETTIMEOUT); gerr == nil && got > 0 {
			secs = got
		}
	}
	return &devWatchdog{f: f, timeout: time.Duration(secs) * time.Second}, nil
}

func (w *devWatchdog) Pet() error {
	if _, err := unix.IoctlGetInt(int(w.f.Fd()), unix.WDIOC_KEEPALIVE); err != nil {
		if _, werr := w.f.Write([]byte{'1'}); werr != nil {
			return fmt.Errorf("watchdog keepalive: %w", werr)
		}
	}
	return nil
}

func (w *devWatchdog) Timeout() time.Duration { return w.timeout }

// Disarm writes the magic 'V' and closes, which stops the watchdog on
// drivers without nowayout.
func (w *devWatchdog) Disarm() error {
	_, err := w.f.Write([]byte{'V'})
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	return err
}
