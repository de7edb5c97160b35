// Package serialhbtest provides an in-memory null-modem cable whose two ends
// are serialhb.Port values, to drive serialhb runners without a tty, and a
// Clock stepped by hand, to test a runner's timing without waiting.
package serialhbtest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"

	"github.com/hakit/hakit/serialhb"
)

// ErrUnplugged is the error of I/O on an unplugged end.
var ErrUnplugged = errors.New("serialhbtest: port unplugged")

// Cable is an in-memory cable between end 0 and end 1. Its methods are safe
// for concurrent use.
type Cable struct {
	mu      sync.Mutex
	cut     bool
	ends    [2]*Port
	plugged [2]bool
	modem   [2]serialhb.ModemLines
}

// NewCable returns a connected cable with both ends plugged.
func NewCable() *Cable {
	c := &Cable{plugged: [2]bool{true, true}}
	return c
}

// Open returns a fresh Port for end i, as the opener of a serialhb.Config
// would; it fails with fs.ErrNotExist while the end is unplugged.
func (c *Cable) Open(i int) (*Port, error) {
	if i != 0 && i != 1 {
		return nil, fmt.Errorf("serialhbtest: no end %d", i)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.plugged[i] {
		return nil, &serialhb.OpError{Op: "open", Device: fmt.Sprintf("end%d", i), Err: fs.ErrNotExist}
	}
	if old := c.ends[i]; old != nil {
		old.closeLocked(ErrUnplugged)
	}
	p := &Port{c: c, side: i, in: make(chan []byte, 1024), done: make(chan struct{})}
	c.ends[i] = p
	return p, nil
}

// Opener returns a serialhb.Config.Open function for end i.
func (c *Cable) Opener(i int) func(context.Context, string, serialhb.PortConfig) (serialhb.Port, error) {
	return func(ctx context.Context, path string, cfg serialhb.PortConfig) (serialhb.Port, error) {
		p, err := c.Open(i)
		if err != nil {
			return nil, err
		}
		return p, nil
	}
}

// Cut loses every byte until Reconnect.
func (c *Cable) Cut() { c.mu.Lock(); c.cut = true; c.mu.Unlock() }

// Reconnect undoes Cut.
func (c *Cable) Reconnect() { c.mu.Lock(); c.cut = false; c.mu.Unlock() }

// SetModem sets the modem lines end i reports (zero: unknown, like a pty).
func (c *Cable) SetModem(i int, m serialhb.ModemLines) { c.mu.Lock(); c.modem[i] = m; c.mu.Unlock() }

// Unplug fails end i's port (its reads and writes return ErrUnplugged) and
// its opens until Replug.
func (c *Cable) Unplug(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.plugged[i] = false
	if p := c.ends[i]; p != nil {
		p.closeLocked(ErrUnplugged)
		c.ends[i] = nil
	}
}

// Replug lets end i open again.
func (c *Cable) Replug(i int) { c.mu.Lock(); c.plugged[i] = true; c.mu.Unlock() }

// Inject delivers b to end i as if it came down the line.
func (c *Cable) Inject(i int, b []byte) {
	c.mu.Lock()
	p := c.ends[i]
	c.mu.Unlock()
	if p != nil {
		p.deliver(b)
	}
}

// Port is one open end of a Cable; it implements serialhb.Port.
type Port struct {
	c    *Cable
	side int
	in   chan []byte
	rest []byte

	once sync.Once
	done chan struct{}
	err  error
}

func (p *Port) deliver(b []byte) {
	select {
	case p.in <- append([]byte(nil), b...):
	case <-p.done:
	default: // receive buffer full: bytes lost, like an overrun
	}
}

// Read implements serialhb.Port.
func (p *Port) Read(ctx context.Context, b []byte) (int, error) {
	if len(p.rest) == 0 {
		select {
		case <-p.done:
			return 0, p.err
		default:
		}
		select {
		case p.rest = <-p.in:
		case <-p.done:
			return 0, p.err
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return 0, fmt.Errorf("serialhbtest: read: %w (%w)", os.ErrDeadlineExceeded, ctx.Err())
			}
			return 0, ctx.Err()
		}
	}
	n := copy(b, p.rest)
	p.rest = p.rest[n:]
	return n, nil
}

// Write implements serialhb.Port: bytes go to the other end unless the
// cable is cut.
func (p *Port) Write(ctx context.Context, b []byte) (int, error) {
	select {
	case <-p.done:
		return 0, p.err
	default:
	}
	p.c.mu.Lock()
	cut, other := p.c.cut, p.c.ends[1-p.side]
	p.c.mu.Unlock()
	if !cut && other != nil {
		other.deliver(b)
	}
	return len(b), nil
}

// ModemLines implements serialhb.Port.
func (p *Port) ModemLines() (serialhb.ModemLines, error) {
	p.c.mu.Lock()
	defer p.c.mu.Unlock()
	return p.c.modem[p.side], nil
}

// Close implements serialhb.Port.
func (p *Port) Close() error {
	p.c.mu.Lock()
	defer p.c.mu.Unlock()
	p.closeLocked(serialhb.ErrPortClosed)
	if p.c.ends[p.side] == p {
		p.c.ends[p.side] = nil
	}
	return nil
}

func (p *Port) closeLocked(err error) {
	p.once.Do(func() {
		p.err = err
		close(p.done)
	})
}
