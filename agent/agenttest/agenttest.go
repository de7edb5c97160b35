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
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/scsi"
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

	// lockout (under the LUN's lock): a fence made this view the holder,
	// nothing claimed it (agent.DiskStatus.Lockout).
	lockout bool
}

var _ agent.HandoverDisk = (*Disk)(nil)

// TransportID implements agent.HandoverDisk: an iSCSI port named after
// the disk view's own key.
func (d *Disk) TransportID(context.Context) (scsi.TransportID, error) {
	return scsi.ISCSIPortID(fmt.Sprintf("iqn.2026-11.test:%x", d.Own), [6]byte{0x80}), nil
}

// Handover implements agent.HandoverDisk: the reservation moves to dest
// when this view holds it for lockout only.
func (d *Disk) Handover(ctx context.Context, dest scsi.Key, tid scsi.TransportID) error {
	return d.with(ctx, func(l *LUN) error {
		switch {
		case !d.lockout:
			return fmt.Errorf("handover: %w", agent.ErrHandoverClaimed)
		case l.holder != d.Own:
			return fmt.Errorf("handover: %w: held by 0x%x", scsi.ErrNotHolder, l.holder)
		case !slices.Contains(l.keys, uint64(dest)):
			return fmt.Errorf("handover: %w: 0x%x", scsi.ErrKeyNotRegistered, uint64(dest))
		}
		if want, _ := (&Disk{Own: uint64(dest)}).TransportID(ctx); want.String() != tid.String() {
			return fmt.Errorf("handover: %w: TransportID %s, want %s", scsi.ErrMoveRefused, tid, want)
		}
		l.holder, d.lockout = uint64(dest), false
		l.gen++
		return nil
	})
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
		if !s.Owner {
			d.lockout = false
		}
		s.Lockout = d.lockout
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
			return fmt.Errorf("acquire: %w: %w: held by 0x%x", ErrConflict, scsi.ErrReservedByOther, l.holder)
		}
		d.lockout = false
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
		d.lockout = false
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
			// Holder by this fence: held for lockout only.
			d.lockout = d.lockout || l.holder != d.Own
			l.holder = d.Own
		}
		l.gen++
		return nil
	})
}

// Static is a Component that reports a fixed status and emits nothing.
type Static[T any] struct{ V T }

// Run implements agent.Runner: it waits for ctx.
func (s Static[T]) Run(ctx context.Context, _ func(agent.Event)) error { <-ctx.Done(); return nil }

// Status implements agent.Component.
func (s Static[T]) Status(context.Context) (T, error) { return s.V, nil }

// Beats is an in-memory disk-heartbeat area shared by the members'
// mailboxes (Mailbox): each Beat of a member bumps its counter and
// carries its handover request and answer; a peer is alive while it
// beats (Stop makes it dead). Safe for concurrent use.
type Beats struct {
	mu    sync.Mutex
	slots map[string]*beatSlot
	order []string
}

type beatSlot struct {
	counter uint64
	stopped bool
	req     *agent.HandoverRequest
	ans     *agent.HandoverAnswer
}

// NewBeats returns an empty area.
func NewBeats() *Beats { return &Beats{slots: map[string]*beatSlot{}} }

// Mailbox is member name's mailbox on b: agent.Mailbox and
// agent.HandoverMailbox.
func (b *Beats) Mailbox(name string) *Mailbox {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.slots[name] == nil {
		b.slots[name] = &beatSlot{}
		b.order = append(b.order, name)
	}
	return &Mailbox{b: b, name: name}
}

// Stop makes name's block stand still (its node died).
func (b *Beats) Stop(name string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.slots[name].stopped = true
}

// Posted is what name's block carries now.
func (b *Beats) Posted(name string) (*agent.HandoverRequest, *agent.HandoverAnswer) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.slots[name]
	return s.req, s.ans
}

// Mailbox is one member's slot on a Beats area.
type Mailbox struct {
	b    *Beats
	name string
}

var (
	_ agent.Mailbox         = (*Mailbox)(nil)
	_ agent.HandoverMailbox = (*Mailbox)(nil)
)

// Device implements agent.Mailbox.
func (m *Mailbox) Device() string { return "/dev/fake-sbd" }

// Start implements agent.Mailbox: a clear slot, loop 1 s.
func (m *Mailbox) Start(context.Context) (time.Duration, agent.MailboxMessage, error) {
	return time.Second, agent.MailboxMessage{Msg: "clear"}, nil
}

// Check implements agent.Mailbox: always clear.
func (m *Mailbox) Check(context.Context) (agent.MailboxMessage, error) {
	return agent.MailboxMessage{Msg: "clear"}, nil
}

// Post implements agent.HandoverMailbox.
func (m *Mailbox) Post(req *agent.HandoverRequest, ans *agent.HandoverAnswer) {
	m.b.mu.Lock()
	defer m.b.mu.Unlock()
	s := m.b.slots[m.name]
	s.req, s.ans = req, ans
}

// Beat implements agent.Mailbox.
func (m *Mailbox) Beat(ctx context.Context, _, _ string) ([]agent.DiskPeer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.b.mu.Lock()
	defer m.b.mu.Unlock()
	if s := m.b.slots[m.name]; !s.stopped {
		s.counter++
	}
	var out []agent.DiskPeer
	for i, name := range m.b.order {
		s := m.b.slots[name]
		if name == m.name {
			continue
		}
		st := agent.PeerAlive
		if s.stopped {
			st = agent.PeerDead
		}
		out = append(out, agent.DiskPeer{Name: name, Slot: i, State: st, Counter: s.counter, Request: s.req, Answer: s.ans})
	}
	return out, nil
}
