package agent

// Guard is the self-fence decision, pure: it remembers which disks this node
// claims (its key was seen registered, or it registered or acquired) and
// decides, from each status read back from a disk, when the node has been
// fenced: a claimed disk whose status no longer shows this node's key. Once
// fenced, the node claims nothing until Unfence. It is not safe for
// concurrent use; the agent serialises it.
type Guard struct {
	claimed map[string]bool
	fenced  bool
}

// NewGuard returns a guard claiming nothing.
func NewGuard() *Guard { return &Guard{claimed: map[string]bool{}} }

// Verdict is the guard's reading of one status.
type Verdict int

const (
	// Steady: nothing changed.
	Steady Verdict = iota
	// Claimed: this node's key appeared; the disk is now claimed.
	Claimed
	// SelfFenced: this node's key vanished from a claimed disk.
	SelfFenced
)

// Observe takes a disk status read from the device. A status with an error
// is unknown and changes nothing: a dead path is not a fence.
func (g *Guard) Observe(s DiskStatus) Verdict {
	if s.Error != "" {
		return Steady
	}
	was := g.claimed[s.Device]
	switch {
	case s.Latched != "" && !g.fenced:
		// The disk layer cannot account for this node's registration:
		// act as fenced whether or not the disk was claimed.
		g.fence()
		return SelfFenced
	case s.Registered && !was && !g.fenced:
		g.claimed[s.Device] = true
		return Claimed
	case !s.Registered && was:
		g.fence()
		return SelfFenced
	}
	return Steady
}

func (g *Guard) fence() {
	g.fenced = true
	for d := range g.claimed {
		delete(g.claimed, d)
	}
}

// Latch starts the guard fenced: the latch an earlier run of the agent
// persisted (the node stays fenced across restarts until a verified
// unfence).
func (g *Guard) Latch() { g.fence() }

// Release forgets the claim on a disk this node released on purpose (its
// key goes away by our own hand, not by a fence).
func (g *Guard) Release(device string) { delete(g.claimed, device) }

// Fenced reports whether the node was fenced since the last Unfence.
func (g *Guard) Fenced() bool { return g.fenced }

// Unfence clears the fenced state unconditionally. The agent uses
// UnfenceVerified, which clears it only on a read-back.
func (g *Guard) Unfence() { g.fenced = false }

// UnfenceVerified clears the fenced state only when read, the statuses read
// back after an unfence action, shows this node's key registered on every
// disk (none unreadable, at least one); each disk is then claimed. Otherwise
// the node stays fenced and false is returned: an unfence that failed, or
// that the device does not confirm, must not let the node act (or pet its
// watchdog) again.
//
// A scsi2 disk has no registration to put back: SCSI-2 knows no keys, and
// the node that lost the reservation holds nothing until it acquires (or
// fences) again, which the agent refuses while fenced. So a scsi2 disk
// counts as verified when its read-back has no error and no latch, and it
// is claimed only if it shows this node holding it.
func (g *Guard) UnfenceVerified(read []DiskStatus) bool {
	if len(read) == 0 {
		return false
	}
	for _, s := range read {
		if s.Error != "" || s.Latched != "" || (!s.Registered && s.Mode != ModeSCSI2) {
			return false
		}
	}
	g.fenced = false
	for _, s := range read {
		if s.Registered {
			g.claimed[s.Device] = true
		}
	}
	return true
}

// Claims reports whether the device is claimed.
func (g *Guard) Claims(device string) bool { return g.claimed[device] }
