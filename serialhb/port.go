package serialhb

import (
	"context"
	"fmt"
	"slices"
)

// Port is the byte transport under a runner: a serial port (OpenPort) or a
// test double (serialhbtest). Read and Write honour the context; a read that
// times out returns an error wrapping os.ErrDeadlineExceeded, never (0, nil).
// Read may run concurrently with Write, ModemLines and Close; Close unblocks
// a pending Read.
type Port interface {
	Read(ctx context.Context, p []byte) (int, error)
	Write(ctx context.Context, p []byte) (int, error)
	// ModemLines reports the modem status inputs. A port that cannot report
	// them (a pty, some USB adapters) returns all lines LineUnknown and a nil
	// error.
	ModemLines() (ModemLines, error)
	Close() error
}

// Bauds are the supported baud rates.
var bauds = []int{9600, 19200, 38400, 57600, 115200}

// DefaultBaud is Heartbeat's default serial speed.
const DefaultBaud = 19200

// PortConfig configures a serial port: 8 data bits, no parity, one stop bit
// and no flow control always.
type PortConfig struct {
	// Baud is one of 9600, 19200, 38400, 57600 or 115200; 0 means 19200.
	Baud int
	// LibraryRead reads through go.bug.st/serial's blocking Read (one
	// thread held in select while the line is silent) instead of the
	// runtime poller.
	LibraryRead bool
}

func (c PortConfig) baud() (int, error) {
	if c.Baud == 0 {
		return DefaultBaud, nil
	}
	if !slices.Contains(bauds, c.Baud) {
		return 0, fmt.Errorf("%w: %d (use one of %v)", ErrUnsupportedBaud, c.Baud, bauds)
	}
	return c.Baud, nil
}

// Line is the state of one modem status line.
type Line uint8

// Line states.
const (
	LineUnknown Line = iota // the port does not report it
	LineOff
	LineOn
)

func (l Line) String() string {
	switch l {
	case LineOff:
		return "off"
	case LineOn:
		return "on"
	}
	return "unknown"
}

// MarshalText implements encoding.TextMarshaler.
func (l Line) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// ModemLines are the modem status inputs of a port. On a null-modem cable
// the peer's DTR drives DSR and DCD and its RTS drives CTS, so any line on
// means a cable to an open port.
type ModemLines struct {
	DSR Line `json:"dsr"`
	CTS Line `json:"cts"`
	DCD Line `json:"dcd"`
}

// Known reports whether the port reported the lines.
func (m ModemLines) Known() bool {
	return m.DSR != LineUnknown || m.CTS != LineUnknown || m.DCD != LineUnknown
}

// Cable diagnoses the cable from the modem lines and the link state.
type Cable string

// Cable verdicts.
const (
	CableOK          Cable = "ok" // the peer is heard
	CableUnknown     Cable = "peer silent, cable unknown (the port reports no modem lines)"
	CableSilentPeer  Cable = "cable present, peer silent"
	CableAbsent      Cable = "no cable (or the peer's port is closed)"
	CablePortMissing Cable = "port not open"
)

// Diagnose tells a missing cable from a silent peer.
func Diagnose(state State, portOpen bool, m ModemLines) Cable {
	switch {
	case !portOpen:
		return CablePortMissing
	case state == StateAlive || state == StateWarn:
		return CableOK
	case !m.Known():
		return CableUnknown
	case m.DSR == LineOn || m.DCD == LineOn || m.CTS == LineOn:
		return CableSilentPeer
	}
	return CableAbsent
}

// PortInfo describes a serial port found on the system.
type PortInfo struct {
	Name    string `json:"name"`              // device path, e.g. /dev/ttyUSB0
	USB     bool   `json:"usb"`               // a USB serial adapter
	VID     string `json:"vid,omitempty"`     // USB vendor id (hex)
	PID     string `json:"pid,omitempty"`     // USB product id (hex)
	Serial  string `json:"serial,omitempty"`  // USB serial number
	Product string `json:"product,omitempty"` // USB product string
	ByID    string `json:"by_id,omitempty"`   // stable /dev/serial/by-id link, if any
}
