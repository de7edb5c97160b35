package agent

import (
	"context"
	"errors"
	"fmt"
	"strconv"
)

// Action is one ownership action on every shared disk. Its String is the
// API's name (POST /v1/NAME, ActionResult.Action, event kinds).
type Action string

// The actions.
const (
	// ActionRegister registers this node's key.
	ActionRegister Action = "register"
	// ActionAcquire reserves every disk for this node.
	ActionAcquire Action = "acquire"
	// ActionRelease releases this node's reservation.
	ActionRelease Action = "release"
	// ActionUnfence registers this node's key again after a fence; only
	// the node itself can (its key goes through its own initiator).
	ActionUnfence Action = "unfence"
	// ActionFence removes another member's key.
	ActionFence Action = "fence"
)

// Actions lists every action (a new slice each call).
func Actions() []Action {
	return []Action{ActionRegister, ActionAcquire, ActionRelease, ActionUnfence, ActionFence}
}

func (a Action) String() string { return string(a) }

// ParseAction maps an action's name to the Action.
func ParseAction(name string) (Action, error) {
	for _, a := range Actions() {
		if string(a) == name {
			return a, nil
		}
	}
	return "", fmt.Errorf("%w %q: want register, acquire, release, unfence or fence", ErrUnknownAction, name)
}

// More sentinel errors of Do.
var (
	// ErrUnknownAction: not one of Actions.
	ErrUnknownAction = errors.New("unknown action")
	// ErrNotThisNode: an action other than fence names another member;
	// only fence acts on another node's key.
	ErrNotThisNode = errors.New("acts on this node only")
	// ErrNoDisks: the configuration has no shared disk.
	ErrNoDisks = errors.New("no shared disks configured")
)

// ActionError is an action that ran on the disks and failed on some (or
// whose read-back did not confirm it): Result has every disk's status
// read back.
type ActionError struct {
	Result ActionResult
	Err    error
}

func (e *ActionError) Error() string { return e.Err.Error() }

// Unwrap returns the disks' errors.
func (e *ActionError) Unwrap() error { return e.Err }

// target resolves an action's node: "" is this node; fence needs another
// member, every other action this node.
func (a *Agent) target(act Action, node string) (Member, error) {
	if node == "" && act != ActionFence {
		return a.cfg.Members()[0], nil
	}
	m, ok := a.cfg.Member(node)
	switch {
	case !ok:
		return m, fmt.Errorf("%w %q: the members are %v", ErrUnknownNode, node, a.cfg.MemberNames())
	case act == ActionFence && m.Self:
		return m, fmt.Errorf("%w (%s)", ErrSelfFence, node)
	case act != ActionFence && !m.Self:
		return m, fmt.Errorf("%s %s: %w (%s): run it on %s", act, node, ErrNotThisNode, a.cfg.Node.Name, m.Name)
	}
	return m, nil
}

