package agent

import "time"

// Watchdog is a hardware watchdog armed for self-fencing: the agent pets it
// while the node is healthy and stops when the node was fenced, so the
// machine resets. Disarm (magic close) is for a clean stop only.
type Watchdog interface {
	Pet() error
	Timeout() time.Duration
	Disarm() error
}
