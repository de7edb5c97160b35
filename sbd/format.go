// Package sbd reads and writes the on-disk format of ClusterLabs' SBD
// ("STONITH block device", sbd 1.5.2, src/sbd.h and src/sbd-md.c), so that
// hakit and the real sbd share one device: FORMAT.md describes the layout.
// The codecs in this file are pure; Disk (disk.go) does the I/O through a
// blockio.Sectors.
package sbd

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// Magic opens sector 0 of an SBD device.
const Magic = "SBD_SBD_"

const (
	// Version is the header version sbd 1.5.2 writes and accepts.
	Version = 2
	// MinorVersion 1 adds the UUID.
	MinorVersion = 1
	// Slots is how many slots sbd create makes.
	Slots = 255
	// NameMax is the longest node name a slot or a sender holds (sbd's
	// SECTOR_NAME_MAX); the name field is NameMax+1 bytes, NUL-terminated.
	NameMax = 63
	// headerLen is the bytes of struct sector_header_s that carry data
	// (magic 8, version, slots, 2 bytes of padding, five uint32, minor
	// version, uuid 16).
	headerLen = 49
	// recordLen is struct sector_node_s and sector_mbox_s: one byte, then
	// a 64-byte name.
	recordLen = 1 + NameMax + 1
)

// Header is sector 0. The timeouts are in seconds, stored big-endian
// ("network byte-order").
type Header struct {
	Version      uint8
	Slots        uint8
	SectorSize   uint32
	Watchdog     uint32
	Allocate     uint32
	Loop         uint32
	Msgwait      uint32
	MinorVersion uint8
	UUID         [16]byte
}

// DefaultHeader is what `sbd create` writes with no timeout options:
// watchdog 5 s, allocate 2 s, loop 1 s, msgwait 10 s.
func DefaultHeader(sectorSize int) Header {
	return Header{Version: Version, Slots: Slots, SectorSize: uint32(sectorSize), Watchdog: 5, Allocate: 2, Loop: 1, Msgwait: 10, MinorVersion: MinorVersion}
}

