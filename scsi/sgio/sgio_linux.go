package sgio

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/hakit/hakit/scsi"
)

// ErrNotSCSI: the path is not a SCSI device that answers SG_IO.
var ErrNotSCSI = errors.New("not a SCSI generic or SCSI block device")

// Device is an open SCSI device. Execute and Reset are safe for concurrent
// use; Close waits for commands in flight.
type Device struct {
	path string
	mu   sync.RWMutex
	fd   int
}

// Open opens path (/dev/sgN or /dev/sdX) read-write and checks that it
// answers SG_GET_VERSION_NUM; a regular file or a device of another kind
// gives an error wrapping ErrNotSCSI.
func Open(path string) (*Device, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFCHR, unix.S_IFBLK:
	default:
		unix.Close(fd)
		return nil, fmt.Errorf("sgio: %s: %w (mode %o: not a device node; want /dev/sgN or /dev/sdX)", path, ErrNotSCSI, st.Mode&unix.S_IFMT)
	}
	if _, err := unix.IoctlGetInt(fd, sgGetVersionNum); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("sgio: %s: %w (SG_GET_VERSION_NUM: %v)", path, ErrNotSCSI, err)
	}
	return &Device{path: path, fd: fd}, nil
}

// Path returns the device path.
func (d *Device) Path() string { return d.path }

// Execute runs cmd with SG_IO. ctx must have a deadline.
func (d *Device) Execute(ctx context.Context, cmd *scsi.Command) (*scsi.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	deadline, ok := ctx.Deadline()
	ms, err := timeoutFor(time.Now(), deadline, ok, cmd.Timeout)
	if err != nil {
		return nil, fmt.Errorf("sgio: %s: %w", d.path, err)
	}
	req, err := newRequest(cmd, ms)
	if err != nil {
		return nil, fmt.Errorf("sgio: %s: %w", d.path, err)
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.fd < 0 {
		return nil, fmt.Errorf("sgio: %s: %w", d.path, os.ErrClosed)
	}
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(d.fd), sgIO, uintptr(unsafe.Pointer(&req.hdr)))
	runtime.KeepAlive(req)
	if errno != 0 {
		return nil, &os.PathError{Op: "SG_IO", Path: d.path, Err: errno}
	}
	resp, err := req.response()
	if err != nil {
		return nil, fmt.Errorf("sgio: %s: %w", d.path, err)
	}
	return resp, nil
}

// Reset resets the logical unit, target or bus with SG_SCSI_RESET, without
// escalating. It needs CAP_SYS_ADMIN. The kernel gives the reset no
// timeout of its own; ctx is only checked before.
func (d *Device) Reset(ctx context.Context, level scsi.ResetLevel) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	v, err := resetValue(level)
	if err != nil {
		return fmt.Errorf("sgio: %s: %w", d.path, err)
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.fd < 0 {
		return fmt.Errorf("sgio: %s: %w", d.path, os.ErrClosed)
	}
	if err := unix.IoctlSetPointerInt(d.fd, sgSCSIReset, int(v)); err != nil {
		return &os.PathError{Op: "SG_SCSI_RESET " + level.String(), Path: d.path, Err: err}
	}
	return nil
}

// Close closes the device.
func (d *Device) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fd < 0 {
		return nil
	}
	err := unix.Close(d.fd)
	d.fd = -1
	return err
}
