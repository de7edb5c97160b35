package rig

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// CableConfig describes the serial cable. The zero value is a clean cable.
type CableConfig struct {
	// Seed makes the injected noise reproducible; 0 picks a random seed.
	Seed uint64
	// Logger receives cable events; nil discards.
	Logger *slog.Logger
	// Realtime, when 1 to 99, runs the relay goroutines on OS threads of
	// their own at that real-time (SCHED_RR) priority: a soak then measures
	// the heartbeat's scheduling, not the stand-in cable's (a real null
	// modem is never late). Refused without root or CAP_SYS_NICE.
	Realtime int
}

// Noise is the per-byte fault rate of a cable, each a probability in [0, 1].
type Noise struct {
	Drop   float64 // the byte is lost
	Flip   float64 // one random bit of the byte is inverted
	Insert float64 // a random byte is inserted before it
}

func (n Noise) validate() error {
	for _, p := range []float64{n.Drop, n.Flip, n.Insert} {
		if p < 0 || p > 1 || p != p {
			return fmt.Errorf("rig: noise probability %v out of [0, 1]", p)
		}
	}
	return nil
}

// CableStats counts what the relay did, per direction (index: the side the
// bytes came from).
type CableStats struct {
	Relayed  [2]uint64 // bytes delivered to the other end
	Lost     [2]uint64 // bytes discarded while the cable was cut
	Dropped  [2]uint64 // bytes dropped by noise
	Flipped  [2]uint64 // bytes with a bit flipped by noise
	Inserted [2]uint64 // random bytes inserted by noise
}

// Cable is a null-modem cable made of two pseudo-terminal pairs: node A opens
// PathA, node B opens PathB, and bytes written at one end arrive at the other
// through a relay that can cut the cable, delay bytes and inject noise. The
// paths are symlinks to /dev/pts/N, so they stay valid across Unplug/Replug.
// Its methods are safe for concurrent use.
type Cable struct {
	log *slog.Logger
	dir string
	rt  int

	mu      sync.Mutex
	ends    [2]*ptyEnd
	cut     bool
	delay   time.Duration
	noise   Noise
	rng     *rand.Rand
	stats   CableStats
	closed  bool
	relayWG sync.WaitGroup
}

type ptyEnd struct {
	master *os.File // the relay's side
	holder *os.File // a slave fd kept open so the master never sees EIO
	pts    string   // /dev/pts/N
	queue  chan chunk
	stop   chan struct{}
}

type chunk struct {
	b   []byte
	due time.Time
}

// NewCable creates the two pty pairs and starts the relay.
func NewCable(cfg CableConfig) (*Cable, error) {
	sweep()
	pid, n := newID()
	dir, err := os.MkdirTemp("", fmt.Sprintf("%s-%d-%d-serial-", namePrefix, pid, n))
	if err != nil {
		return nil, fmt.Errorf("rig: cable directory: %w", err)
	}
	seed := cfg.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	c := &Cable{log: logger(cfg.Logger), dir: dir, rt: cfg.Realtime, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	for _, s := range []Side{A, B} {
		if err := c.plug(s); err != nil {
			c.Close()
			return nil, err
		}
	}
	for _, s := range []Side{A, B} {
		c.startRelay(s)
	}
	c.log.Info("rig cable ready", "A", c.PathA(), "B", c.PathB(), "seed", seed)
	return c, nil
}

// PathA is the device node A opens (a symlink to its pty).
func (c *Cable) PathA() string { return c.Path(A) }

// PathB is the device node B opens (a symlink to its pty).
func (c *Cable) PathB() string { return c.Path(B) }

// Path is the device the given side opens.
func (c *Cable) Path(s Side) string { return filepath.Join(c.dir, "tty"+s.String()) }

// PTS is the /dev/pts/N behind the given side, or "" while it is unplugged.
func (c *Cable) PTS(s Side) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.ends[s]; e != nil {
		return e.pts
	}
	return ""
}

