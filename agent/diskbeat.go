package agent

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// diskBeat is the disk heartbeat's last round, for the status.
type diskBeat struct {
	mu    sync.Mutex
	peers []DiskPeer
	err   string
	paths Paths // this node's view, written into its block
}

// watchDiskBeat writes this node's status block and reads the others'
// every sbd.heartbeat_ms, and emits an event when a peer's state on the
// disk path changes. This node's view of the serial and NIC paths, which
// goes into its block, is refreshed in the background every
// max(2 s, 4 intervals): the NIC's view costs a probe of the peer.
func (a *Agent) watchDiskBeat(ctx context.Context, mb Mailbox) error {
	interval := time.Duration(a.cfg.SBD.HeartbeatMS) * time.Millisecond
	b := a.beat
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			p := a.pathView(pctx)
			cancel()
			b.mu.Lock()
			b.paths = p
			b.mu.Unlock()
			if !sleepCtx(ctx, max(2*time.Second, 4*interval)) {
				return
			}
		}
	}()
	t := time.NewTicker(interval)
	defer t.Stop()
	prev := map[string]string{}
	failing := ""
	for {
		b.mu.Lock()
		p := b.paths
		b.mu.Unlock()
		cctx, cancel := context.WithTimeout(ctx, max(interval, time.Second))
		peers, err := mb.Beat(cctx, p.Serial, p.NICPeer)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		b.mu.Lock()
		b.peers, b.err = peers, msg
		b.mu.Unlock()
		if errors.Is(err, ErrSlotPending) {
			// Not a disk fault: the mailbox watch is still starting.
		} else if msg != "" && failing == "" {
			a.emit(Event{Source: "diskhb", Kind: "unreachable", Msg: fmt.Sprintf("%s: disk heartbeat: %s (peers on the disk path are unknown, never dead, while it lasts)", mb.Device(), msg), Data: map[string]any{"device": mb.Device()}})
		} else if msg == "" && failing != "" {
			a.emit(Event{Source: "diskhb", Kind: "reachable", Msg: fmt.Sprintf("%s: disk heartbeat written and read again", mb.Device()), Data: map[string]any{"device": mb.Device()}})
		}
		if !errors.Is(err, ErrSlotPending) {
			failing = msg
		}
		if hm := a.handoverMailbox(); hm != nil {
			a.answerHandovers(ctx, hm, peers, &wg)
		}
		for _, pe := range peers {
			if old, ok := prev[pe.Name]; (ok || pe.State != PeerUnknown) && old != pe.State {
				a.emit(Event{Source: "diskhb", Kind: pe.State, Msg: diskPeerMsg(mb.Device(), pe, interval), Data: map[string]any{"device": mb.Device(), "peer": pe.Name, "slot": pe.Slot, "state": pe.State}})
			}
			prev[pe.Name] = pe.State
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func diskPeerMsg(dev string, p DiskPeer, interval time.Duration) string {
	switch p.State {
	case PeerAlive:
		return fmt.Sprintf("%s: %s (slot %d) alive on the disk path: its status block changes (counter %d)", dev, p.Name, p.Slot, p.Counter)
	case PeerDead:
		since := ""
		if p.Changed != nil {
			since = fmt.Sprintf(" since %s", p.Changed.UTC().Format("15:04:05.000"))
		}
		return fmt.Sprintf("%s: %s (slot %d) dead on the disk path: its status block stood still%s (counter %d; it wrote every %s or so)", dev, p.Name, p.Slot, since, p.Counter, interval)
	}
	return fmt.Sprintf("%s: %s (slot %d) unknown on the disk path", dev, p.Name, p.Slot)
}

// pathView is this node's view of the peer on the serial and NIC paths
// (the NIC's as the component already knows it: cachedNICs).
func (a *Agent) pathView(ctx context.Context) Paths {
	return PathsOf(Status{Heartbeat: componentJSON(ctx, a.deps.Heartbeat), NICs: a.cachedNICs(ctx)})
}

// diskHeartbeat is the status's disk path; nil when it is off.
func (a *Agent) diskHeartbeat() *DiskHeartbeat {
	if a.deps.Mailbox == nil || a.cfg.SBD.HeartbeatMS <= 0 {
		return nil
	}
	b := a.beat
	b.mu.Lock()
	defer b.mu.Unlock()
	return &DiskHeartbeat{Device: a.deps.Mailbox.Device(), IntervalMS: a.cfg.SBD.HeartbeatMS, DeadAfterMS: a.cfg.SBD.HeartbeatDeadMS, Error: b.err, Peers: append([]DiskPeer{}, b.peers...)}
}
