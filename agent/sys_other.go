//go:build !linux

package agent

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"time"
)

func unsupported(what string) error {
	return fmt.Errorf("%s on %s/%s: %w", what, runtime.GOOS, runtime.GOARCH, errors.ErrUnsupported)
}

func peerCred(net.Conn) (Cred, error) { return Cred{}, unsupported("peer credentials") }

func lockSocket(string) (*os.File, error) { return nil, unsupported("api socket lock") }

// Running is Linux only.
func Running(string) (string, bool, error) { return "", false, unsupported("api socket lock") }

func listenSocket(string, Access, os.FileMode) (net.Listener, error) {
	return nil, unsupported("api socket")
}

// OpenWatchdog is Linux only.
func OpenWatchdog(string, time.Duration) (Watchdog, error) {
	return nil, unsupported("watchdog")
}

func fdBudget() int { return 0 }
