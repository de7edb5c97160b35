// Package nic reports NIC link status (carrier, operstate, speed, duplex,
// driver), delivers link-change events from netlink, and probes the peer's
// reachability over the heartbeat link.
package nic
