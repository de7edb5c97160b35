// Command hwcheck runs hakit's install-time diagnostics on one node of a
// pair, with access to both nodes' agents, and prints a report (or --json).
// See `hwcheck --help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/hakit/hakit/check"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := check.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
