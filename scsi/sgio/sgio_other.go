//go:build !linux

package sgio

import (
	"context"
	"errors"
	"fmt"
	"runtime"

	"github.com/hakit/hakit/scsi"
)

// ErrNotSCSI: the path is not a SCSI device that answers SG_IO.
var ErrNotSCSI = errors.New("not a SCSI generic or SCSI block device")

// Device is unavailable on this system.
type Device struct{}

// Open returns an error wrapping errors.ErrUnsupported: SG_IO is Linux only.
func Open(path string) (*Device, error) {
	return nil, fmt.Errorf("sgio: %s: SG_IO is not available on %s/%s: %w", path, runtime.GOOS, runtime.GOARCH, errors.ErrUnsupported)
}

// Path returns "".
func (d *Device) Path() string { return "" }

// Execute returns errors.ErrUnsupported.
func (d *Device) Execute(ctx context.Context, cmd *scsi.Command) (*scsi.Response, error) {
	return nil, errors.ErrUnsupported
}

// Reset returns errors.ErrUnsupported.
func (d *Device) Reset(ctx context.Context, level scsi.ResetLevel) error {
	return errors.ErrUnsupported
}

// Close does nothing.
func (d *Device) Close() error { return nil }
