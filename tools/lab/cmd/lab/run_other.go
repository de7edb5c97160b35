//go:build !linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
)

func run(context.Context, []string, io.Writer, io.Writer) error {
	return fmt.Errorf("the lab needs Linux and QEMU, not %s/%s: %w", runtime.GOOS, runtime.GOARCH, errors.ErrUnsupported)
}
