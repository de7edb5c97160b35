//go:build linux

package serialhb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.bug.st/serial"
	"golang.org/x/sys/unix"
)

// pollSlice bounds one library read, so that a context without deadline is
// still checked.
const pollSlice = 100 * time.Millisecond

// SerialPort is a Port on a tty through go.bug.st/serial. Read, Write,
// ModemLines and Close may be called concurrently; one reader at a time.
type SerialPort struct {
	path        string
	p           serial.Port // configures the line, reads modem lines
	lock        *os.File    // non-blocking, on the poller; holds an flock on the device while open
	libraryRead bool
}

// OpenPort opens the serial port at path (8N1, no flow control). Errors:
// ErrUnsupportedBaud, ErrNotTTY (not a terminal device), ErrPortBusy
// (another process holds it: a lock, TIOCEXCL or a UUCP lock file), or an
// *OpError wrapping the cause (fs.ErrNotExist for a missing path).
func OpenPort(ctx context.Context, path string, cfg PortConfig) (*SerialPort, error) {
	baud, err := cfg.baud()
	if err != nil {
		return nil, &OpError{Op: "open", Device: path, Err: err}
	}
	if err := ctx.Err(); err != nil {
		return nil, &OpError{Op: "open", Device: path, Err: err}
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, &OpError{Op: "open", Device: path, Err: err}
	}
	if fi.Mode()&fs.ModeCharDevice == 0 {
		return nil, &OpError{Op: "open", Device: path, Err: fmt.Errorf("%w: %s is a %s", ErrNotTTY, path, kind(fi.Mode()))}
	}
	if pid := uucpLock(path); pid != 0 {
		return nil, &OpError{Op: "open", Device: path, Err: fmt.Errorf("%w: UUCP lock file held by pid %d", ErrPortBusy, pid)}
	}
	lock, err := lockTTY(path)
	if err != nil {
		return nil, &OpError{Op: "open", Device: path, Err: err}
	}
	p, err := serial.Open(path, &serial.Mode{BaudRate: baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit})
	if err != nil {
		lock.Close()
		var pe *serial.PortError
		if errors.As(err, &pe) && pe.Code() == serial.PortBusy {
			err = fmt.Errorf("%w: %v", ErrPortBusy, err)
		}
		return nil, &OpError{Op: "open", Device: path, Err: err}
	}
	cloexec(lock.Name())
	return &SerialPort{path: path, p: p, lock: lock, libraryRead: cfg.LibraryRead}, nil
}

// cloexec marks every descriptor of this process on the device dev
// close-on-exec. go.bug.st/serial opens the port without O_CLOEXEC, so
// without this every program the agent runs (a vendor CLI) would inherit
// the port and keep it open.
func cloexec(dev string) {
	real, err := filepath.EvalSymlinks(dev)
	if err != nil {
		return
	}
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if t, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && t == real {
			unix.CloseOnExec(fd)
		}
	}
}

func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m.IsRegular():
		return "regular file"
	case m&fs.ModeDevice != 0:
		return "block device"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	}
	return "non-terminal file"
}

// lockTTY opens path non-blocking (an *os.File on the runtime poller),
// checks that it is a terminal and takes an exclusive flock on it, which
// root cannot bypass (unlike TIOCEXCL).
func lockTTY(path string) (*os.File, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.EBUSY) {
			return nil, fmt.Errorf("%w: %w (another program opened it exclusively)", ErrPortBusy, err)
		}
		return nil, err
	}
	if _, err := unix.IoctlGetTermios(fd, unix.TCGETS); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("%w: %w", ErrNotTTY, err)
	}
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		if errors.Is(err, unix.EWOULDBLOCK) {
			holder := flockHolder(fd)
			unix.Close(fd)
			return nil, fmt.Errorf("%w: another heartbeat process has it open%s", ErrPortBusy, holder)
		}
		unix.Close(fd)
		return nil, fmt.Errorf("flock: %w", err)
	}
	return os.NewFile(uintptr(fd), path), nil // named by path: cloexec resolves it
}

// flockHolder names the process holding an flock on fd's file, from
// /proc/locks, as " (pid N, name)", or "" if it cannot tell.
func flockHolder(fd int) string {
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil {
		return ""
	}
	b, err := os.ReadFile("/proc/locks")
	if err != nil {
		return ""
	}
	want := fmt.Sprintf("%02x:%02x:%d", unix.Major(st.Dev), unix.Minor(st.Dev), st.Ino)
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		// "1: FLOCK  ADVISORY  WRITE 1234 00:05:3 0 EOF"
		if len(f) >= 6 && f[1] == "FLOCK" && f[5] == want {
			comm, _ := os.ReadFile("/proc/" + f[4] + "/comm")
			return fmt.Sprintf(" (pid %s, %s)", f[4], strings.TrimSpace(string(comm)))
		}
	}
	return ""
}

// uucpLock returns the pid in a live UUCP lock file for the device, or 0.
func uucpLock(path string) int {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return 0
	}
	for _, dir := range []string{"/run/lock", "/var/lock"} {
		b, err := os.ReadFile(filepath.Join(dir, "LCK.."+filepath.Base(real)))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if err := unix.Kill(pid, 0); err == nil || errors.Is(err, unix.EPERM) {
			return pid
		}
	}
	return 0
}

