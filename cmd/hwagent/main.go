// Command hwagent is hakit's node-local agent: `hwagent run` is the daemon
// (serial heartbeat, heartbeat NIC, shared disks, RAID, the local API), and
// the other subcommands are its client for people. See `hwagent --help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/hakit/hakit/agent/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cli.Main(ctx)
}
