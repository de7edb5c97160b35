package hbcli

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/hakit/hakit/serialhb"
)

// A port another heartbeat holds says that hwagent holds it while it runs,
// and what to do.
func TestBusyHint(t *testing.T) {
	busy := fmt.Errorf("open /dev/ttyS0: %w: another heartbeat process has it open (pid 1, hwagent)", serialhb.ErrPortBusy)
	if err := busyHint(busy); !errors.Is(err, serialhb.ErrPortBusy) || !strings.Contains(err.Error(), "systemctl stop hwagent") {
		t.Errorf("busy: %v", err)
	}
	if other := errors.New("x"); busyHint(other) != other {
		t.Errorf("another error changed")
	}
}
