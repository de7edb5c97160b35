package serialhb

import (
	"errors"
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrCOBS: a block is not valid COBS (line noise).
	ErrCOBS = errors.New("serialhb: bad COBS block")
	// ErrMalformed: a frame has a wrong length, type, flags or reserved bits.
	ErrMalformed = errors.New("serialhb: malformed frame")
	// ErrCRC: the CRC-32C of a frame does not match (line noise).
	ErrCRC = errors.New("serialhb: CRC-32C mismatch")
	// ErrVersion: the frame is of a wire format version this node does not speak.
	ErrVersion = errors.New("serialhb: unsupported frame version")
	// ErrForeignCluster: the frame belongs to another cluster id.
	ErrForeignCluster = errors.New("serialhb: frame from another cluster")
	// ErrAuth: the MAC does not match (wrong key or forged frame).
	ErrAuth = errors.New("serialhb: authentication failed")
	// ErrShortKey: a shared key shorter than MinKeyLen bytes.
	ErrShortKey = errors.New("serialhb: shared key too short")
	// ErrBadConfig: a configuration value is out of range.
	ErrBadConfig = errors.New("serialhb: invalid configuration")
	// ErrNotTTY: the port path is not a terminal device.
	ErrNotTTY = errors.New("serialhb: not a serial port (not a tty)")
	// ErrPortBusy: another process holds the port.
	ErrPortBusy = errors.New("serialhb: port busy")
	// ErrUnsupportedBaud: a baud rate outside 9600..115200.
	ErrUnsupportedBaud = errors.New("serialhb: unsupported baud rate")
	// ErrPortClosed: the port was closed.
	ErrPortClosed = errors.New("serialhb: port closed")
	// ErrNotRunning: the runner is not started or already stopped.
	ErrNotRunning = errors.New("serialhb: runner not running")
)

// OpError is an error of an operation on a port.
type OpError struct {
	Op     string // "open", "read", "write", "modem", ...
	Device string // path of the port
	Err    error
}

func (e *OpError) Error() string { return "serialhb: " + e.Op + " " + e.Device + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *OpError) Unwrap() error { return e.Err }
