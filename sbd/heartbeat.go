package sbd

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
	"time"
)

// The disk heartbeat (hakit's, beyond sbd): each node writes a status
// block into its own sector of the area after sbd's last mailbox
// (HeartbeatSector), every interval; each node reads the others'. sbd never
// touches that area. FORMAT.md has the layout.

// BeatMagic opens a status block.
const BeatMagic = "HKDB"

// BeatVersion is the status block's version: 2 while the block carries a
// handover request or answer (Beat.Handover, Beat.Answer), else 1, which
// the readers of version 1 still read.
const BeatVersion = 2

const (
	beatLen   = 104 // version 1
	beatLenV2 = 464
	// HandoverDiskMax and HandoverTransportIDMax bound a handover
	// request's disk identity and TransportID.
	HandoverDiskMax        = 64
	HandoverTransportIDMax = 256
)

// Handover is a handover request in a status block (version 2): the
// writer asks whichever member holds the persistent reservation of Disk
// for lockout only to move it to the writer (scsi.Owner.Move).
type Handover struct {
	// Seq numbers the writer's requests; 0 is no request (a version 1
	// block).
	Seq uint64
	// Disk is the disk's identity both ends agree on (the logical unit's
	// device identifier, e.g. its NAA designator as scsi.Identity.ID).
	Disk string
	// Key is the writer's reservation key on Disk.
	Key uint64
	// TransportID is the writer's initiator port on Disk, encoded as
	// SPC-4 7.6.4 (scsi.TransportID.MarshalBinary).
	TransportID string
}

// PathState is a node's view of one heartbeat path.
type PathState uint8

// Path states; Unknown is never "down".
const (
	PathUnknown PathState = 0
	PathUp      PathState = 1
	PathDown    PathState = 2
)

func (p PathState) String() string {
	switch p {
	case PathUp:
		return "up"
	case PathDown:
		return "down"
	}
	return "unknown"
}

// Beat is one node's status block.
type Beat struct {
	// Counter goes up by one at every write of one incarnation.
	Counter uint64
	// Incarnation changes at every start of the writer.
	Incarnation uint64
	// Time is the writer's wall clock at the write (informational: liveness
	// is judged by the counter moving, on the reader's clock).
	Time time.Time
	// Interval is the writer's write interval.
	Interval time.Duration
	// Serial and NIC are the writer's view of the other two paths.
	Serial, NIC PathState
	// Name is the writer's node name.
	Name string
	// Handover is the writer's handover request; zero Seq: none.
	Handover Handover
	// Answer is the writer's answer to another node's request; zero Seq:
	// none.
	Answer Answer
}

// Answer is a holder's answer to a handover request: which request (the
// requester's key and request counter) and what became of it.
type Answer struct {
	Key  uint64
	Seq  uint64
	Code AnswerCode
}

// AnswerCode is what a holder did with a handover request.
type AnswerCode uint8

// Answer codes.
const (
	AnswerNone AnswerCode = 0
	// AnswerMoved: the reservation was moved to the requester and the
	// move verified.
	AnswerMoved AnswerCode = 1
	// AnswerClaimed: refused, the holder's own claim (its resource runs
	// there).
	AnswerClaimed AnswerCode = 2
	// AnswerFailed: the move was tried and failed (the holder's event
	// says why).
	AnswerFailed AnswerCode = 3
)

func (c AnswerCode) String() string {
	switch c {
	case AnswerNone:
		return "none"
	case AnswerMoved:
		return "moved"
	case AnswerClaimed:
		return "claimed"
	case AnswerFailed:
		return "failed"
	}
	return fmt.Sprintf("answer %d", uint8(c))
}

// ErrNoBeat: the sector holds no status block (never written, or zeroed).
var ErrNoBeat = errors.New("sbd: no disk-heartbeat block")

// ErrBeatCRC: the block's checksum does not match (a torn or foreign
// write).
var ErrBeatCRC = errors.New("sbd: disk-heartbeat block checksum mismatch")

// MarshalSector encodes b into one sector: version 1 without a handover
// request, version 2 with one.
func (b Beat) MarshalSector(sectorSize int) ([]byte, error) {
	n, version := beatLen, byte(1)
	if b.Handover.Seq != 0 || b.Answer.Seq != 0 {
		n, version = beatLenV2, 2
	}
	if sectorSize < n {
		return nil, fmt.Errorf("sbd: sector size %d", sectorSize)
	}
	if b.Interval < 0 || b.Interval/time.Millisecond > 0xffffffff {
		return nil, fmt.Errorf("sbd: heartbeat interval %s", b.Interval)
	}
	out := make([]byte, sectorSize)
	copy(out, BeatMagic)
	out[4], out[5], out[6] = version, byte(b.Serial), byte(b.NIC)
	be := binary.BigEndian
	be.PutUint64(out[8:], b.Counter)
	be.PutUint64(out[16:], b.Incarnation)
	be.PutUint64(out[24:], uint64(b.Time.UnixNano()))
	be.PutUint32(out[32:], uint32(b.Interval/time.Millisecond))
	if err := putName(out[36:100], b.Name); err != nil {
		return nil, err
	}
	if version == 1 {
		be.PutUint32(out[100:], crc32.ChecksumIEEE(out[:100]))
		return out, nil
	}
	h := b.Handover
	if len(h.Disk) > HandoverDiskMax || strings.IndexByte(h.Disk, 0) >= 0 {
		return nil, fmt.Errorf("sbd: handover disk %q: want at most %d bytes and no NUL", h.Disk, HandoverDiskMax)
	}
	if len(h.TransportID) > HandoverTransportIDMax {
		return nil, fmt.Errorf("sbd: handover TransportID of %d bytes: want at most %d", len(h.TransportID), HandoverTransportIDMax)
	}
	be.PutUint64(out[100:], h.Seq)
	be.PutUint64(out[108:], h.Key)
	copy(out[116:180], h.Disk)
	be.PutUint16(out[180:], uint16(len(h.TransportID)))
	copy(out[184:440], h.TransportID)
	be.PutUint64(out[440:], b.Answer.Key)
	be.PutUint64(out[448:], b.Answer.Seq)
	out[456] = byte(b.Answer.Code)
	be.PutUint32(out[460:], crc32.ChecksumIEEE(out[:460]))
	return out, nil
}

