//go:build !linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
)

func unsupported() error {
	return fmt.Errorf("runs only in a Linux guest, not on %s/%s: %w", runtime.GOOS, runtime.GOARCH, errors.ErrUnsupported)
}

func sgTool(context.Context, []string, io.Writer, io.Writer) error { return unsupported() }
func lio(context.Context, []string, io.Writer, io.Writer) error    { return unsupported() }
func pgrep(context.Context, []string, io.Writer, io.Writer) error  { return unsupported() }
func pkill(context.Context, []string, io.Writer, io.Writer) error  { return unsupported() }
func prkeys(context.Context, []string, io.Writer, io.Writer) error { return unsupported() }

func spawned(io.Reader) tool {
	return func(context.Context, []string, io.Writer, io.Writer) error { return unsupported() }
}

func scsidisks(context.Context, []string, io.Writer, io.Writer) error { return unsupported() }
