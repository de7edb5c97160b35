// Package serialhb is hakit's heartbeat over an RS-232 null-modem cable:
// a framed, checksummed and authenticated wire format, a pure link state
// machine (initdead, alive, warn, dead), port I/O with modem-line checks,
// a cable test and a runner tying one port to one peer.
//
// Layers (PROTOCOL.md is the wire reference):
//
//   - Codec: Frame, AppendFrame/EncodeFrame, DecodeFrame, ParseBody, Codec
//     (COBS framing, CRC-32C, truncated HMAC-SHA256) and Framer. Pure.
//   - Link: the state machine with Heartbeat's ha.cf Timers. The caller
//     feeds bytes (Feed, Step), calls Tick at NextTick, and drains Ready
//     (frames to write, events, pongs). Pure: no goroutine, fd or clock.
//   - Port: the transport interface; OpenPort (Linux) opens a tty through
//     go.bug.st/serial (8N1, 9600..115200, no flow control, exclusive lock),
//     reads and writes through the runtime poller with context deadlines,
//     reports modem lines (unknown on a pty). serialhbtest has a double.
//   - Runner: one port, one peer. Start/Stop, Subscribe, Status, SetState,
//     CableTest; reopens a failed port with backoff.
//   - LoadKey, ListPorts, SetRealtime, Diagnose: helpers for the front end
//     (package hbcli).
//
// Concurrency: Link and Codec belong to one goroutine; Runner and
// SerialPort methods are safe for concurrent use.
package serialhb
