package agent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/hakit/hakit/scsi"
)

// handover is the state of reservation handovers between live members
// over the disk heartbeat (scsi/OWNERSHIP.md "Handover"): this node's
// request and answer as its block carries them, and the requests it
// answered.
type handover struct {
	mu   sync.Mutex
	seq  uint64 // this node's last request
	req  *HandoverRequest
	ans  *HandoverAnswer
	busy map[scsi.Key]bool   // a move for this requester is running
	done map[scsi.Key]uint64 // the last request of each requester answered
}

// post gives the mailbox this node's request and answer.
func (h *handover) post(mb HandoverMailbox) {
	mb.Post(h.req, h.ans)
}

// handoverMailbox is the disk heartbeat's mailbox when it carries
// handover requests, nil otherwise.
func (a *Agent) handoverMailbox() HandoverMailbox {
	if a.cfg.SBD.HeartbeatMS <= 0 || a.deps.Mailbox == nil {
		return nil
	}
	mb, _ := a.deps.Mailbox.(HandoverMailbox)
	return mb
}

// handoverWait bounds how long an acquire waits for a handover: a few
// heartbeat intervals (the holder reads the request within one, moves,
// and this node reads the move back).
func (a *Agent) handoverWait() time.Duration {
	return max(8*time.Duration(a.cfg.SBD.HeartbeatMS)*time.Millisecond, 2*time.Second)
}

// noHandoverHint is added to a refused acquire when nothing could hand the
// reservation over.
const noHandoverHint = "a disk heartbeat (sbd: with heartbeat_ms) lets a member that holds the reservation for lockout only hand it over to this node"

// acquire is the acquire action on one disk: Acquire, and when another
// key holds the reservation, a handover request to its holder if that is
// a live registered member (requestHandover).
func (a *Agent) acquire(ctx context.Context, d Disk) error {
	err := d.Acquire(ctx)
	if !errors.Is(err, scsi.ErrReservedByOther) {
		return err
	}
	hd, ok := d.(HandoverDisk)
	mb := a.handoverMailbox()
	if !ok || mb == nil {
		return fmt.Errorf("%w (%s)", err, noHandoverHint)
	}
	return a.requestHandover(ctx, d, hd, mb, err)
}

// requestHandover posts a handover request for d on this node's disk
// heartbeat block and waits, a bounded time, until this node holds the
// reservation; then it claims it (Acquire). The holder must be a
// registered member alive on the disk path; else the refusal stays
// cause.
func (a *Agent) requestHandover(ctx context.Context, d Disk, hd HandoverDisk, mb HandoverMailbox, cause error) error {
	st, err := d.Status(ctx)
	if err != nil {
		return fmt.Errorf("%w (status for a handover: %v)", cause, err)
	}
	i := slices.IndexFunc(st.Members, func(m MemberKey) bool { return m.Holder && m.Registered && m.Key != st.OwnKey })
	if i < 0 {
		return fmt.Errorf("%w (held by key %s, not a registered member's: no handover)", cause, st.Holder)
	}
	holder := st.Members[i]
	if !a.diskPeerAlive(holder.Name) {
		return fmt.Errorf("%w (the holder %s is not alive on the disk heartbeat: no handover)", cause, holder.Name)
	}
	own, err := scsi.ParseKey(st.OwnKey)
	if err != nil {
		return fmt.Errorf("%w (own key: %v)", cause, err)
	}
	tid, err := hd.TransportID(ctx)
	if err != nil {
		return fmt.Errorf("%w (this node's TransportID for a handover: %v)", cause, err)
	}
	if st.Identity == "" {
		return fmt.Errorf("%w (the disk's identity is unknown: no handover)", cause)
	}
	h := a.hand
	h.mu.Lock()
	h.seq++
	req := &HandoverRequest{Seq: h.seq, Disk: st.Identity, Key: own, TransportID: tid}
	h.req = req
	h.post(mb)
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		if h.req == req {
			h.req = nil
			h.post(mb)
		}
		h.mu.Unlock()
	}()
	a.emit(Event{Source: "disk", Kind: "handover-request", Msg: fmt.Sprintf("%s: reservation held by %s (key %s): handover requested (request %d)", d.Device(), holder.Name, holder.Key, req.Seq), Data: map[string]any{"device": d.Device(), "member": holder.Name, "seq": req.Seq}})
	interval := time.Duration(a.cfg.SBD.HeartbeatMS) * time.Millisecond
	wctx, cancel := context.WithTimeout(ctx, a.handoverWait())
	defer cancel()
	t := time.NewTicker(interval / 2)
	defer t.Stop()
	for {
		select {
		case <-wctx.Done():
			// A move that landed just now is claimed, not left unclaimed
			// on this node.
			if s, err := d.Status(ctx); err == nil && s.Holder == st.OwnKey {
				return a.claimHandedOver(ctx, d, holder.Name, req.Seq)
			}
			return fmt.Errorf("%w: %s did not move the reservation within %s: %w", ErrHandoverTimeout, holder.Name, a.handoverWait(), cause)
		case <-t.C:
		}
		switch ans := a.peerAnswer(holder.Name, own, req.Seq); ans {
		case HandoverClaimed:
			return fmt.Errorf("%w: %s holds the reservation of %s (key %s) as its own claim", ErrHandoverClaimed, holder.Name, d.Device(), holder.Key)
		case HandoverFailed:
			return fmt.Errorf("%w: %s's REGISTER AND MOVE to this node failed (its events say why): %w", ErrHandoverFailed, holder.Name, cause)
		}
		// Moved, or not answered yet: read the reservation. Held by this
		// node: claim it. Held by nobody (the holder released its
		// lockout meanwhile, after an unfence): reserve it.
		s, err := d.Status(ctx)
		switch {
		case err != nil:
		case s.Holder == st.OwnKey:
			return a.claimHandedOver(ctx, d, holder.Name, req.Seq)
		case s.Holder == "":
			if err := d.Acquire(ctx); err == nil {
				return nil
			}
		}
	}
}

