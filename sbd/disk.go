package sbd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hakit/hakit/blockio"
)

// Disk is an SBD device reached through a blockio.Sectors. It keeps no
// state: every answer is read from the device. Safe for concurrent use when
// its Sectors is.
type Disk struct {
	Sectors blockio.Sectors
	// Name is used in errors.
	Name string
	// Sleep waits d or until ctx ends; nil means a real timer. Tests
	// shorten it.
	Sleep func(ctx context.Context, d time.Duration) error
}

// ErrNoSlot: no slot is allocated to the node.
var ErrNoSlot = errors.New("sbd: no slot allocated to the node")

// ErrFull: every slot is in use.
var ErrFull = errors.New("sbd: no more free slots")

// VerifyError is a mailbox that read back different from what was written.
type VerifyError struct {
	Slot        int
	Wrote, Read Mailbox
}

func (e *VerifyError) Error() string {
	return fmt.Sprintf("sbd: slot %d: wrote %s from %q, read back %s from %q", e.Slot, e.Wrote.Msg, e.Wrote.From, e.Read.Msg, e.Read.From)
}

func (d *Disk) sleep(ctx context.Context, t time.Duration) error {
	if d.Sleep != nil {
		return d.Sleep(ctx, t)
	}
	return d.Wait(ctx, t)
}

// Wait waits t on a real timer, or until ctx ends.
func (d *Disk) Wait(ctx context.Context, t time.Duration) error {
	tm := time.NewTimer(t)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}

func (d *Disk) errf(format string, args ...any) error {
	return fmt.Errorf("%s: "+format, append([]any{d.Name}, args...)...)
}

func (d *Disk) read(ctx context.Context, lba uint64, n int) ([]byte, error) {
	b := make([]byte, n*d.Sectors.SectorSize())
	if err := d.Sectors.ReadSectors(ctx, lba, b); err != nil {
		return nil, err
	}
	return b, nil
}

// Header reads and checks sector 0, as sbd's header_get: magic, version,
// and a sector size equal to the device's.
func (d *Disk) Header(ctx context.Context) (Header, error) {
	b, err := d.read(ctx, 0, 1)
	if err != nil {
		return Header{}, err
	}
	h, err := ParseHeader(b)
	if err != nil {
		return h, d.errf("%w", err)
	}
	if int(h.SectorSize) != d.Sectors.SectorSize() {
		return h, d.errf("sbd: header sector size %d, the device's is %d", h.SectorSize, d.Sectors.SectorSize())
	}
	if h.Slots == 0 {
		return h, d.errf("sbd: header has 0 slots")
	}
	return h, nil
}

// Create writes a new header and empties every slot and mailbox, as
// `sbd create`. h.SectorSize must be the device's.
func (d *Disk) Create(ctx context.Context, h Header) error {
	if int(h.SectorSize) != d.Sectors.SectorSize() {
		return d.errf("sbd: create with sector size %d on a device of %d", h.SectorSize, d.Sectors.SectorSize())
	}
	hb, err := h.MarshalSector()
	if err != nil {
		return err
	}
	if err := d.Sectors.WriteSectors(ctx, 0, hb); err != nil {
		return err
	}
	// The slots and mailboxes are zero sectors: one write of them all.
	empty := make([]byte, int(EndSector(int(h.Slots))-1)*int(h.SectorSize))
	return d.Sectors.WriteSectors(ctx, 1, empty)
}

// Slot is one allocated slot and its mailbox.
type Slot struct {
	Index   int
	Node    Node
	Mailbox Mailbox
}

// Slots reads every slot and mailbox of h in one I/O and returns those in
// use, in slot order (sbd list).
func (d *Disk) Slots(ctx context.Context, h Header) ([]Slot, error) {
	n := int(h.Slots)
	b, err := d.read(ctx, 1, 2*n)
	if err != nil {
		return nil, err
	}
	ss := d.Sectors.SectorSize()
	var out []Slot
	for i := range n {
		node, err := ParseNode(b[2*i*ss : (2*i+1)*ss])
		if err != nil {
			return nil, d.errf("slot %d: %w", i, err)
		}
		if !node.InUse {
			continue
		}
		mb, err := ParseMailbox(b[(2*i+1)*ss : (2*i+2)*ss])
		if err != nil {
			return nil, d.errf("slot %d: %w", i, err)
		}
		out = append(out, Slot{Index: i, Node: node, Mailbox: mb})
	}
	return out, nil
}

