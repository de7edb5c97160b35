// Package nic reports NIC link status (carrier, operstate, speed, duplex,
// driver), delivers link-change events from netlink, and probes the peer's
// reachability over the heartbeat link.
//
// The pieces:
//
//   - ReadStatus: one interface's admin state, carrier, operstate, speed,
//     duplex, autoneg, MTU, MAC, driver and firmware, carrier counters and
//     bond/team/bridge membership, from rtnetlink (github.com/vishvananda/netlink),
//     ethtool netlink (github.com/mdlayher/ethtool) and the ETHTOOL_GDRVINFO
//     ioctl. What the kernel or driver does not report is unknown (nil,
//     "unknown"), never zero: carrier is unknown while the interface is
//     administratively down, speed is nil when the driver says SPEED_UNKNOWN.
//   - Watch: link changes from an RTNLGRP_LINK subscription, each a Diff of
//     two Snapshots; a full resync when the kernel reports lost messages.
//   - Probe: ICMP echo through one interface, telling "no link", "link up,
//     peer silent" and "reachable" apart, with the round-trip time.
//   - Inventory: every NIC with its PCI device, vendor, driver, link and
//     speed (github.com/jaypipes/ghw and Debian's pci.ids).
//
// Every function takes a namespace (Config.NetNS and friends: a name under
// /run/netns or a path), so the agent can look into a namespace and the
// tests can use the rig's pair of namespaces.
//
// Latency of link events: the kernel's linkwatch sends a carrier change at
// once when it is "urgent" (among others, a link whose index differs from its
// lower link's, such as a veth whose peer has another index, and carrier up
// on most devices); other changes, which include carrier loss on a plain
// physical NIC, wait until a second has passed since the previous linkwatch
// run (system-wide), so they arrive at once on a quiet machine and up to a
// second late during a burst. The watcher adds tens of microseconds on top
// of what the kernel sends.
//
// Host is the interface front ends use; System is the real one and
// nictest.Host a double. niccli is the command-line front.
package nic