// claimHandedOver claims (Acquire) a reservation handed over by holder.
func (a *Agent) claimHandedOver(ctx context.Context, d Disk, holder string, seq uint64) error {
	if err := d.Acquire(ctx); err != nil {
		return fmt.Errorf("reservation handed over by %s, but claiming it failed: %w", holder, err)
	}
	a.emit(Event{Source: "disk", Kind: "handover-received", Msg: fmt.Sprintf("%s: reservation handed over by %s and claimed", d.Device(), holder), Data: map[string]any{"device": d.Device(), "member": holder, "seq": seq}})
	return nil
}

// diskPeerAlive reports whether the disk heartbeat's last round saw name
// alive.
func (a *Agent) diskPeerAlive(name string) bool {
	a.beat.mu.Lock()
	defer a.beat.mu.Unlock()
	return slices.ContainsFunc(a.beat.peers, func(p DiskPeer) bool { return p.Name == name && p.State == PeerAlive })
}

// peerAnswer is name's answer to this node's request seq, "" for none
// yet.
func (a *Agent) peerAnswer(name string, own scsi.Key, seq uint64) string {
	a.beat.mu.Lock()
	defer a.beat.mu.Unlock()
	for _, p := range a.beat.peers {
		if p.Name == name && p.Answer != nil && p.Answer.Key == own && p.Answer.Seq == seq {
			return p.Answer.Code
		}
	}
	return ""
}

// answerHandovers looks at the peers' requests of the disk heartbeat's
// last round and, for a disk this node holds, hands the reservation over
// when it is held for lockout only, or refuses when it is claimed
// (HandoverDisk.Handover). Each request is answered once, in the
// background, under the action lock; the answer goes into this node's
// block until the requester takes its request down.
func (a *Agent) answerHandovers(ctx context.Context, mb HandoverMailbox, peers []DiskPeer, wg *sync.WaitGroup) {
	h := a.hand
	h.mu.Lock()
	if x := h.ans; x != nil && !slices.ContainsFunc(peers, func(p DiskPeer) bool {
		return p.Request != nil && p.Request.Key == x.Key && p.Request.Seq == x.Seq
	}) {
		// The requester took its request down (it read the answer, or
		// gave up): the answer goes too, and the block back to version 1.
		h.ans = nil
		h.post(mb)
	}
	h.mu.Unlock()
	for _, p := range peers {
		r := p.Request
		if r == nil || p.State != PeerAlive {
			continue
		}
		h.mu.Lock()
		skip := h.busy[r.Key] || h.done[r.Key] >= r.Seq
		if !skip {
			h.busy[r.Key] = true
		}
		h.mu.Unlock()
		if skip {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, final := a.answerHandover(ctx, p.Name, *r)
			h.mu.Lock()
			delete(h.busy, r.Key)
			// Looked at once per request, answered or not: a node that
			// does not hold the disk reads its disks once for it, not at
			// every round while the request stays posted. A disk that
			// could not be read is looked at again next round.
			if final {
				h.done[r.Key] = r.Seq
			}
			if code != "" {
				h.ans = &HandoverAnswer{Key: r.Key, Seq: r.Seq, Code: code}
				h.post(mb)
			}
			h.mu.Unlock()
		}()
	}
}

// answerHandover handles one request: the answer, or "" when this node
// does not hold the disk named; final is false when a disk could not be
// read (ask again next round).
func (a *Agent) answerHandover(ctx context.Context, from string, r HandoverRequest) (code string, final bool) {
	a.act.Lock()
	defer a.act.Unlock()
	unread := false
	for _, d := range a.deps.Disks {
		hd, ok := d.(HandoverDisk)
		if !ok {
			continue
		}
		s := a.refresh(ctx, d)
		if s.Error != "" {
			unread = true
			continue
		}
		if s.Identity != r.Disk || !s.Owner {
			continue
		}
		if !slices.ContainsFunc(s.Members, func(m MemberKey) bool { return m.Key == r.Key.String() && m.Registered && m.Key != s.OwnKey }) {
			a.emit(Event{Source: "disk", Kind: "handover-refused", Msg: fmt.Sprintf("%s: handover request from %s with key %s: not a registered member's key", d.Device(), from, r.Key), Data: map[string]any{"device": d.Device(), "member": from}})
			return HandoverFailed, true
		}
		cctx, cancel := context.WithTimeout(ctx, 2*a.diskTimeout())
		err := hd.Handover(cctx, r.Key, r.TransportID)
		cancel()
		a.refresh(ctx, d)
		switch {
		case errors.Is(err, ErrHandoverClaimed):
			a.emit(Event{Source: "disk", Kind: "handover-refused", Msg: fmt.Sprintf("%s: %s asked for the reservation: refused, this node claimed it (its resource runs here)", d.Device(), from), Data: map[string]any{"device": d.Device(), "member": from}})
			return HandoverClaimed, true
		case err != nil:
			a.emit(Event{Source: "disk", Kind: "handover-failed", Msg: fmt.Sprintf("%s: handover to %s failed: %v", d.Device(), from, err), Data: map[string]any{"device": d.Device(), "member": from}})
			return HandoverFailed, true
		}
		a.emit(Event{Source: "disk", Kind: "handover", Msg: fmt.Sprintf("%s: reservation held for lockout handed over to %s (key %s, %s); this node stays registered", d.Device(), from, r.Key, r.TransportID), Data: map[string]any{"device": d.Device(), "member": from, "key": r.Key.String()}})
		return HandoverMoved, true
	}
	return "", !unread
}
