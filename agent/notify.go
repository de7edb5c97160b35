package agent

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"time"
)

// Notifier speaks systemd's sd_notify protocol: datagrams of KEY=VALUE lines
// on the Unix datagram socket named by $NOTIFY_SOCKET ("@" for the abstract
// namespace). A nil or empty Notifier does nothing, so an agent run outside
// systemd needs no special case. Safe for concurrent use.
type Notifier struct {
	addr     string
	watchdog time.Duration
}

// NewNotifier sends to socket (empty: no-op) and asks for a ping every
// watchdog/2 (0: no watchdog).
func NewNotifier(socket string, watchdog time.Duration) *Notifier {
	return &Notifier{addr: socket, watchdog: watchdog}
}

// NotifierFromEnv reads $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID
// (the watchdog applies only when the pid is ours or unset).
func NotifierFromEnv() *Notifier {
	n := &Notifier{addr: os.Getenv("NOTIFY_SOCKET")}
	if us, err := strconv.ParseInt(os.Getenv("WATCHDOG_USEC"), 10, 64); err == nil && us > 0 {
		if p := os.Getenv("WATCHDOG_PID"); p == "" || p == strconv.Itoa(os.Getpid()) {
			n.watchdog = time.Duration(us) * time.Microsecond
		}
	}
	return n
}

// WatchdogPeriod is how often to send WATCHDOG=1 (half systemd's
// WatchdogSec), 0 when no watchdog was asked for.
func (n *Notifier) WatchdogPeriod() time.Duration {
	if n == nil || n.addr == "" {
		return 0
	}
	return n.watchdog / 2
}

// Notify sends one state message, e.g. "READY=1".
func (n *Notifier) Notify(state string) error {
	if n == nil || n.addr == "" {
		return nil
	}
	name := n.addr
	if name[0] == '@' {
		name = "\x00" + name[1:]
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("sd_notify %s: %w", n.addr, err)
	}
	defer c.Close()
	_ = c.SetWriteDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte(state)); err != nil {
		return fmt.Errorf("sd_notify %s: %w", n.addr, err)
	}
	return nil
}

func pid() int { return os.Getpid() }
