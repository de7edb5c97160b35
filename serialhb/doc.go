// Package serialhb is hakit's heartbeat over an RS-232 null-modem cable:
// a framed, checksummed and authenticated wire format, a pure link state
// machine (initdead, alive, warn, dead), port I/O with modem-line checks,
// a cable test and a runner tying one port to one peer.
package serialhb
