// Command hwagent is hakit's node-local agent: `hwagent run` is the daemon
// (serial heartbeat, heartbeat NIC, shared disks, RAID, the local API), and
// the other subcommands are its client for people. See `hwagent --help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/hakit/hakit/agent/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cli.Program{SetMaxProcs: setMaxProcs}.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(cli.Report(os.Stderr, err))
}

// setMaxProcs sets GOMAXPROCS to n unless the environment names it.
func setMaxProcs(n int) {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(n)
	}
}
