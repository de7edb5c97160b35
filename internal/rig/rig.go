// Package rig builds real stand-ins for the hardware of a hot-standby pair on
// one Linux machine: a shared disk (tgtd, a userspace iSCSI target, on
// 127.0.0.1), a null-modem serial cable (two pseudo-terminal pairs relayed
// through code that can cut the cable, delay bytes and inject noise) and a
// heartbeat link (two network namespaces joined by a veth pair).
//
// Every part has a unique name built from the process id and a per-process
// sequence number, so packages that test in parallel never collide, and a
// Close that removes everything it made. Parts left behind by a process that
// died (its pid no longer exists) are swept when a new part is built.
//
// Tests use the *For helpers (DiskFor, CableFor, NetFor): they skip with a
// reason when root or a tool is missing (fail when CI is set) and register
// cleanup with t.Cleanup, so nothing stays behind even when the test fails.
package rig

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
)

// Side names one end of the pair: node A or node B.
type Side int

const (
	// A is node A's end.
	A Side = iota
	// B is node B's end.
	B
)

func (s Side) String() string {
	switch s {
	case A:
		return "A"
	case B:
		return "B"
	}
	return "Side(" + strconv.Itoa(int(s)) + ")"
}

func (s Side) valid() error {
	if s != A && s != B {
		return fmt.Errorf("rig: invalid side %d (want rig.A or rig.B)", int(s))
	}
	return nil
}

// namePrefix starts the name of every namespace, temporary directory and
// interface the rig makes, followed by the owner's pid.
const namePrefix = "hakit"

// seq numbers the parts one process builds. It is the only package-level
// variable: a counter, so that names stay unique across parallel tests.
var seq atomic.Uint32

// newID returns a short identifier unique on this machine while this process
// lives: the pid and a per-process sequence number.
func newID() (pid int, n uint32) {
	return os.Getpid(), seq.Add(1)
}

// ownerPID parses "<prefix>-<pid>-..." and returns the pid, or 0.
func ownerPID(name, prefix string) int {
	rest, ok := strings.CutPrefix(name, prefix+"-")
	if !ok {
		return 0
	}
	pidStr, _, _ := strings.Cut(rest, "-")
	pid, err := strconv.Atoi(pidStr)
	if err != nil {
		return 0
	}
	return pid
}

func logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return l
}

// NewName returns a name unique on this machine while this process lives,
// "hakit-<pid>-<n>-<kind>": parts named so (namespaces under /run/netns,
// directories in os.TempDir) are swept by Sweep once this process is gone.
func NewName(kind string) string {
	pid, n := newID()
	return fmt.Sprintf("%s-%d-%d-%s", namePrefix, pid, n, kind)
}
