// Package agent is the library behind hwagent, the node-local daemon of a
// hot-standby pair: its strict YAML configuration, the HTTP/JSON API served
// over a Unix socket (root and one group, checked with SO_PEERCRED), the
// client of that API, the event hub, the self-fence guard, sd_notify
// readiness and watchdog, and a Prometheus text exposition of its state.
//
// The daemon drives the hardware through small interfaces (Heartbeat, Links,
// Disk, RAID) so that every part can be tested with doubles; the wiring to
// the serialhb, nic, scsi and raidctl packages lives in the commands.
package agent
