//go:build !linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
)

func run(context.Context, io.Writer) error {
	return fmt.Errorf("guestinit runs only in a Linux guest, not on %s/%s: %w", runtime.GOOS, runtime.GOARCH, errors.ErrUnsupported)
}