func openPTY() (master *os.File, holder *os.File, pts string, err error) {
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, "", fmt.Errorf("rig: open /dev/ptmx: %w", err)
	}
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		unix.Close(fd)
		return nil, nil, "", fmt.Errorf("rig: unlockpt: %w", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		unix.Close(fd)
		return nil, nil, "", fmt.Errorf("rig: ptsname: %w", err)
	}
	pts = "/dev/pts/" + strconv.Itoa(n)
	sfd, err := unix.Open(pts, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		unix.Close(fd)
		return nil, nil, "", fmt.Errorf("rig: open %s: %w", pts, err)
	}
	// Raw mode, so that the line discipline neither echoes nor translates
	// before the node opens its end.
	t, err := unix.IoctlGetTermios(sfd, unix.TCGETS)
	if err == nil {
		t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		t.Oflag &^= unix.OPOST
		t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		t.Cflag &^= unix.CSIZE | unix.PARENB
		t.Cflag |= unix.CS8
		t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
		err = unix.IoctlSetTermios(sfd, unix.TCSETS, t)
	}
	if err != nil {
		unix.Close(fd)
		unix.Close(sfd)
		return nil, nil, "", fmt.Errorf("rig: raw mode on %s: %w", pts, err)
	}
	return os.NewFile(uintptr(fd), "ptmx"), os.NewFile(uintptr(sfd), pts), pts, nil
}

func (c *Cable) plug(s Side) error {
	m, h, pts, err := openPTY()
	if err != nil {
		return err
	}
	link := c.Path(s)
	_ = os.Remove(link)
	if err := os.Symlink(pts, link); err != nil {
		m.Close()
		h.Close()
		return fmt.Errorf("rig: link %s: %w", link, err)
	}
	c.mu.Lock()
	c.ends[s] = &ptyEnd{master: m, holder: h, pts: pts, queue: make(chan chunk, 4096), stop: make(chan struct{})}
	c.mu.Unlock()
	return nil
}

// startRelay runs the reader of side s's master (bytes node s wrote) and the
// writer that delivers them to the other side's master.
func (c *Cable) startRelay(s Side) {
	c.mu.Lock()
	e := c.ends[s]
	c.mu.Unlock()
	c.relayWG.Add(2)
	go func() {
		defer c.relayWG.Done()
		defer close(e.queue)
		c.realtime()
		buf := make([]byte, 4096)
		for {
			n, err := e.master.Read(buf)
			if n > 0 {
				c.mu.Lock()
				cut, delay := c.cut, c.delay
				var out []byte
				if cut {
					c.stats.Lost[s] += uint64(n)
				} else {
					out = c.applyNoise(s, buf[:n])
				}
				c.mu.Unlock()
				if len(out) > 0 {
					select {
					case e.queue <- chunk{b: out, due: time.Now().Add(delay)}:
					case <-e.stop:
						return
					}
				}
			}
			if err != nil {
				if errors.Is(err, unix.EIO) || errors.Is(err, unix.EAGAIN) {
					// No slave open right now (cannot happen while the holder is
					// open) or a spurious wake-up: wait and retry.
					select {
					case <-e.stop:
						return
					case <-time.After(5 * time.Millisecond):
						continue
					}
				}
				return
			}
		}
	}()
	go func() {
		defer c.relayWG.Done()
		c.realtime()
		for ch := range e.queue {
			if d := time.Until(ch.due); d > 0 {
				select {
				case <-time.After(d):
				case <-e.stop:
					return
				}
			}
			c.mu.Lock()
			other := c.ends[1-s]
			cut := c.cut
			c.mu.Unlock()
			if other == nil || cut {
				c.mu.Lock()
				c.stats.Lost[s] += uint64(len(ch.b))
				c.mu.Unlock()
				continue
			}
			if _, err := other.master.Write(ch.b); err == nil {
				c.mu.Lock()
				c.stats.Relayed[s] += uint64(len(ch.b))
				c.mu.Unlock()
			}
		}
	}()
}

// realtime puts the calling relay goroutine on its own real-time thread
// (CableConfig.Realtime); the thread ends with the goroutine.
func (c *Cable) realtime() {
	if c.rt <= 0 {
		return
	}
	runtime.LockOSThread()
	attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_RR, Flags: unix.SCHED_FLAG_RESET_ON_FORK, Priority: uint32(c.rt)}
	if err := unix.SchedSetAttr(0, &attr, 0); err != nil {
		c.log.Warn("rig cable: real-time relay refused", "err", err)
	}
}

