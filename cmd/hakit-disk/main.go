// Command hakit-disk is an OCF 1.1 resource agent for Pacemaker: it takes
// the shared disks of a hakit pair for the node it runs on through the local
// hwagent (start acquires, stop releases, monitor checks this node's key
// holds the reservation) and refuses to start on a fenced node. Install it
// as /usr/lib/ocf/resource.d/hakit/hakit-disk; `hakit-disk meta-data` lists
// its parameters.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/hakit/hakit/agent/ocf"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: hakit-disk {start|stop|monitor|validate-all|meta-data} (parameters in OCF_RESKEY_config, OCF_RESKEY_socket)")
		os.Exit(ocf.ErrArgs)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := ocf.Disk(ctx, os.Args[1], os.Getenv, os.Stdout, os.Stderr, ocf.Deps{})
	stop()
	os.Exit(code)
}
