// Command hakit-disk is an OCF 1.1 resource agent for Pacemaker: it takes
// the shared disks of a hakit pair for the node it runs on through the local
// hwagent (start acquires, stop releases, monitor checks this node's key
// holds the reservation) and refuses to start on a fenced node. Install it
// as /usr/lib/ocf/resource.d/hakit/hakit-disk; `hakit-disk meta-data` lists
// its parameters.
package main

import (
	"context"
	"io"
	"os"

	"github.com/hakit/hakit/agent/ocf"
)

func main() {
	os.Exit(ocf.Main(os.Args, "hakit-disk", func(ctx context.Context, action string, getenv func(string) string, stdout, stderr io.Writer) int {
		return ocf.Disk(ctx, action, getenv, stdout, stderr, ocf.Deps{})
	}))
}
