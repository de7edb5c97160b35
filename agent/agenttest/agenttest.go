// Package agenttest provides test doubles for the agent: an in-memory
// shared LUN with SCSI-3 persistent reservation semantics (registrations,
// a Write Exclusive - Registrants Only reservation, a generation that
// counts PR OUT changes) and per-node views of it that implement
// agent.Disk, plus a static Component.
package agenttest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/hakit/hakit/agent"
)

// ErrConflict is the double's RESERVATION CONFLICT.
var ErrConflict = errors.New("reservation conflict")

// LUN is one shared logical unit. Safe for concurrent use.
type LUN struct {
	mu       sync.Mutex
	identity string
	keys     []uint64
	holder   uint64
	gen      uint32
	down     bool
	calls    int
}

// NewLUN returns a LUN with the given VPD 0x83 identity.
func NewLUN(identity string) *LUN { return &LUN{identity: identity} }

// SetDown makes every command fail (a dead path) or work again.
func (l *LUN) SetDown(down bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.down = down
}

// Calls counts commands sent to the LUN.
func (l *LUN) Calls() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.calls
}

// Keys returns the registered keys.
func (l *LUN) Keys() []uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.keys)
}

// Disk is one node's view of a LUN: it acts with its own key and knows the
// peer's.
type Disk struct {
	LUN       *LUN
	Name      string
	Own, Peer uint64
	// Members, when set, are every member's key (this node's included):
	// the disk then implements FenceNode for any of them and reports
	// each one's registration.
	Members []Member
}

// Member is one member's key on a Disk.
type Member struct {
	Name string
	ID   int
	Key  uint64
}

var _ agent.MemberFencer = (*Disk)(nil)

var _ agent.Disk = (*Disk)(nil)

// Key returns the key rule of the doubles: cluster id in the high half,
// node id in the low.
func Key(cluster, node int) uint64 { return uint64(cluster)<<32 | uint64(node) }

func (d *Disk) Device() string { return d.Name }

// with runs fn under the LUN's lock after the context and path checks.
func (d *Disk) with(ctx context.Context, fn func(l *LUN) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l := d.LUN
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	if l.down {
		return fmt.Errorf("%s: path down", d.Name)
	}
	return fn(l)
}

func (d *Disk) Generation(ctx context.Context) (uint32, error) {
	var g uint32
	err := d.with(ctx, func(l *LUN) error { g = l.gen; return nil })
	return g, err
}

func (d *Disk) Status(ctx context.Context) (agent.DiskStatus, error) {
	var s agent.DiskStatus
	err := d.with(ctx, func(l *LUN) error {
		s = agent.DiskStatus{Device: d.Name, Identity: l.identity, OwnKey: fmt.Sprintf("0x%x", d.Own), PeerKey: fmt.Sprintf("0x%x", d.Peer), Generation: l.gen}
		s.Keys = []string{}
		for _, k := range l.keys {
			s.Keys = append(s.Keys, fmt.Sprintf("0x%x", k))
		}
		s.Registered = slices.Contains(l.keys, d.Own)
		s.PeerRegistered = slices.Contains(l.keys, d.Peer)
		for _, m := range d.Members {
			s.Members = append(s.Members, agent.MemberKey{Name: m.Name, ID: m.ID, Key: fmt.Sprintf("0x%x", m.Key), Registered: slices.Contains(l.keys, m.Key), Holder: l.holder == m.Key})
			if m.Key != d.Own && !slices.Contains(l.keys, m.Key) {
				s.PeerRegistered = false
			}
		}
		if l.holder != 0 {
			s.Holder, s.Type = fmt.Sprintf("0x%x", l.holder), "Write Exclusive, registrants only"
		}
		s.Owner = l.holder == d.Own && s.Registered
		return nil
	})
	return s, err
}

func (d *Disk) Register(ctx context.Context) error {
	return d.with(ctx, func(l *LUN) error {
		if !slices.Contains(l.keys, d.Own) {
			l.keys = append(l.keys, d.Own)
			l.gen++
		}
		return nil
	})
}

func (d *Disk) Unfence(ctx context.Context) error { return d.Register(ctx) }

func (d *Disk) Acquire(ctx context.Context) error {
	return d.with(ctx, func(l *LUN) error {
		switch {
		case !slices.Contains(l.keys, d.Own):
			return fmt.Errorf("acquire: %w: key 0x%x not registered", ErrConflict, d.Own)
		case l.holder == 0:
			l.holder = d.Own
		case l.holder != d.Own:
			return fmt.Errorf("acquire: %w: held by 0x%x", ErrConflict, l.holder)
		}
		return nil
	})
}

func (d *Disk) Release(ctx context.Context) error {
	return d.with(ctx, func(l *LUN) error {
		// Like scsi.Owner.Release: the reservation goes, the registration
		// stays.
		if l.holder == d.Own {
			l.holder = 0
		}
		return nil
	})
}

func (d *Disk) Fence(ctx context.Context) error { return d.fence(ctx, d.Peer) }

// FenceNode fences the member with id node (Members must list it).
func (d *Disk) FenceNode(ctx context.Context, node int) error {
	i := slices.IndexFunc(d.Members, func(m Member) bool { return m.ID == node })
	if i < 0 {
		return fmt.Errorf("fence: node %d: %w", node, agent.ErrUnknownNode)
	}
	return d.fence(ctx, d.Members[i].Key)
}

func (d *Disk) fence(ctx context.Context, victim uint64) error {
	return d.with(ctx, func(l *LUN) error {
		if !slices.Contains(l.keys, d.Own) {
			return fmt.Errorf("fence: %w: own key 0x%x not registered", ErrConflict, d.Own)
		}
		if i := slices.Index(l.keys, victim); i >= 0 {
			l.keys = slices.Delete(l.keys, i, i+1)
		}
		if l.holder == victim || l.holder == 0 {
			l.holder = d.Own
		}
		l.gen++
		return nil
	})
}

// Static is a Component that reports a fixed status and emits nothing.
type Static struct{ V any }

func (s Static) Run(ctx context.Context, _ func(agent.Event)) error { <-ctx.Done(); return nil }

func (s Static) Status(context.Context) (any, error) { return s.V, nil }
