package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hakit/hakit/scsi"
)

// Mailbox is this node's slot on an SBD device (sbd 1.5.2's format).
// agent/hw implements it over sbd.Watcher.
type Mailbox interface {
	// Device names the SBD device.
	Device() string
	// Start finds (or allocates) this node's slot and returns the
	// header's loop period. A poison pill already in the slot is a
	// MailboxMessage with Poison set and no error.
	Start(ctx context.Context) (time.Duration, MailboxMessage, error)
	// Check reads the slot once, answering a test message.
	Check(ctx context.Context) (MailboxMessage, error)
	// Beat writes this node's disk-heartbeat block once, with this node's
	// view of the serial and NIC paths (PathUp, PathDown or "" for
	// unknown), and reads the other slots' blocks. It fails with
	// ErrSlotPending until Start has found this node's slot.
	Beat(ctx context.Context, serial, nic string) ([]DiskPeer, error)
}

// HandoverRequest is a handover request on the disk heartbeat: the writer
// asks the member that holds Disk's reservation for lockout only to move
// it to the writer (HandoverDisk).
type HandoverRequest struct {
	// Seq numbers the writer's requests (from 1).
	Seq uint64 `json:"seq"`
	// Disk is the disk's identity (DiskStatus.Identity), the same on
	// every member.
	Disk string `json:"disk"`
	// Key is the writer's key on the disk.
	Key scsi.Key `json:"key"`
	// TransportID is the writer's initiator port on the disk.
	TransportID scsi.TransportID `json:"transport_id"`
}

// HandoverAnswer is a holder's answer to the request Seq of the member
// with Key.
type HandoverAnswer struct {
	Key  scsi.Key `json:"key"`
	Seq  uint64   `json:"seq"`
	Code string   `json:"code"`
}

// HandoverAnswer codes.
const (
	// HandoverMoved: moved to the requester and verified.
	HandoverMoved = "moved"
	// HandoverClaimed: refused, the holder's hold is a claim.
	HandoverClaimed = "claimed"
	// HandoverFailed: the move was tried and failed.
	HandoverFailed = "failed"
)

// HandoverMailbox is a Mailbox whose disk-heartbeat block carries a
// handover request and an answer (sbd's version 2 status block); Beat's
// peers then carry theirs (DiskPeer.Request, DiskPeer.Answer).
type HandoverMailbox interface {
	// Post sets what this node's block carries from the next Beat on;
	// nil: none.
	Post(req *HandoverRequest, ans *HandoverAnswer)
}

// ErrSlotPending is Beat's error until Start has found this node's slot.
var ErrSlotPending = errors.New("sbd: this node's slot is not found yet")

// MailboxMessage is what the slot held: Msg is sbd's name ("clear",
// "test", "reset", "off", "crashdump", "exit"), From the sender's node
// name; Poison is set for reset, off and crashdump.
type MailboxMessage struct {
	Msg, From string
	Poison    bool
}

// sbdHealth is whether the SBD device's last read succeeded; unknown
// until the first.
type sbdHealth struct{ known, healthy bool }

func (a *Agent) setSBDHealth(ok bool) {
	a.mu.Lock()
	a.sbd = sbdHealth{known: true, healthy: ok}
	a.mu.Unlock()
}

// watchMailbox checks this node's SBD slot every loop period. A poison
// pill takes the one self-fence path (the guard's latch, then
// self_fence.action); a test message is logged with its sender (the
// Mailbox cleared it); a read error is an event, not a fence.
func (a *Agent) watchMailbox(ctx context.Context, mb Mailbox) error {
	var loop time.Duration
	for {
		cctx, cancel := context.WithTimeout(ctx, a.diskTimeout())
		l, m, err := mb.Start(cctx)
		cancel()
		a.setSBDHealth(err == nil)
		if err == nil {
			loop = max(l, 100*time.Millisecond)
			a.emit(Event{Source: "sbd", Kind: "watching", Msg: fmt.Sprintf("%s: watching this node's slot every %s", mb.Device(), loop), Data: map[string]any{"device": mb.Device()}})
			if m.Poison {
				a.mailboxFence(mb.Device(), m, true)
			}
			break
		}
		a.emit(Event{Source: "sbd", Kind: "unreachable", Msg: fmt.Sprintf("%s: %v", mb.Device(), err), Data: map[string]any{"device": mb.Device()}})
		if !sleepCtx(ctx, 2*time.Second) {
			return nil
		}
	}
	failing := false
	for sleepCtx(ctx, loop) {
		cctx, cancel := context.WithTimeout(ctx, a.diskTimeout())
		m, err := mb.Check(cctx)
		cancel()
		a.setSBDHealth(err == nil)
		switch {
		case m.Poison:
			a.mailboxFence(mb.Device(), m, false)
		case err != nil:
			if !failing {
				a.emit(Event{Source: "sbd", Kind: "unreachable", Msg: fmt.Sprintf("%s: %v", mb.Device(), err), Data: map[string]any{"device": mb.Device()}})
			}
			failing = true
			continue
		case m.Msg == "test":
			a.emit(Event{Source: "sbd", Kind: "test", Msg: fmt.Sprintf("%s: test message from %s answered", mb.Device(), m.From), Data: map[string]any{"device": mb.Device(), "from": m.From}})
		}
		failing = false
	}
	return nil
}

// mailboxFence latches the guard and self-fences for a poison pill.
func (a *Agent) mailboxFence(dev string, m MailboxMessage, atStart bool) {
	a.mu.Lock()
	already := a.guard.Fenced()
	a.guard.Latch()
	a.mu.Unlock()
	when := ""
	if atStart {
		when = " (found at start)"
	}
	a.log.Warn("sbd poison pill", "device", dev, "message", m.Msg, "from", m.From, "at_start", atStart)
	if already && !atStart {
		return
	}
	a.selfFence(DiskStatus{Device: dev, Latched: fmt.Sprintf("sbd %s message from %s%s", m.Msg, m.From, when)})
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
