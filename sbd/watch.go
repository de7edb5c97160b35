package sbd

import (
	"context"
	"fmt"
)

// PoisonError is a message that asks this node to fence itself (reset,
// off, crashdump), or, at start, a fencing message left in the mailbox
// (sbd refuses to start over one: manual intervention is required).
type PoisonError struct {
	Slot    int
	Mailbox Mailbox
	AtStart bool
}

func (e *PoisonError) Error() string {
	if e.AtStart {
		return fmt.Sprintf("sbd: slot %d holds a fencing message %s from %q since before start: clear it (message NODE clear) after checking the node", e.Slot, e.Mailbox.Msg, e.Mailbox.From)
	}
	return fmt.Sprintf("sbd: slot %d: %s from %q", e.Slot, e.Mailbox.Msg, e.Mailbox.From)
}

// Watcher watches one node's slot as sbd's disk servant does. Check is
// called every header Loop seconds by its owner; a Watcher is not safe for
// concurrent use.
type Watcher struct {
	Disk   *Disk
	Name   string
	slot   int
	header Header
	node   Node
}

// Start reads the header, allocates (or finds) Name's slot, refuses a
// fencing message already there (a *PoisonError with AtStart) and empties
// the mailbox, as sbd's servant does on its first start; a test message is
// kept for Check to answer.
func (w *Watcher) Start(ctx context.Context) (Header, int, error) {
	h, err := w.Disk.Header(ctx)
	if err != nil {
		return h, -1, err
	}
	slot, _, err := w.Disk.Allocate(ctx, w.Name)
	if err != nil {
		return h, -1, err
	}
	w.header, w.slot, w.node = h, slot, Node{InUse: true, Name: w.Name}
	slots, err := w.Disk.Slots(ctx, h)
	if err != nil {
		return h, slot, err
	}
	for _, s := range slots {
		if s.Index == slot {
			w.node = s.Node
		}
	}
	m, err := w.Disk.ReadMailbox(ctx, slot)
	if err != nil {
		return h, slot, err
	}
	switch m.Msg {
	case MsgReset, MsgOff, MsgCrashdump:
		return h, slot, &PoisonError{Slot: slot, Mailbox: m, AtStart: true}
	case MsgTest:
		// sbd refuses to start over a test message too; it fences
		// nothing, so it is left for the first Check to answer.
		return h, slot, nil
	}
	return h, slot, w.Disk.WriteMailbox(ctx, slot, Mailbox{})
}

// Check reads the header, the slot and the mailbox once. It returns the
// message found (MsgClear when none). A test message, and a message sbd
// does not know, are cleared here (as sbd does). Reset, off and crashdump
// return a *PoisonError: the caller fences this node. A header or slot
// that changed since Start is an error (sbd's servant exits on it, and its
// inquisitor then fences the node unless another disk still answers).
func (w *Watcher) Check(ctx context.Context) (Mailbox, error) {
	h, err := w.Disk.Header(ctx)
	if err != nil {
		return Mailbox{}, err
	}
	if h != w.header {
		return Mailbox{}, fmt.Errorf("%s: sbd: header changed since start (%+v, was %+v)", w.Disk.Name, h, w.header)
	}
	b, err := w.Disk.read(ctx, SlotSector(w.slot), 1)
	if err != nil {
		return Mailbox{}, err
	}
	if n, err := ParseNode(b); err != nil || n != w.node {
		return Mailbox{}, fmt.Errorf("%s: sbd: slot %d changed since start (%+v, was %+v; %v)", w.Disk.Name, w.slot, n, w.node, err)
	}
	m, err := w.Disk.ReadMailbox(ctx, w.slot)
	if err != nil {
		return m, err
	}
	switch m.Msg {
	case MsgClear, MsgExit:
		return m, nil
	case MsgReset, MsgOff, MsgCrashdump:
		return m, &PoisonError{Slot: w.slot, Mailbox: m}
	}
	// test, or a message sbd does not know (a torn write): clear it.
	return m, w.Disk.WriteMailbox(ctx, w.slot, Mailbox{})
}

// Slot is the slot Start found.
func (w *Watcher) Slot() int { return w.slot }
