package scsitest

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/hakit/hakit/scsi"
)

// ErrInjected is the transport error a Faulty returns for a dropped command
// or a lost answer. It carries no sense data, so scsi.IsTransportError is
// true for it.
var ErrInjected = errors.New("scsitest: injected transport fault")

// Fault is one rule of a Faulty: which commands it hits and what happens to
// them.
type Fault struct {
	// Match selects the commands; nil matches every command.
	Match func(*scsi.Command) bool
	// Skip lets this many matching commands through untouched first.
	Skip int
	// Times is how many matching commands the rule hits after Skip; 0
	// means one, a negative value every one.
	Times int
	// Before runs before the command reaches the device (e.g. the peer
	// fences at this step).
	Before func()
	// After runs once the device has run the command, before the caller
	// gets the answer.
	After func()
	// Drop keeps the command from the device: the caller gets ErrInjected.
	Drop bool
	// Lose lets the device run the command but loses its answer: the
	// caller gets ErrInjected.
	Lose bool
	// Reply keeps the command from the device and answers it with this
	// response instead (e.g. a CHECK CONDITION the real device would not
	// give).
	Reply *scsi.Response

	seen, hit int
}

// Faulty wraps a Transport and injects faults into chosen commands, in the
// order the rules were added (the first rule that hits a command decides
// Drop and Lose; every hitting rule's Before and After run). Safe for
// concurrent use; hooks run without the Faulty's lock.
type Faulty struct {
	T scsi.Transport

	mu    sync.Mutex
	rules []*Fault
	dead  bool
}

// Add appends a rule and returns it (Hits tells how often it fired).
func (f *Faulty) Add(r *Fault) *Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = append(f.rules, r)
	return r
}

// Hits returns how many commands rule r has hit.
func (f *Faulty) Hits(r *Fault) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return r.hit
}

// Kill makes every later command fail with ErrInjected without reaching the
// device: the process on this nexus died (its registrations stay).
func (f *Faulty) Kill() {
	f.mu.Lock()
	f.dead = true
	f.mu.Unlock()
}

// Execute implements scsi.Transport.
func (f *Faulty) Execute(ctx context.Context, cmd *scsi.Command) (*scsi.Response, error) {
	f.mu.Lock()
	if f.dead {
		f.mu.Unlock()
		return nil, fmt.Errorf("%w: nexus killed", ErrInjected)
	}
	var hits []*Fault
	drop, lose := false, false
	var reply *scsi.Response
	for _, r := range f.rules {
		if r.Match != nil && !r.Match(cmd) {
			continue
		}
		r.seen++
		if r.seen <= r.Skip || (r.Times >= 0 && r.hit >= max(r.Times, 1)) {
			continue
		}
		r.hit++
		if len(hits) == 0 {
			drop, lose, reply = r.Drop, r.Lose, r.Reply
		}
		hits = append(hits, r)
	}
	f.mu.Unlock()
	for _, r := range hits {
		if r.Before != nil {
			r.Before()
		}
	}
	if drop {
		return nil, fmt.Errorf("%w: %s dropped", ErrInjected, scsi.CommandName(cmd))
	}
	if reply != nil {
		return reply, nil
	}
	resp, err := f.T.Execute(ctx, cmd)
	for _, r := range hits {
		if r.After != nil {
			r.After()
		}
	}
	if lose && err == nil {
		return nil, fmt.Errorf("%w: answer to %s lost", ErrInjected, scsi.CommandName(cmd))
	}
	return resp, err
}

// Reset implements scsi.Resetter when the wrapped transport does.
func (f *Faulty) Reset(ctx context.Context, level scsi.ResetLevel) error {
	r, ok := f.T.(scsi.Resetter)
	if !ok {
		return fmt.Errorf("scsitest: %T cannot reset: %w", f.T, errors.ErrUnsupported)
	}
	return r.Reset(ctx, level)
}

// IsPROut matches PERSISTENT RESERVE OUT with service action a.
func IsPROut(a scsi.PROutAction) func(*scsi.Command) bool {
	return func(c *scsi.Command) bool {
		return len(c.CDB) > 1 && c.CDB[0] == scsi.OpPROut && scsi.PROutAction(c.CDB[1]&0x1f) == a
	}
}

// IsUnregister matches a PR OUT REGISTER or REGISTER AND IGNORE EXISTING KEY
// whose service-action key is 0: an unregister.
func IsUnregister(c *scsi.Command) bool {
	if !IsPROut(scsi.PROutRegister)(c) && !IsPROut(scsi.PROutRegisterAndIgnore)(c) {
		return false
	}
	var p scsi.PROutParams
	return p.UnmarshalBinary(c.Data) == nil && p.ServiceActionKey == 0
}

// IsPRIn matches PERSISTENT RESERVE IN with service action a.
func IsPRIn(a scsi.PRInAction) func(*scsi.Command) bool {
	return func(c *scsi.Command) bool {
		return len(c.CDB) > 1 && c.CDB[0] == scsi.OpPRIn && scsi.PRInAction(c.CDB[1]&0x1f) == a
	}
}

// IsOp matches commands with operation code op.
func IsOp(op byte) func(*scsi.Command) bool {
	return func(c *scsi.Command) bool { return len(c.CDB) > 0 && c.CDB[0] == op }
}
