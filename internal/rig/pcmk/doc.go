// Package pcmk runs a real Pacemaker cluster (two nodes by default, up to
// 16 with Config.Nodes) on one Linux machine for tests and the demo, as
// docs/pacemaker.md describes: a switch network namespace with a bridge
// and the shared disk (tgtd) on it, and per node a network, UTS, mount and
// PID namespace with tmpfs over /var/lib/pacemaker, /var/lib/corosync, /run
// and /dev/shm, its own folder bind-mounted at ConfigDir, corosync -f,
// pacemakerd without systemd and hwagent (the built binary) on the shared
// LUN; with Config.Serial, null-modem cables through the rig's pty relay
// (rig.Cable): a pair's one cable, or a ring of one cable between each
// node and the next. fence_hwagent is laid over /usr/sbin inside each node's mount
// namespace (a read-only overlay), where Pacemaker's fencer looks for
// agents, so nothing is installed on the machine.
//
// Killing a node's PID-namespace init powers the node off: every process of
// the node dies with it. Close removes every process, namespace, mount and
// file the cluster made; parts left by a process that died are swept by the
// next rig user (rig.Sweep).
package pcmk