// applyNoise returns b after the configured noise; c.mu is held.
func (c *Cable) applyNoise(s Side, b []byte) []byte {
	n := c.noise
	if n == (Noise{}) {
		return append([]byte(nil), b...)
	}
	out := make([]byte, 0, len(b)+8)
	for _, x := range b {
		if n.Insert > 0 && c.rng.Float64() < n.Insert {
			out = append(out, byte(c.rng.UintN(256)))
			c.stats.Inserted[s]++
		}
		if n.Drop > 0 && c.rng.Float64() < n.Drop {
			c.stats.Dropped[s]++
			continue
		}
		if n.Flip > 0 && c.rng.Float64() < n.Flip {
			x ^= 1 << c.rng.UintN(8)
			c.stats.Flipped[s]++
		}
		out = append(out, x)
	}
	return out
}

// Cut disconnects the cable: bytes written at either end are lost until
// Reconnect.
func (c *Cable) Cut() {
	c.mu.Lock()
	c.cut = true
	c.mu.Unlock()
	c.log.Info("rig cable cut")
}

// Reconnect reconnects a cut cable.
func (c *Cable) Reconnect() {
	c.mu.Lock()
	c.cut = false
	c.mu.Unlock()
	c.log.Info("rig cable reconnected")
}

// Connected reports whether the cable is connected.
func (c *Cable) Connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.cut
}

// SetDelay delays every byte by d (0 for none), in order.
func (c *Cable) SetDelay(d time.Duration) {
	c.mu.Lock()
	c.delay = max(d, 0)
	c.mu.Unlock()
}

// SetNoise sets the per-byte fault rates in both directions; Noise{} clears.
func (c *Cable) SetNoise(n Noise) error {
	if err := n.validate(); err != nil {
		return err
	}
	c.mu.Lock()
	c.noise = n
	c.mu.Unlock()
	return nil
}

// Inject writes raw bytes to side s's end, as line noise arriving at node s.
func (c *Cable) Inject(s Side, b []byte) error {
	if err := s.valid(); err != nil {
		return err
	}
	c.mu.Lock()
	e := c.ends[s]
	c.mu.Unlock()
	if e == nil {
		return fmt.Errorf("rig: inject to %s: end unplugged", s)
	}
	_, err := e.master.Write(b)
	return err
}

// Stats returns a copy of the relay counters.
func (c *Cable) Stats() CableStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// Unplug removes side s's port, as a USB serial adapter pulled out: the path
// is removed and the pty closed (node s's reads and writes fail with an I/O
// error) until Replug.
func (c *Cable) Unplug(s Side) error {
	if err := s.valid(); err != nil {
		return err
	}
	c.mu.Lock()
	e := c.ends[s]
	c.ends[s] = nil
	c.mu.Unlock()
	if e == nil {
		return nil
	}
	close(e.stop)
	// The path goes first, as /dev/ttyUSBn does when an adapter is pulled:
	// once the pty is freed its number can be given to another pty, which a
	// reopening node must never find behind this path.
	_ = os.Remove(c.Path(s))
	e.master.Close()
	e.holder.Close()
	c.log.Info("rig cable unplugged", "side", s)
	return nil
}

// Replug gives side s a fresh pty behind the same path.
func (c *Cable) Replug(s Side) error {
	if err := s.valid(); err != nil {
		return err
	}
	c.mu.Lock()
	plugged, closed := c.ends[s] != nil, c.closed
	c.mu.Unlock()
	if plugged || closed {
		return nil
	}
	if err := c.plug(s); err != nil {
		return err
	}
	c.startRelay(s)
	c.log.Info("rig cable replugged", "side", s, "pts", c.PTS(s))
	return nil
}

// Close stops the relay, closes both ptys and removes the paths.
func (c *Cable) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	_ = c.Unplug(A)
	_ = c.Unplug(B)
	c.relayWG.Wait()
	return os.RemoveAll(c.dir)
}