// Do runs one action on every shared disk and reads each back: the one
// path of the API's POSTs and of fence_hwagent's direct mode. node names
// the member acted on (its name or id): the victim of a fence, this node
// (or "") for the others. A fenced node refuses register and acquire
// (ErrFenced); a fence of this node is refused (ErrSelfFence); an unfence
// clears the fenced state only when the read-back shows this node's key
// on every disk (else ErrStillFenced). Failures on the disks are an
// *ActionError carrying the read-back; the event names the member.
func (a *Agent) Do(ctx context.Context, act Action, node string) (ActionResult, error) {
	if _, err := ParseAction(string(act)); err != nil {
		return ActionResult{}, err
	}
	m, err := a.target(act, node)
	if err != nil {
		return ActionResult{}, err
	}
	a.act.Lock()
	defer a.act.Unlock()
	fenced := a.guardFenced()
	if fenced && (act == ActionRegister || act == ActionAcquire) {
		return ActionResult{}, ErrFenced
	}
	res := ActionResult{Action: string(act), Node: m.Name}
	var errs []error
	for _, d := range a.deps.Disks {
		timeout := 2 * a.diskTimeout()
		if at, ok := d.(ActionTimer); ok {
			timeout = max(timeout, at.ActionTimeout())
		}
		if act == ActionAcquire && a.handoverMailbox() != nil {
			timeout += a.handoverWait() // room for a handover
		}
		cctx, cancel := context.WithTimeout(ctx, timeout)
		err := a.apply(cctx, act, d, m)
		cancel()
		if err != nil {
			errs = append(errs, DeviceErr(d.Device(), err))
		} else if act == ActionRelease {
			if md, ok := d.(interface{ Mode() string }); ok && md.Mode() == ModeSCSI2 {
				// A released scsi2 disk shows Registered false (it has no
				// keys): the claim goes with the release, by our own hand.
				a.mu.Lock()
				a.guard.Release(d.Device())
				a.mu.Unlock()
			}
		}
		res.Disks = append(res.Disks, a.refresh(ctx, d))
	}
	if act == ActionUnfence && fenced {
		// The fenced flag goes only when the read-back shows this node's
		// key on every disk again: a failed unfence leaves the node fenced
		// (no ownership actions, no watchdog pets).
		a.mu.Lock()
		ok := a.guard.UnfenceVerified(res.Disks)
		a.mu.Unlock()
		if ok {
			if err := a.clearLatch(); err != nil {
				a.log.Error("unfenced, but the persisted self-fence latch could not be removed: the next start comes up fenced", "err", err)
			}
			for _, s := range res.Disks {
				if !s.Registered {
					continue // a scsi2 disk this node does not hold
				}
				a.emit(Event{Source: "guard", Kind: "claimed", Msg: s.Device + ": this node's key " + s.OwnKey + " is registered (unfenced)", Data: map[string]any{"device": s.Device, "node": m.Name}})
			}
		} else if len(errs) == 0 {
			errs = append(errs, fmt.Errorf("%w: the read-back does not show this node's key registered on every disk", ErrStillFenced))
		}
	}
	err = errors.Join(errs...)
	if len(a.deps.Disks) == 0 {
		err = ErrNoDisks
	}
	kind := string(act)
	if err != nil {
		res.Error, res.Code = err.Error(), actionCode(err)
		kind += "-failed"
		err = &ActionError{Result: res, Err: err}
	}
	a.emit(Event{Source: "disk", Kind: kind, Msg: actionMsg(a.cfg, act, m, res), Data: map[string]any{"action": string(act), "node": m.Name, "node_id": m.ID}})
	return res, err
}

// apply runs act on one disk for member m.
func (a *Agent) apply(ctx context.Context, act Action, d Disk, m Member) error {
	switch act {
	case ActionRegister:
		return d.Register(ctx)
	case ActionAcquire:
		return a.acquire(ctx, d)
	case ActionRelease:
		return d.Release(ctx)
	case ActionUnfence:
		return d.Unfence(ctx)
	case ActionFence:
		if len(a.cfg.PeerList()) == 1 {
			return d.Fence(ctx) // a pair: m is the peer
		}
		if mf, ok := d.(MemberFencer); ok {
			return mf.FenceNode(ctx, m.ID)
		}
		return fmt.Errorf("this disk knows only the pair's peer key: it cannot fence %s among %d members", m.Name, len(a.cfg.Members()))
	}
	return fmt.Errorf("%w %q", ErrUnknownAction, act)
}

func actionMsg(c *Config, act Action, m Member, res ActionResult) string {
	msg := fmt.Sprintf("%s by %s on %d disk(s)", act, c.Node.Name, len(res.Disks))
	if act == ActionFence {
		msg = fmt.Sprintf("%s fenced %s (id %s) on %d disk(s)", c.Node.Name, m.Name, strconv.Itoa(m.ID), len(res.Disks))
	}
	if res.Error != "" {
		msg += ": " + res.Error
	}
	return msg
}

// ReadDisks reads every disk now (never from memory), between actions,
// and lets the guard judge each status.
func (a *Agent) ReadDisks(ctx context.Context) []DiskStatus {
	a.act.Lock()
	defer a.act.Unlock()
	out := make([]DiskStatus, 0, len(a.deps.Disks))
	for _, d := range a.deps.Disks {
		out = append(out, a.refresh(ctx, d))
	}
	return out
}