// UUIDString is the header's UUID as sbd prints it (lower-case, dashed).
func (h Header) UUIDString() string {
	u := h.UUID
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// Errors of decoding. Each is wrapped with what was read.
var (
	// ErrNoHeader: sector 0 does not start with Magic (not an SBD device,
	// or never created).
	ErrNoHeader = errors.New("sbd: no SBD header (magic SBD_SBD_ missing)")
	// ErrVersion: a header version sbd 1.5.2 would not accept.
	ErrVersion = errors.New("sbd: unsupported header version")
	// ErrShort: fewer bytes than the record needs.
	ErrShort = errors.New("sbd: truncated sector")
)

// Validate checks what sbd's valid_header checks, and that the layout fits
// in what a uint32 sector number and a sane sector size allow.
func (h Header) Validate() error {
	if h.Version != Version {
		return fmt.Errorf("%w: %d (want %d)", ErrVersion, h.Version, Version)
	}
	if h.SectorSize < 512 || h.SectorSize > 65536 || h.SectorSize&(h.SectorSize-1) != 0 {
		return fmt.Errorf("sbd: header sector size %d: want a power of two from 512 to 65536", h.SectorSize)
	}
	return nil
}

// MarshalSector encodes h into one zero-padded sector of h.SectorSize
// bytes, as sbd's header_write does.
func (h Header) MarshalSector() ([]byte, error) {
	if err := h.Validate(); err != nil {
		return nil, err
	}
	b := make([]byte, h.SectorSize)
	copy(b, Magic)
	b[8], b[9] = h.Version, h.Slots
	be := binary.BigEndian
	be.PutUint32(b[12:], h.SectorSize)
	be.PutUint32(b[16:], h.Watchdog)
	be.PutUint32(b[20:], h.Allocate)
	be.PutUint32(b[24:], h.Loop)
	be.PutUint32(b[28:], h.Msgwait)
	b[32] = h.MinorVersion
	copy(b[33:49], h.UUID[:])
	return b, nil
}

// ParseHeader decodes sector 0. It does not check the sector size against
// the device's: the caller does (sbd refuses a mismatch).
func ParseHeader(b []byte) (Header, error) {
	if len(b) < len(Magic) || string(b[:len(Magic)]) != Magic {
		if len(b) < len(Magic) {
			return Header{}, fmt.Errorf("%w: %d bytes", ErrShort, len(b))
		}
		return Header{}, fmt.Errorf("%w: sector 0 starts % x", ErrNoHeader, b[:len(Magic)])
	}
	if len(b) < headerLen {
		return Header{}, fmt.Errorf("%w: header of %d bytes, want %d", ErrShort, len(b), headerLen)
	}
	be := binary.BigEndian
	h := Header{Version: b[8], Slots: b[9], SectorSize: be.Uint32(b[12:]), Watchdog: be.Uint32(b[16:]),
		Allocate: be.Uint32(b[20:]), Loop: be.Uint32(b[24:]), Msgwait: be.Uint32(b[28:]), MinorVersion: b[32]}
	copy(h.UUID[:], b[33:49])
	if err := h.Validate(); err != nil {
		return h, err
	}
	return h, nil
}

// SlotSector is the sector of slot i's node record (sbd's SLOT_TO_SECTOR).
func SlotSector(i int) uint64 { return uint64(1 + 2*i) }

// MboxSector is the sector of slot i's mailbox (sbd's MBOX_TO_SECTOR).
func MboxSector(i int) uint64 { return uint64(2 + 2*i) }

// EndSector is the first sector after the mailbox of the last of slots
// slots: everything from there on is unused by sbd. For 255 slots it is
// 511.
func EndSector(slots int) uint64 { return MboxSector(slots-1) + 1 }

// HeartbeatSector is the sector of slot i's status block in hakit's disk
// heartbeat area, right after sbd's layout of slots slots: sbd never reads
// or writes there.
func HeartbeatSector(slots, i int) uint64 { return EndSector(slots) + uint64(i) }

// AreaSectors is how many sectors from sector 0 the SBD layout of slots
// slots and hakit's heartbeat area after it take (766 for 255 slots: 383
// KiB of 512-byte sectors, 3 MiB of 4 KiB ones).
func AreaSectors(slots int) uint64 { return HeartbeatSector(slots, slots) }

// Node is a slot's record: InUse and the node name.
type Node struct {
	InUse bool
	Name  string
}

// Message is a mailbox command (a signed char on the disk).
type Message int8

// The messages of sbd-md.c.
const (
	MsgClear     Message = 0x00 // SBD_MSG_EMPTY
	MsgTest      Message = 0x01
	MsgReset     Message = 0x02
	MsgOff       Message = 0x03
	MsgExit      Message = 0x04
	MsgCrashdump Message = 0x05
)

var msgNames = [...]string{"clear", "test", "reset", "off", "exit", "crashdump"}

// String is sbd's name for m ("reset"); one it does not know is
// "undefined", as sbd list prints it.
func (m Message) String() string {
	if m >= 0 && int(m) < len(msgNames) {
		return msgNames[m]
	}
	return "undefined"
}

// Known reports whether m is one of sbd's messages.
func (m Message) Known() bool { return m >= 0 && int(m) < len(msgNames) }

// ParseMessage is sbd's cmd2char: "clear", "test", "reset", "off", "exit",
// "crashdump".
func ParseMessage(s string) (Message, error) {
	for i, n := range msgNames {
		if s == n {
			return Message(i), nil
		}
	}
	return 0, fmt.Errorf("sbd: unknown message %q (want %s)", s, strings.Join(msgNames[:], ", "))
}

// Mailbox is a slot's mailbox: a message and its sender's name.
type Mailbox struct {
	Msg  Message
	From string
}

// name field: up to NameMax bytes, NUL-terminated, as strncpy(.., 63)
// into a zeroed 64-byte field leaves it.
func putName(b []byte, name string) error {
	if len(name) > NameMax || strings.IndexByte(name, 0) >= 0 {
		return fmt.Errorf("sbd: node name %q: want at most %d bytes and no NUL", name, NameMax)
	}
	copy(b, name)
	return nil
}

func getName(b []byte) string {
	b = b[:NameMax] // sbd compares at most SECTOR_NAME_MAX bytes
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

func record(first byte, name string, sectorSize int) ([]byte, error) {
	if sectorSize < recordLen {
		return nil, fmt.Errorf("sbd: sector size %d", sectorSize)
	}
	b := make([]byte, sectorSize)
	b[0] = first
	if err := putName(b[1:recordLen], name); err != nil {
		return nil, err
	}
	return b, nil
}

// MarshalSector encodes n as one sector of sectorSize bytes.
func (n Node) MarshalSector(sectorSize int) ([]byte, error) {
	var used byte
	if n.InUse {
		used = 1
	}
	return record(used, n.Name, sectorSize)
}

// ParseNode decodes a slot sector. Any non-zero in_use byte is in use (sbd
// tests in_use != 0 when it looks a name up).
func ParseNode(b []byte) (Node, error) {
	if len(b) < recordLen {
		return Node{}, fmt.Errorf("%w: slot of %d bytes, want %d", ErrShort, len(b), recordLen)
	}
	return Node{InUse: b[0] != 0, Name: getName(b[1:recordLen])}, nil
}

// MarshalSector encodes m as one sector of sectorSize bytes.
func (m Mailbox) MarshalSector(sectorSize int) ([]byte, error) {
	return record(byte(m.Msg), m.From, sectorSize)
}

// ParseMailbox decodes a mailbox sector. A message byte sbd does not know
// is kept as it is (Known reports false): sbd's watcher treats it as a
// partial write and clears it.
func ParseMailbox(b []byte) (Mailbox, error) {
	if len(b) < recordLen {
		return Mailbox{}, fmt.Errorf("%w: mailbox of %d bytes, want %d", ErrShort, len(b), recordLen)
	}
	return Mailbox{Msg: Message(int8(b[0])), From: getName(b[1:recordLen])}, nil
}
