// Package agent is the library behind hwagent, the node-local daemon of a
// hot-standby cluster: its strict YAML configuration (config.go), the
// HTTP/JSON API served over a Unix socket to root and one group (checked
// with SO_PEERCRED) and its typed client (api.go, client.go), the event hub
// and ring, the self-fence guard (pure) and its latch across restarts, the
// disk watcher and the disk heartbeat on the SBD device, sd_notify
// readiness and the watchdog, and the Prometheus exposition of its state on
// a separate metrics listener.
//
// The daemon sees the hardware only through the small interfaces of
// api.go: Disk for each shared disk and typed components (the serial
// heartbeat, the heartbeat NIC, the RAID reader), so every part can be
// tested with doubles (package agenttest). Building those parts from the
// configuration (SCSI and iSCSI disks, the serialhb runner, the nic watch,
// the raidctl source) is package agent/hw's; the command line is
// agent/cli's, the fence agent agent/fence's and the OCF agents agent/ocf's.
package agent
