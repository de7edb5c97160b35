// Package acceptance holds the install guide's five acceptance tests of a
// finished two-node cluster, run on a real Pacemaker cluster on this
// machine (internal/rig/pcmk: corosync, pacemakerd, fence_hwagent,
// hakit-disk and hakit-health, a serial cable, the heartbeat NIC, a
// public network with a client): take over the shared disk, move the
// group and back, a client's records read back after each move, pull the
// active node's heartbeat NIC, power a node off. `make acceptance` runs
// them and prints each figure.
package acceptance
