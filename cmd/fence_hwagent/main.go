// Command fence_hwagent is a fence agent for Pacemaker (the ClusterLabs
// fence-agent API): it fences a node of a hakit pair by removing its SCSI-3
// persistent reservation key from the shared disks through the local
// hwagent. Run `fence_hwagent -o metadata` for its parameters.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/hakit/hakit/agent/fence"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := fence.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, fence.Deps{})
	stop()
	os.Exit(code)
}
