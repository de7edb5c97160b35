package hw

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/blockio"
	"github.com/hakit/hakit/sbd"
	"github.com/hakit/hakit/scsi"
)

// Mailbox is agent.Mailbox over an SBD device: sbd.Watcher on the device
// opened on first use (and again after an error). One goroutine (the
// agent's watcher) uses it.
type Mailbox struct {
	Cfg agent.SBDConfig

	mu sync.Mutex
	s  blockio.SectorCloser
	w  *sbd.Watcher
	b  *sbd.Beater // the disk heartbeat, in the slot Start found
	// req and ans are what this node's block carries (Post).
	req *agent.HandoverRequest
	ans *agent.HandoverAnswer
}

// Post implements agent.HandoverMailbox.
func (m *Mailbox) Post(req *agent.HandoverRequest, ans *agent.HandoverAnswer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.req, m.ans = req, ans
}

// post is what the Beater writes: this node's request and answer as sbd
// encodes them (a TransportID that does not encode is left out).
func (m *Mailbox) post() (sbd.Handover, sbd.Answer) {
	var h sbd.Handover
	var a sbd.Answer
	if r := m.req; r != nil {
		if tid, err := r.TransportID.MarshalBinary(); err == nil {
			h = sbd.Handover{Seq: r.Seq, Disk: r.Disk, Key: uint64(r.Key), TransportID: string(tid)}
		}
	}
	if x := m.ans; x != nil {
		a = sbd.Answer{Key: uint64(x.Key), Seq: x.Seq, Code: answerCode(x.Code)}
	}
	return h, a
}

func answerCode(s string) sbd.AnswerCode {
	switch s {
	case agent.HandoverMoved:
		return sbd.AnswerMoved
	case agent.HandoverClaimed:
		return sbd.AnswerClaimed
	}
	return sbd.AnswerFailed
}

// peerPost is a peer's request and answer as the agent reads them; a
// request whose TransportID does not decode is left out.
func peerPost(b sbd.Beat) (*agent.HandoverRequest, *agent.HandoverAnswer) {
	var req *agent.HandoverRequest
	var ans *agent.HandoverAnswer
	if h := b.Handover; h.Seq != 0 {
		if tid, err := scsi.ParseTransportID([]byte(h.TransportID)); err == nil {
			req = &agent.HandoverRequest{Seq: h.Seq, Disk: h.Disk, Key: scsi.Key(h.Key), TransportID: tid}
		}
	}
	if a := b.Answer; a.Seq != 0 {
		ans = &agent.HandoverAnswer{Key: scsi.Key(a.Key), Seq: a.Seq, Code: a.Code.String()}
	}
	return req, ans
}

// Device is the configured device.
func (m *Mailbox) Device() string { return m.Cfg.Device }

func toMessage(mb sbd.Mailbox) agent.MailboxMessage {
	p := mb.Msg == sbd.MsgReset || mb.Msg == sbd.MsgOff || mb.Msg == sbd.MsgCrashdump
	return agent.MailboxMessage{Msg: mb.Msg.String(), From: mb.From, Poison: p}
}

// Start opens the device and starts the watcher.
func (m *Mailbox) Start(ctx context.Context) (time.Duration, agent.MailboxMessage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closeLocked()
	s, err := sbd.Open(ctx, m.Cfg.Device, m.Cfg.Initiator)
	if err != nil {
		return 0, agent.MailboxMessage{}, err
	}
	m.s = s
	m.w = &sbd.Watcher{Disk: &sbd.Disk{Sectors: s, Name: m.Cfg.Device}, Name: m.Cfg.Name}
	h, slot, err := m.w.Start(ctx)
	if slot >= 0 && m.Cfg.HeartbeatMS > 0 {
		// A new incarnation at every start: a reader tells a restarted
		// writer from one whose counter stood still.
		m.b = &sbd.Beater{Disk: m.w.Disk, Slots: int(h.Slots), Slot: slot, Name: m.Cfg.Name,
			Interval:    time.Duration(m.Cfg.HeartbeatMS) * time.Millisecond,
			DeadAfter:   time.Duration(m.Cfg.HeartbeatDeadMS) * time.Millisecond,
			Incarnation: uint64(time.Now().UnixNano())}
	}
	var pe *sbd.PoisonError
	if errors.As(err, &pe) {
		return time.Duration(h.Loop) * time.Second, toMessage(pe.Mailbox), nil
	}
	if err != nil {
		m.closeLocked()
		return 0, agent.MailboxMessage{}, err
	}
	return time.Duration(h.Loop) * time.Second, agent.MailboxMessage{Msg: "clear"}, nil
}

// Check reads the slot once.
func (m *Mailbox) Check(ctx context.Context) (agent.MailboxMessage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.w == nil {
		return agent.MailboxMessage{}, errors.New("sbd: not started")
	}
	mb, err := m.w.Check(ctx)
	var pe *sbd.PoisonError
	if errors.As(err, &pe) {
		return toMessage(pe.Mailbox), nil
	}
	return toMessage(mb), err
}

// Beat implements agent.Mailbox: one round of the disk heartbeat.
func (m *Mailbox) Beat(ctx context.Context, serial, nic string) ([]agent.DiskPeer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.b == nil {
		return nil, agent.ErrSlotPending
	}
	m.b.Paths = func() (sbd.PathState, sbd.PathState) { return pathState(serial), pathState(nic) }
	m.b.Post = m.post // called inside Step, under m.mu
	err := m.b.Step(ctx)
	var out []agent.DiskPeer
	for _, p := range m.b.Peers(time.Now()) {
		d := agent.DiskPeer{Name: p.Last.Name, Slot: p.Slot, State: p.Verdict.String(), Counter: p.Last.Counter, Incarnation: p.Last.Incarnation, Serial: p.Last.Serial.String(), NIC: p.Last.NIC.String()}
		d.Request, d.Answer = peerPost(p.Last)
		if !p.Moved.IsZero() {
			t := p.Moved.UTC()
			d.Changed = &t
		}
		out = append(out, d)
	}
	return out, err
}

func pathState(s string) sbd.PathState {
	switch s {
	case agent.PathUp:
		return sbd.PathUp
	case agent.PathDown:
		return sbd.PathDown
	}
	return sbd.PathUnknown
}

// Close closes the device.
func (m *Mailbox) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closeLocked()
	return nil
}

func (m *Mailbox) closeLocked() {
	if m.s != nil {
		_ = m.s.Close()
		m.s, m.w, m.b = nil, nil, nil
	}
}
