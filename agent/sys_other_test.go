//go:build !linux

package agent

import (
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestUnsupportedOS(t *testing.T) {
	for name, err := range map[string]error{
		"lock":   func() error { _, err := lockSocket("/tmp/x.sock"); return err }(),
		"listen": func() error { _, err := listenSocket("/tmp/x.sock", Access{}, 0o600); return err }(),
		"cred":   func() error { _, err := peerCred(nil); return err }(),
		"wd":     func() error { _, err := OpenWatchdog("/dev/watchdog", time.Second); return err }(),
	} {
		if !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), runtime.GOOS) {
			t.Errorf("%s: %v, want ErrUnsupported naming %s", name, err, runtime.GOOS)
		}
	}
}