// Lookup finds name's slot (case-insensitive over 63 bytes, as sbd);
// ErrNoSlot when none.
func (d *Disk) Lookup(ctx context.Context, h Header, name string) (int, error) {
	slots, err := d.Slots(ctx, h)
	if err != nil {
		return -1, err
	}
	for _, s := range slots {
		if sameName(s.Node.Name, name) {
			return s.Index, nil
		}
	}
	return -1, d.errf("%w %q", ErrNoSlot, name)
}

func sameName(a, b string) bool {
	if len(b) > NameMax {
		b = b[:NameMax]
	}
	return strings.EqualFold(a, b)
}

// Allocate returns name's slot, allocating the first unused one when it
// has none, as sbd's slot_allocate: write the slot, wait the allocate
// timeout, then look the name up again (a racing allocator that took the
// same slot wins or loses there, never both).
func (d *Disk) Allocate(ctx context.Context, name string) (slot int, allocated bool, err error) {
	if name == "" {
		return -1, false, d.errf("sbd: allocate: no node name")
	}
	h, err := d.Header(ctx)
	if err != nil {
		return -1, false, err
	}
	for {
		i, err := d.Lookup(ctx, h, name)
		if err == nil {
			return i, allocated, nil
		}
		if !errors.Is(err, ErrNoSlot) {
			return -1, false, err
		}
		free, err := d.firstUnused(ctx, h)
		if err != nil {
			return -1, false, err
		}
		rec, err := Node{InUse: true, Name: name}.MarshalSector(int(h.SectorSize))
		if err != nil {
			return -1, false, err
		}
		if err := d.Sectors.WriteSectors(ctx, SlotSector(free), rec); err != nil {
			return -1, false, err
		}
		allocated = true
		if err := d.sleep(ctx, time.Duration(h.Allocate)*time.Second); err != nil {
			return -1, false, err
		}
	}
}

func (d *Disk) firstUnused(ctx context.Context, h Header) (int, error) {
	used, err := d.Slots(ctx, h)
	if err != nil {
		return -1, err
	}
	next := 0
	for _, s := range used {
		if s.Index != next {
			break
		}
		next++
	}
	if next >= int(h.Slots) {
		return -1, d.errf("%w (%d)", ErrFull, h.Slots)
	}
	return next, nil
}

// ReadMailbox reads slot's mailbox.
func (d *Disk) ReadMailbox(ctx context.Context, slot int) (Mailbox, error) {
	b, err := d.read(ctx, MboxSector(slot), 1)
	if err != nil {
		return Mailbox{}, err
	}
	m, err := ParseMailbox(b)
	if err != nil {
		return m, d.errf("slot %d: %w", slot, err)
	}
	return m, nil
}

// WriteMailbox writes slot's mailbox and reads it back (sbd's
// mbox_write_verify); a different read-back is a *VerifyError.
func (d *Disk) WriteMailbox(ctx context.Context, slot int, m Mailbox) error {
	b, err := m.MarshalSector(d.Sectors.SectorSize())
	if err != nil {
		return err
	}
	if err := d.Sectors.WriteSectors(ctx, MboxSector(slot), b); err != nil {
		return err
	}
	got, err := d.ReadMailbox(ctx, slot)
	if err != nil {
		return err
	}
	if got != m {
		return &VerifyError{Slot: slot, Wrote: m, Read: got}
	}
	return nil
}

// Message writes m from from into name's mailbox, verified, then (except
// for exit) waits the header's msgwait, as `sbd message`: when it returns
// nil after a reset or off, a victim whose sbd watches its slot has had
// msgwait to read it and fence itself. It returns the slot written.
func (d *Disk) Message(ctx context.Context, name string, m Message, from string) (int, error) {
	if !m.Known() {
		return -1, d.errf("sbd: message %d is not one of sbd's", m)
	}
	h, err := d.Header(ctx)
	if err != nil {
		return -1, err
	}
	slot, err := d.Lookup(ctx, h, name)
	if err != nil {
		return -1, err
	}
	if err := d.WriteMailbox(ctx, slot, Mailbox{Msg: m, From: from}); err != nil {
		return slot, err
	}
	if m == MsgExit {
		return slot, nil
	}
	return slot, d.sleep(ctx, time.Duration(h.Msgwait)*time.Second)
}
