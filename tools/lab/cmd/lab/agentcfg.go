package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/tools/lab"
)

// agentNode is what differs between the two nodes' hwagent configurations.
type agentNode struct {
	name     string // node name as the failover agent knows it
	id       int
	peerAddr string // the peer's address on the heartbeat link
}

// Guest paths and values of the agent scenario.
const (
	agentConfigPath = "/etc/hakit/hwagent.yaml"
	agentSocket     = "/run/hakit/hwagent.sock"
	agentCluster    = 7
	agentKeepalive  = 200  // ms
	agentDeadtime   = 1000 // ms
	agentDiskPeriod = 300  // ms, PR generation reads of the self-fence guard
	agentDisk       = "/dev/sg0"
)

// agentNodes are the two nodes as their agents name them.
var agentNodes = [2]agentNode{{"node-a", 1, "10.99.0.2"}, {"node-b", 2, "10.99.0.1"}}

// nodeConfig is node i's configuration (0 is A).
func nodeConfig(i int, identity string) string {
	return agentConfig(agentNodes[i], agentNodes[1-i], lab.HeartbeatKeyFile, identity)
}

// agentConfig is one node's hwagent.yaml in the lab: the serial heartbeat on
// ttyS1, the heartbeat NIC eth0, the shared disk /dev/sg0 over SG_IO (pinned
// to identity when known) and the API socket under /run.
func agentConfig(self, peer agentNode, keyFile, identity string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "node: {name: %s, id: %d}\n", self.name, self.id)
	fmt.Fprintf(&b, "peer: {name: %s, id: %d}\n", peer.name, peer.id)
	fmt.Fprintf(&b, "cluster: {id: %d, name: lab}\n", agentCluster)
	fmt.Fprintf(&b, "serial: {port: /dev/ttyS1, baud: 115200, key_file: %s}\n", keyFile)
	fmt.Fprintf(&b, "nic: {interface: eth0, peer_address: %s}\n", self.peerAddr)
	fmt.Fprintf(&b, "disks:\n  - device: %s\n", agentDisk)
	if identity != "" {
		fmt.Fprintf(&b, "    identity: %s\n", identity)
	}
	// The shared LUN is the host's tgtd, which refuses PREEMPT AND ABORT.
	b.WriteString("    allow_preempt_without_abort: true\n")
	fmt.Fprintf(&b, "timers: {keepalive_ms: %d, deadtime_ms: %d, disk_status_ms: %d}\n", agentKeepalive, agentDeadtime, agentDiskPeriod)
	fmt.Fprintf(&b, "api: {socket: %s}\n", agentSocket)
	// The guests' root is thrown away with them: the latches live in /run.
	b.WriteString("state_dir: /run/hakit/state\n")
	b.WriteString("self_fence: {action: event}\n")
	return b.String()
}

// parseIdentity finds the identity in the output of hakit disk identify
// ("  identity:  naa.6001405... (NAA)"); "" when absent.
func parseIdentity(out string) string {
	for _, l := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(l), "identity:"); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				return f[0]
			}
		}
	}
	return ""
}

// fenceStdin is what Pacemaker writes on a fence agent's stdin to run
// action (off, on, status...) on plug.
func fenceStdin(action, plug string) string {
	return fmt.Sprintf("action=%s\nplug=%s\nconfig=%s\n", action, plug, agentConfigPath)
}

// countEvents counts the events of `hwagent events --json` output (one JSON
// object a line) with the given source and kind.
func countEvents(log, source, kind string) int {
	n := 0
	for _, l := range strings.Split(log, "\n") {
		var e agent.Event
		if json.Unmarshal([]byte(l), &e) == nil && e.Source == source && e.Kind == kind {
			n++
		}
	}
	return n
}
