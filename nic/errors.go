package nic

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Every error returned by this package matches at most one of
// them through errors.Is, and wraps the underlying system error as well.
var (
	// ErrNoSuchInterface: the named interface does not exist (in the given
	// network namespace).
	ErrNoSuchInterface = errors.New("no such interface")
	// ErrInvalidName: an interface name that Linux cannot hold (empty, longer
	// than MaxNameLen bytes, or containing '/', ':' or white space).
	ErrInvalidName = errors.New("invalid interface name")
	// ErrNetNS: the network namespace could not be opened or entered.
	ErrNetNS = errors.New("cannot enter network namespace")
	// ErrPermission: the operation needs a privilege the process lacks
	// (CAP_NET_RAW for the probe, CAP_SYS_ADMIN to enter a namespace).
	ErrPermission = errors.New("permission denied")
	// ErrNoPCIIDs: the PCI ID database (Debian package pci.ids) is missing.
	ErrNoPCIIDs = errors.New("PCI ID database not found (install the Debian package pci.ids)")
	// ErrInvalidAddress: the peer address of a probe is not a usable IPv4
	// unicast address.
	ErrInvalidAddress = errors.New("invalid peer address")
)

// MaxNameLen is the longest interface name Linux accepts (IFNAMSIZ - 1).
const MaxNameLen = 15

// OpError is the error every operation of this package returns: the
// operation, the interface and namespace it concerned, and the cause. The
// cause wraps one of the sentinels above when one applies.
type OpError struct {
	// Op is the operation: "status", "watch", "probe", "inventory".
	Op string
	// Interface is the interface name, if any.
	Interface string
	// NetNS is the network namespace path, if one was given.
	NetNS string
	// Err is the cause.
	Err error
}

func (e *OpError) Error() string {
	var b strings.Builder
	b.WriteString("nic: ")
	b.WriteString(e.Op)
	if e.Interface != "" {
		b.WriteString(" ")
		b.WriteString(e.Interface)
	}
	if e.NetNS != "" {
		b.WriteString(" (netns ")
		b.WriteString(e.NetNS)
		b.WriteString(")")
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *OpError) Unwrap() error { return e.Err }

// ValidateName checks that name can be a Linux interface name. The error
// wraps ErrInvalidName.
func ValidateName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty name", ErrInvalidName)
	case len(name) > MaxNameLen:
		return fmt.Errorf("%w: %q is %d bytes, the limit is %d", ErrInvalidName, name, len(name), MaxNameLen)
	case name == "." || name == "..":
		return fmt.Errorf("%w: %q", ErrInvalidName, name)
	case strings.ContainsAny(name, "/: \t\n\r\x00"):
		return fmt.Errorf("%w: %q contains '/', ':', white space or NUL", ErrInvalidName, name)
	}
	return nil
}

// NetNSPath turns a namespace argument into a path: "" stays "" (the
// caller's own namespace), a bare name becomes /run/netns/NAME (what
// `ip netns add` makes), and anything with a '/' is taken as a path.
func NetNSPath(ns string) string {
	if ns == "" || strings.Contains(ns, "/") {
		return ns
	}
	return "/run/netns/" + ns
}