// ParseBeat decodes a status block of version 1 or 2.
func ParseBeat(b []byte) (Beat, error) {
	if len(b) < beatLen {
		return Beat{}, fmt.Errorf("%w: heartbeat block of %d bytes, want %d", ErrShort, len(b), beatLen)
	}
	if string(b[:4]) != BeatMagic {
		return Beat{}, ErrNoBeat
	}
	be := binary.BigEndian
	crcAt := 100
	switch b[4] {
	case 1:
	case 2:
		if len(b) < beatLenV2 {
			return Beat{}, fmt.Errorf("%w: version 2 heartbeat block of %d bytes, want %d", ErrShort, len(b), beatLenV2)
		}
		crcAt = 460
	default:
		if crc32.ChecksumIEEE(b[:100]) != be.Uint32(b[100:]) {
			return Beat{}, ErrBeatCRC
		}
		return Beat{}, fmt.Errorf("sbd: disk-heartbeat block version %d, want 1 or %d", b[4], BeatVersion)
	}
	if crc32.ChecksumIEEE(b[:crcAt]) != be.Uint32(b[crcAt:]) {
		return Beat{}, ErrBeatCRC
	}
	st := func(v byte) PathState {
		if v > 2 {
			return PathUnknown
		}
		return PathState(v)
	}
	out := Beat{
		Serial: st(b[5]), NIC: st(b[6]),
		Counter: be.Uint64(b[8:]), Incarnation: be.Uint64(b[16:]),
		Time:     time.Unix(0, int64(be.Uint64(b[24:]))).UTC(),
		Interval: time.Duration(be.Uint32(b[32:])) * time.Millisecond,
		Name:     getName(b[36:100]),
	}
	if b[4] == 2 {
		h := Handover{Seq: be.Uint64(b[100:]), Key: be.Uint64(b[108:]), Disk: string(b[116:180])}
		if i := strings.IndexByte(h.Disk, 0); i >= 0 {
			h.Disk = h.Disk[:i]
		}
		n := int(be.Uint16(b[180:]))
		if n > HandoverTransportIDMax {
			return Beat{}, fmt.Errorf("sbd: disk-heartbeat handover TransportID length %d, want at most %d", n, HandoverTransportIDMax)
		}
		h.TransportID = string(b[184 : 184+n])
		a := Answer{Key: be.Uint64(b[440:]), Seq: be.Uint64(b[448:]), Code: AnswerCode(b[456])}
		if h.Seq == 0 && a.Seq == 0 {
			return Beat{}, errors.New("sbd: version 2 disk-heartbeat block with neither a request nor an answer")
		}
		if h.Seq == 0 {
			h = Handover{} // no request: its fields mean nothing
		}
		if a.Seq == 0 {
			a = Answer{}
		}
		out.Handover, out.Answer = h, a
	}
	return out, nil
}

// Liveness is the disk path's verdict on a peer.
type Liveness int

// Verdicts. Unknown (never seen, or this node cannot read the disk) is
// never Dead.
const (
	Unknown Liveness = iota
	Alive
	Dead
)

func (l Liveness) String() string {
	return [...]string{"unknown", "alive", "dead"}[l]
}

// Tracker judges one peer from its status blocks, on the reader's clock:
// the peer is alive while its counter (or incarnation) moved within
// DeadAfter, dead once it has not for DeadAfter after having been seen
// alive, unknown before that. Pure: the caller passes the time. Not safe
// for concurrent use.
type Tracker struct {
	DeadAfter time.Duration

	seen      bool
	last      Beat
	moved     time.Time
	readError bool
}

// Observe records a read of the peer's block at now.
func (t *Tracker) Observe(b Beat, now time.Time) {
	t.readError = false
	if !t.seen || b.Counter != t.last.Counter || b.Incarnation != t.last.Incarnation {
		if t.seen || b.Counter != 0 {
			t.moved = now
		}
		if !t.seen {
			// The first read proves nothing about now: a block left by a
			// node that died long ago looks the same. Alive only once it
			// moves.
			t.moved = time.Time{}
		}
		t.seen = true
		t.last = b
	}
}

// ReadFailed records that this node could not read the disk: the verdict
// becomes Unknown until the next successful read.
func (t *Tracker) ReadFailed() { t.readError = true }

// Last is the last block read.
func (t *Tracker) Last() Beat { return t.last }

// Verdict is the peer's state at now.
func (t *Tracker) Verdict(now time.Time) Liveness {
	switch {
	case t.readError || !t.seen:
		return Unknown
	case t.moved.IsZero():
		// Seen but never moved: a block left by a node gone long ago,
		// or one not started yet. Not proof of either.
		return Unknown
	case now.Sub(t.moved) < t.DeadAfter:
		return Alive
	}
	return Dead
}