// Path returns the path the port was opened with.
func (s *SerialPort) Path() string { return s.path }

// Read reads at least one byte. It returns an error wrapping
// os.ErrDeadlineExceeded (and context.DeadlineExceeded) when ctx's deadline
// passes first, ctx.Err() when ctx is cancelled, ErrPortClosed after Close,
// or an *OpError when the device fails (e.g. EIO after a USB unplug).
//
// By default it reads through the runtime poller on a non-blocking
// descriptor (no thread is held while the line is silent); with
// PortConfig.LibraryRead it uses go.bug.st/serial's Read, whose timeout
// returns (0, nil), in slices of at most 100 ms.
func (s *SerialPort) Read(ctx context.Context, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if s.libraryRead {
		return s.readLibrary(ctx, p)
	}
	n, err := s.polled(ctx, "read", s.lock.SetReadDeadline, func() (int, error) { return s.lock.Read(p) })
	if n > 0 {
		return n, nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = s.ioErr("read", fmt.Errorf("%w: end of file (hang-up)", ErrPortClosed))
	}
	return 0, err
}

// polled runs one I/O call on the poller descriptor within ctx: ctx's
// deadline becomes the descriptor's, and cancelling ctx interrupts the call.
func (s *SerialPort) polled(ctx context.Context, op string, setDeadline func(time.Time) error, io func() (int, error)) (int, error) {
	if ctx.Err() != nil {
		return 0, ctxErr(op, s.path, ctx)
	}
	dl, _ := ctx.Deadline()
	if err := setDeadline(dl); err != nil {
		return 0, s.ioErr(op, err)
	}
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(fired)
		setDeadline(time.Now())
	})
	n, err := io()
	if !stop() {
		// The callback has started: wait for it, so that it cannot cut
		// short a later call.
		<-fired
	}
	switch {
	case err == nil:
		return n, nil
	case errors.Is(err, os.ErrDeadlineExceeded) || ctx.Err() != nil:
		return n, ctxErr(op, s.path, ctx)
	}
	return n, s.ioErr(op, err)
}

func (s *SerialPort) readLibrary(ctx context.Context, p []byte) (int, error) {
	for {
		wait := pollSlice
		if dl, ok := ctx.Deadline(); ok {
			wait = min(wait, time.Until(dl))
		}
		if err := ctx.Err(); err != nil || wait <= 0 {
			return 0, ctxErr("read", s.path, ctx)
		}
		if err := s.p.SetReadTimeout(wait); err != nil {
			return 0, &OpError{Op: "read", Device: s.path, Err: err}
		}
		n, err := s.p.Read(p)
		if n > 0 {
			return n, nil
		}
		if err != nil {
			return 0, s.ioErr("read", err)
		}
		// (0, nil) is the library's timeout: loop to check ctx.
	}
}

func ctxErr(op, dev string, ctx context.Context) error {
	err := ctx.Err()
	if err == nil || errors.Is(err, context.DeadlineExceeded) {
		return &OpError{Op: op, Device: dev, Err: fmt.Errorf("%w (%w)", os.ErrDeadlineExceeded, context.DeadlineExceeded)}
	}
	return &OpError{Op: op, Device: dev, Err: err}
}

func (s *SerialPort) ioErr(op string, err error) error {
	var pe *serial.PortError
	if (errors.As(err, &pe) && pe.Code() == serial.PortClosed) || errors.Is(err, os.ErrClosed) {
		err = fmt.Errorf("%w: %w", ErrPortClosed, err)
	}
	return &OpError{Op: op, Device: s.path, Err: err}
}

// Write writes p through the runtime poller, within ctx's deadline (an
// error wrapping os.ErrDeadlineExceeded when the line does not drain in
// time, e.g. a port stuck by flow control).
func (s *SerialPort) Write(ctx context.Context, p []byte) (int, error) {
	return s.polled(ctx, "write", s.lock.SetWriteDeadline, func() (int, error) { return s.lock.Write(p) })
}

// ModemLines reads DSR, CTS and DCD. A port without modem lines (a pty
// answers ENOTTY, some adapters EINVAL) reports them unknown, not an error.
func (s *SerialPort) ModemLines() (ModemLines, error) {
	b, err := s.p.GetModemStatusBits()
	if err != nil {
		if errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
			return ModemLines{}, nil
		}
		return ModemLines{}, s.ioErr("modem", err)
	}
	return ModemLines{DSR: line(b.DSR), CTS: line(b.CTS), DCD: line(b.DCD)}, nil
}

func line(on bool) Line {
	if on {
		return LineOn
	}
	return LineOff
}

// Close closes the port and releases its lock. It unblocks a pending Read.
func (s *SerialPort) Close() error {
	lerr := s.lock.Close()
	err := s.p.Close()
	if err == nil && !errors.Is(lerr, os.ErrClosed) {
		err = lerr
	}
	return err
}

// Open opens path as a Port; it is the default Config.Open of a Runner.
func Open(ctx context.Context, path string, cfg PortConfig) (Port, error) {
	p, err := OpenPort(ctx, path, cfg)
	if err != nil {
		return nil, err
	}
	return p, nil
}
