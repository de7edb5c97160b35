// Package opener opens a SCSI device from the strings a configuration or a
// command line names it by: /dev/sdX and /dev/sgN through SG_IO (Linux
// only; elsewhere sgio's error wrapping errors.ErrUnsupported), and
// iscsi://host[:port]/target-iqn/lun through hakit's userspace initiator.
// It is the one place that tells these apart; the field commands
// (scsi/diskcli) and hwcheck open through it, and the agent's wiring opens
// /dev paths through it and iSCSI LUNs through its session pool (one
// session per target, shared by its LUNs).
package opener

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/hakit/hakit/scsi"
	"github.com/hakit/hakit/scsi/iscsi"
	"github.com/hakit/hakit/scsi/sgio"
)

// Kind is the transport family a device string names.
type Kind int

// Kinds of device strings.
const (
	// KindUnknown: neither a path nor an iscsi:// URL.
	KindUnknown Kind = iota
	// KindSGIO: a device path (/dev/sdX, /dev/sgN), opened with SG_IO.
	KindSGIO
	// KindISCSI: an iscsi:// URL, reached with the userspace initiator.
	KindISCSI
)

// ISCSIPrefix starts every iSCSI device URL.
const ISCSIPrefix = "iscsi://"

// KindOf says which transport family device names.
func KindOf(device string) Kind {
	switch {
	case strings.HasPrefix(device, ISCSIPrefix):
		return KindISCSI
	case strings.HasPrefix(device, "/"):
		return KindSGIO
	}
	return KindUnknown
}

// IsISCSI reports whether device is an iscsi:// URL.
func IsISCSI(device string) bool { return KindOf(device) == KindISCSI }

// ErrBadDevice: the string names no device this package can open.
var ErrBadDevice = errors.New("want /dev/sdX, /dev/sgN or iscsi://host[:port]/target-iqn/lun")

// Options are what opening needs beyond the device string.
type Options struct {
	// Initiator is the iSCSI initiator name (iscsi:// devices).
	Initiator string
	// ISID is the iSCSI session's ISID; zero means a field tool's own
	// (iscsi.DerivedISID with iscsi.ISIDTool), so that it never ends the
	// running hwagent's session to the same target.
	ISID [6]byte
	// Logger; nil discards.
	Logger *slog.Logger
}

// Func is the signature of Open, for the callers that take an opener so
// that tests can hand in a double.
type Func func(ctx context.Context, device string, o Options) (scsi.Transport, io.Closer, error)

// Open opens device. The closer ends the iSCSI session or closes the
// file; only its owner may call it.
func Open(ctx context.Context, device string, o Options) (scsi.Transport, io.Closer, error) {
	switch KindOf(device) {
	case KindISCSI:
		u, err := iscsi.ParseURL(device)
		if err != nil {
			return nil, nil, err
		}
		isid := o.ISID
		if isid == ([6]byte{}) {
			isid = iscsi.DerivedISID(o.Initiator, iscsi.ISIDTool)
		}
		s, err := iscsi.Dial(ctx, u, iscsi.Config{InitiatorName: o.Initiator, ISID: isid, Logger: o.Logger})
		if err != nil {
			return nil, nil, err
		}
		return s, s, nil
	case KindSGIO:
		d, err := sgio.Open(device)
		if err != nil {
			return nil, nil, err
		}
		return d, d, nil
	}
	return nil, nil, fmt.Errorf("%q: %w", device, ErrBadDevice)
}
