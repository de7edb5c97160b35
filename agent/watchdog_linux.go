package agent

import (
	"fmt"
	"os"
	"time"

	"github.com/u-root/u-root/pkg/watchdog"
)

// devWatchdog is a Linux watchdog device driven through u-root's
// pkg/watchdog.
type devWatchdog struct {
	w       *watchdog.Watchdog
	path    string
	timeout time.Duration
}

// OpenWatchdog opens a Linux watchdog device (which arms it) and sets its
// timeout; a driver that refuses the timeout keeps its own, which is read
// back.
func OpenWatchdog(path string, timeout time.Duration) (Watchdog, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("watchdog: %w", err)
	}
	if fi.Mode()&os.ModeCharDevice == 0 {
		return nil, fmt.Errorf("watchdog %s: not a character device (want /dev/watchdog or /dev/watchdogN)", path)
	}
	w, err := watchdog.Open(path)
	if err != nil {
		return nil, fmt.Errorf("watchdog %s: %w", path, err)
	}
	if _, err := w.Support(); err != nil { // WDIOC_GETSUPPORT: every watchdog driver answers it
		_ = w.Close()
		return nil, fmt.Errorf("watchdog %s: not a watchdog device (WDIOC_GETSUPPORT: %w)", path, err)
	}
	_ = w.SetTimeout(timeout) // not every driver supports it
	got, err := w.Timeout()
	if err != nil || got <= 0 {
		got = timeout
	}
	return &devWatchdog{w: w, path: path, timeout: got}, nil
}

func (d *devWatchdog) Pet() error {
	if err := d.w.KeepAlive(); err != nil {
		return fmt.Errorf("watchdog %s keepalive: %w", d.path, err)
	}
	return nil
}

func (d *devWatchdog) Timeout() time.Duration { return d.timeout }

// Disarm writes the magic 'V' and closes, which stops the watchdog on
// drivers without nowayout.
func (d *devWatchdog) Disarm() error {
	if err := d.w.MagicClose(); err != nil {
		return fmt.Errorf("watchdog %s disarm: %w", d.path, err)
	}
	return nil
}
