// Command fence_hwagent is a fence agent for Pacemaker (the ClusterLabs
// fence-agent API): it fences a node of a hakit cluster by removing its SCSI-3
// persistent reservation key from the shared disks, through the local
// hwagent, or directly on the disks when the agent is not running. Run
// `fence_hwagent -o metadata` for its parameters.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/agent/fence"
	"github.com/hakit/hakit/agent/hw"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	direct := func(cfg *agent.Config) (fence.Backend, func() error, error) {
		d, err := hw.NewDirect(cfg, nil)
		if err != nil {
			return nil, nil, err
		}
		return d, d.Close, nil
	}
	code := fence.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, fence.Deps{Direct: direct})
	stop()
	os.Exit(code)
}
