// Command hakit-health is an OCF 1.1 resource agent for Pacemaker, run as a
// clone: it publishes this node's hardware facts from the local hwagent
// (serial peer, heartbeat NIC carrier and peer, shared disks answering,
// fenced) as node attributes through attrd_updater, so that location rules
// can move a group off a node that lost a path. Install it as
// /usr/lib/ocf/resource.d/hakit/hakit-health; `hakit-health meta-data`
// lists its parameters and the attribute names.
package main

import (
	"context"
	"io"
	"os"

	"github.com/hakit/hakit/agent/ocf"
)

func main() {
	os.Exit(ocf.Main(os.Args, "hakit-health", func(ctx context.Context, action string, getenv func(string) string, stdout, stderr io.Writer) int {
		return ocf.Health(ctx, action, getenv, stdout, stderr, ocf.HealthDeps{})
	}))
}
