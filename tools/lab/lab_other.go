//go:build !linux

package lab

import (
	"context"
	"errors"
	"fmt"
	"runtime"
)

// Lab is a running lab; on this OS there is none.
type Lab struct{}

func unsupported() error {
	return fmt.Errorf("lab: QEMU nodes with Linux guests need a Linux host, not %s/%s: %w", runtime.GOOS, runtime.GOARCH, errors.ErrUnsupported)
}

// Prepare fails: the lab needs a Linux host.
func Prepare(context.Context, PartsConfig) (*Parts, error) { return nil, unsupported() }

// Start fails: the lab needs a Linux host.
func Start(context.Context, Config) (*Lab, error) { return nil, unsupported() }

// Close does nothing.
func (*Lab) Close() error { return nil }
