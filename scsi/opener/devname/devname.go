// Package devname is the grammar of the strings a configuration or a
// command line names a shared disk by: /dev/sdX and /dev/sgN (SG_IO), and
// iscsi://host[:port]/target-iqn/lun (hakit's userspace initiator). It
// tells them apart and checks them; it opens nothing and links no
// transport, so the agent's configuration checks use it without linking
// SG_IO into every binary that reads a configuration. scsi/opener opens
// what it names.
package devname

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hakit/hakit/scsi/iscsi"
)

// Kind is the transport family a device string names.
type Kind int

// Kinds of device strings.
const (
	// KindUnknown: neither a path nor an iscsi:// URL.
	KindUnknown Kind = iota
	// KindSGIO: a path (/dev/sdX, /dev/sgN), opened with SG_IO (an SBD
	// device may be a file there, opened by sbd as one).
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

// ErrBadDevice: the string names no device hakit can open.
var ErrBadDevice = errors.New("want /dev/sdX, /dev/sgN or iscsi://host[:port]/target-iqn/lun")

// CheckDisk checks a shared disk's device string: a path under /dev, or
// an iscsi:// URL that parses (its error names the URL with any password
// masked). A string of neither kind gives ErrBadDevice, naming the string
// as shown (any password masked).
func CheckDisk(device string) error {
	switch {
	case device == "":
		return fmt.Errorf("missing: %w", ErrBadDevice)
	case IsISCSI(device):
		_, err := iscsi.ParseURL(device)
		return err
	case strings.HasPrefix(device, "/dev/"):
		return nil
	}
	return fmt.Errorf("%q: %w", iscsi.MaskURL(device), ErrBadDevice)
}
