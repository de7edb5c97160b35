//go:build !linux

package serialhb

import (
	"context"
	"errors"
	"fmt"
	"runtime"
)

func errUnsupported(op string) error {
	return fmt.Errorf("serialhb: %s: %w on %s/%s", op, errors.ErrUnsupported, runtime.GOOS, runtime.GOARCH)
}

// Open is not supported on this platform.
func Open(ctx context.Context, path string, cfg PortConfig) (Port, error) {
	if _, err := cfg.baud(); err != nil {
		return nil, &OpError{Op: "open", Device: path, Err: err}
	}
	return nil, &OpError{Op: "open", Device: path, Err: errUnsupported("serial port")}
}
