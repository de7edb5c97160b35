package sbd

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Beater writes this node's disk-heartbeat block every Interval and reads
// every other slot's, judging each peer with a Tracker. One goroutine runs
// it.
type Beater struct {
	Disk *Disk
	// Slots is the header's slot count; Slot this node's slot.
	Slots, Slot int
	Name        string
	Interval    time.Duration
	// DeadAfter is how long a peer's counter may stand still before it is
	// dead on the disk path; 0 means 4 intervals.
	DeadAfter   time.Duration
	Incarnation uint64
	// Paths returns this node's view of the serial and NIC paths; nil
	// writes unknown.
	Paths func() (serial, nic PathState)
	// Post returns this node's handover request and answer, written into
	// its block (Beat.Handover, Beat.Answer); nil or zero Seqs write none.
	Post func() (Handover, Answer)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// OnChange is called when a peer's verdict changes.
	OnChange func(slot int, peer Beat, from, to Liveness, at time.Time)
	// OnError is called with a failed write or read (nil: ignored).
	OnError func(err error)

	counter  uint64
	trackers map[int]*Tracker
	verdicts map[int]Liveness
}

// Run beats until ctx ends.
func (b *Beater) Run(ctx context.Context) error {
	t := time.NewTicker(b.Interval)
	defer t.Stop()
	for {
		_ = b.Step(ctx) // errors go to OnError
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Step writes this node's block once and reads the peers' once; it
// returns the write's and the read's errors (also given to OnError).
func (b *Beater) Step(ctx context.Context) error {
	now := time.Now
	if b.Now != nil {
		now = b.Now
	}
	if b.trackers == nil {
		b.trackers, b.verdicts = map[int]*Tracker{}, map[int]Liveness{}
	}
	dead := b.DeadAfter
	if dead == 0 {
		dead = 4 * b.Interval
	}
	ss := b.Disk.Sectors.SectorSize()
	b.counter++
	beat := Beat{Counter: b.counter, Incarnation: b.Incarnation, Time: now(), Interval: b.Interval, Name: b.Name}
	if b.Paths != nil {
		beat.Serial, beat.NIC = b.Paths()
	}
	if b.Post != nil {
		beat.Handover, beat.Answer = b.Post()
	}
	cctx, cancel := context.WithTimeout(ctx, max(b.Interval, time.Second))
	defer cancel()
	var werr error
	if sec, err := beat.MarshalSector(ss); err != nil {
		werr = err
	} else if err := b.Disk.Sectors.WriteSectors(cctx, HeartbeatSector(b.Slots, b.Slot), sec); err != nil {
		werr = fmt.Errorf("%s: disk heartbeat: write slot %d: %w", b.Disk.Name, b.Slot, err)
	}
	if werr != nil {
		b.report(werr)
	}
	area, err := b.Disk.read(cctx, HeartbeatSector(b.Slots, 0), b.Slots)
	at := now()
	for i := range b.Slots {
		if i == b.Slot {
			continue
		}
		tr := b.trackers[i]
		if err != nil {
			if tr != nil {
				tr.ReadFailed()
			}
		} else if pb, perr := ParseBeat(area[i*ss : (i+1)*ss]); perr == nil {
			if tr == nil {
				tr = &Tracker{DeadAfter: dead}
				b.trackers[i] = tr
			}
			tr.Observe(pb, at)
		}
		if tr == nil {
			continue
		}
		v := tr.Verdict(at)
		if old := b.verdicts[i]; v != old {
			b.verdicts[i] = v
			if b.OnChange != nil {
				b.OnChange(i, tr.Last(), old, v, at)
			}
		}
	}
	if err != nil {
		err = fmt.Errorf("%s: disk heartbeat: read: %w", b.Disk.Name, err)
		b.report(err)
	}
	return errors.Join(werr, err)
}

// PeerState is the disk path's view of one other slot.
type PeerState struct {
	Slot    int
	Verdict Liveness
	// Last is the last block read from the slot; Moved when its counter
	// last moved on this node's clock (zero: not seen moving).
	Last  Beat
	Moved time.Time
}

// Peers is every other slot that has held a block since the first Step,
// in slot order, judged at now.
func (b *Beater) Peers(now time.Time) []PeerState {
	var out []PeerState
	for i := range b.Slots {
		if tr := b.trackers[i]; tr != nil {
			out = append(out, PeerState{Slot: i, Verdict: tr.Verdict(now), Last: tr.Last(), Moved: tr.moved})
		}
	}
	return out
}

func (b *Beater) report(err error) {
	if b.OnError != nil {
		b.OnError(err)
	}
}
