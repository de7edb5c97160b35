// Command guest is the multi-call binary put into the lab's initramfs as
// /lab/bin/hakit. Its first argument picks the tool:
//
//	hakit sg DEV OP [ARGS]       raw SCSI probe over SG_IO (see sg_linux.go)
//	hakit uartbeat DEV MS DEADMS  byte heartbeat over a tty, prints alive/dead
//	hakit linkwatch IFACE         prints carrier changes of IFACE
//
// The lab's scenarios read what these print; exit codes follow sg_persist
// where they can (24 reservation conflict, 6 unit attention).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// exitError carries an exit code out of a tool.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout)
	if err == nil {
		return
	}
	fmt.Fprintf(os.Stderr, "hakit: %v\n", err)
	var ee *exitError
	if errors.As(err, &ee) {
		os.Exit(ee.code)
	}
	os.Exit(1)
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return &exitError{2, errors.New("usage: hakit sg|uartbeat|linkwatch ...")}
	}
	tools := map[string]func(context.Context, []string, io.Writer) error{
		"sg":        sgTool,
		"uartbeat":  uartbeat,
		"linkwatch": linkwatch,
	}
	f, ok := tools[args[0]]
	if !ok {
		return &exitError{2, fmt.Errorf("unknown tool %q", args[0])}
	}
	return f(ctx, args[1:], stdout)
}
