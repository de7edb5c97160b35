package serialhb

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"hash/crc32"
	"strconv"
)

// Version is the wire format version this package writes and accepts.
const Version = 1

// Sizes of the frame body (before COBS stuffing); see PROTOCOL.md.
const (
	HeaderLen = 60                            // authenticated header
	MACLen    = 16                            // HMAC-SHA256 truncated to 128 bits
	CRCLen    = 4                             // CRC-32C (Castagnoli)
	BodyLen   = HeaderLen + MACLen + CRCLen   // 80 bytes
	WireLen   = 1 + BodyLen + BodyLen/254 + 2 // leading delimiter, COBS overhead, trailing delimiter
	// MinKeyLen is the shortest shared key accepted, in bytes: the
	// HMAC-SHA256 output length, below which RFC 2104 (section 3) says a
	// key weakens the MAC.
	MinKeyLen = 32
)

// Type is the message type of a frame.
type Type uint8

// Message types.
const (
	TypeHeartbeat Type = 1 // sent every keepalive
	TypeAck       Type = 2 // immediate answer to a heartbeat flagged FlagAckRequest
	TypePing      Type = 3 // cable test probe
	TypePong      Type = 4 // answer to a ping
)

func (t Type) String() string {
	switch t {
	case TypeHeartbeat:
		return "heartbeat"
	case TypeAck:
		return "ack"
	case TypePing:
		return "ping"
	case TypePong:
		return "pong"
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// Flags of a frame.
const (
	// FlagAckRequest asks the receiver to answer a heartbeat with an ack at
	// once; a node sets it while it does not hear its peer.
	FlagAckRequest uint8 = 1 << 0
	flagsKnown           = FlagAckRequest
)

// Role is the sender's role in the pair.
type Role uint8

// Roles.
const (
	RoleUnknown Role = 0
	RoleStandby Role = 1
	RoleActive  Role = 2
)

func (r Role) String() string {
	switch r {
	case RoleUnknown:
		return "unknown"
	case RoleStandby:
		return "standby"
	case RoleActive:
		return "active"
	}
	return "Role(" + strconv.Itoa(int(r)) + ")"
}

// NodeState is the small node state every frame carries.
type NodeState struct {
	Role Role `json:"role"`
	// Resources is a bit set of the resources the sender owns (bit i:
	// resource i of the cluster configuration).
	Resources uint32 `json:"resources"`
}

// Frame is one decoded heartbeat frame. All integers are big-endian on the
// wire.
type Frame struct {
	Type        Type
	Flags       uint8
	State       NodeState
	Cluster     uint32 // cluster id; frames of another cluster are ignored
	Node        uint16 // sender node id
	Incarnation uint64 // changes (grows) on every restart of the sender
	Seq         uint64 // per-incarnation sequence number, starting at 1
	Timestamp   int64  // sender's send time, Unix nanoseconds
	// Echo fields refer to the last frame the sender received from the
	// receiver: its sequence number, its timestamp and how long the sender
	// held it before sending this frame (microseconds). Zero when none.
	EchoSeq       uint64
	EchoTimestamp int64
	EchoDelayUS   uint32
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// AppendBody appends the 80-byte body of f, authenticated with key, to dst.
// It fails only when key is shorter than MinKeyLen or f has an invalid type
// or unknown flags.
func AppendBody(dst []byte, f *Frame, key []byte) ([]byte, error) {
	if len(key) < MinKeyLen {
		return dst, fmt.Errorf("serialhb: encode: %w (%d bytes, need %d)", ErrShortKey, len(key), MinKeyLen)
	}
	if err := checkFrame(f); err != nil {
		return dst, err
	}
	return appendBody(dst, f, newMACer(key)), nil
}

func checkFrame(f *Frame) error {
	if f.Type < TypeHeartbeat || f.Type > TypePong {
		return fmt.Errorf("serialhb: encode: invalid message type %d", f.Type)
	}
	if f.Flags&^flagsKnown != 0 {
		return fmt.Errorf("serialhb: encode: unknown flags %#x", f.Flags)
	}
	return nil
}

// macer computes truncated HMAC-SHA256 with one reusable hash state.
type macer struct {
	h   hash.Hash
	sum [sha256.Size]byte
}

func newMACer(key []byte) *macer { return &macer{h: hmac.New(sha256.New, key)} }

func (m *macer) mac(header []byte) []byte {
	m.h.Reset()
	m.h.Write(header)
	return m.h.Sum(m.sum[:0])[:MACLen]
}

// appendBody is AppendBody without the checks.
func appendBody(dst []byte, f *Frame, m *macer) []byte {
	start := len(dst)
	var h [HeaderLen]byte
	h[0] = Version
	h[1] = byte(f.Type)
	h[2] = f.Flags
	h[3] = byte(f.State.Role)
	binary.BigEndian.PutUint32(h[4:], f.Cluster)
	binary.BigEndian.PutUint16(h[8:], f.Node)
	// h[10:12] reserved, zero
	binary.BigEndian.PutUint32(h[12:], f.State.Resources)
	binary.BigEndian.PutUint64(h[16:], f.Incarnation)
	binary.BigEndian.PutUint64(h[24:], f.Seq)
	binary.BigEndian.PutUint64(h[32:], uint64(f.Timestamp))
	binary.BigEndian.PutUint64(h[40:], f.EchoSeq)
	binary.BigEndian.PutUint64(h[48:], uint64(f.EchoTimestamp))
	binary.BigEndian.PutUint32(h[56:], f.EchoDelayUS)
	dst = append(dst, h[:]...)
	dst = append(dst, m.mac(h[:])...)
	return binary.BigEndian.AppendUint32(dst, crc32.Checksum(dst[start:], castagnoli))
}

// ParseBody decodes and verifies an unstuffed frame body. The checks run in
// this order and each failure is a distinct error: length (ErrMalformed),
// CRC-32C (ErrCRC), version and reserved fields (ErrMalformed or
// ErrVersion), cluster id when cluster is non-nil (ErrForeignCluster), then
// the MAC (ErrAuth). The returned frame is valid only when err is nil,
// except for ErrForeignCluster, where it holds the decoded header.
func ParseBody(b []byte, key []byte, cluster *uint32) (Frame, error) {
	if len(key) < MinKeyLen {
		return Frame{}, fmt.Errorf("serialhb: decode: %w (%d bytes, need %d)", ErrShortKey, len(key), MinKeyLen)
	}
	return parseBody(b, newMACer(key), cluster)
}

func parseBody(b []byte, m *macer, cluster *uint32) (Frame, error) {
	var f Frame
	if len(b) != BodyLen {
		return f, fmt.Errorf("%w: body is %d bytes, want %d", ErrMalformed, len(b), BodyLen)
	}
	if got, want := binary.BigEndian.Uint32(b[BodyLen-CRCLen:]), crc32.Checksum(b[:BodyLen-CRCLen], castagnoli); got != want {
		return f, fmt.Errorf("%w: got %#08x, computed %#08x", ErrCRC, got, want)
	}
	h := b[:HeaderLen]
	if h[0] != Version {
		return f, fmt.Errorf("%w: version %d, this node speaks %d", ErrVersion, h[0], Version)
	}
	f.Type = Type(h[1])
	f.Flags = h[2]
	f.State.Role = Role(h[3])
	f.Cluster = binary.BigEndian.Uint32(h[4:])
	f.Node = binary.BigEndian.Uint16(h[8:])
	f.State.Resources = binary.BigEndian.Uint32(h[12:])
	f.Incarnation = binary.BigEndian.Uint64(h[16:])
	f.Seq = binary.BigEndian.Uint64(h[24:])
	f.Timestamp = int64(binary.BigEndian.Uint64(h[32:]))
	f.EchoSeq = binary.BigEndian.Uint64(h[40:])
	f.EchoTimestamp = int64(binary.BigEndian.Uint64(h[48:]))
	f.EchoDelayUS = binary.BigEndian.Uint32(h[56:])
	switch {
	case f.Type < TypeHeartbeat || f.Type > TypePong:
		return Frame{}, fmt.Errorf("%w: message type %d", ErrMalformed, f.Type)
	case f.Flags&^flagsKnown != 0:
		return Frame{}, fmt.Errorf("%w: unknown flags %#x", ErrMalformed, f.Flags)
	case h[10] != 0 || h[11] != 0:
		return Frame{}, fmt.Errorf("%w: reserved bytes set", ErrMalformed)
	}
	if cluster != nil && f.Cluster != *cluster {
		return f, fmt.Errorf("%w: cluster %d, this node is in %d", ErrForeignCluster, f.Cluster, *cluster)
	}
	if !hmac.Equal(b[HeaderLen:HeaderLen+MACLen], m.mac(h)) {
		return Frame{}, fmt.Errorf("%w: MAC mismatch from node %d (wrong key?)", ErrAuth, f.Node)
	}
	return f, nil
}

// AppendFrame appends f as it goes on the wire: a zero delimiter, the COBS
// stuffed body and a closing zero delimiter.
func AppendFrame(dst []byte, f *Frame, key []byte) ([]byte, error) {
	var body [BodyLen]byte
	b, err := AppendBody(body[:0], f, key)
	if err != nil {
		return dst, err
	}
	return appendWire(dst, b), nil
}

func appendWire(dst, body []byte) []byte {
	dst = append(dst, 0)
	dst = AppendCOBS(dst, body)
	return append(dst, 0)
}

// EncodeFrame returns the wire bytes of f; see AppendFrame.
func EncodeFrame(f *Frame, key []byte) ([]byte, error) {
	return AppendFrame(make([]byte, 0, WireLen), f, key)
}

// DecodeFrame decodes one COBS-stuffed frame, with or without its zero
// delimiters, and verifies it like ParseBody.
func DecodeFrame(wire []byte, key []byte, cluster *uint32) (Frame, error) {
	wire = trimZeros(wire)
	var buf [BodyLen + 8]byte
	body, err := AppendUnCOBS(buf[:0], wire)
	if err != nil {
		return Frame{}, err
	}
	return ParseBody(body, key, cluster)
}

func crcOf(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// Codec encodes and decodes frames with one key and cluster id, reusing its
// HMAC state (no per-frame key setup). It is not safe for concurrent use.
type Codec struct {
	m       *macer
	cluster uint32
	buf     [BodyLen + 8]byte
}

// NewCodec returns a codec for key (at least MinKeyLen bytes) and cluster.
func NewCodec(key []byte, cluster uint32) (*Codec, error) {
	if len(key) < MinKeyLen {
		return nil, fmt.Errorf("serialhb: codec: %w (%d bytes, need %d)", ErrShortKey, len(key), MinKeyLen)
	}
	return &Codec{m: newMACer(key), cluster: cluster}, nil
}

// AppendFrame appends the wire bytes of f, with the codec's cluster id.
func (c *Codec) AppendFrame(dst []byte, f *Frame) ([]byte, error) {
	g := *f
	g.Cluster = c.cluster
	if err := checkFrame(&g); err != nil {
		return dst, err
	}
	return appendWire(dst, appendBody(c.buf[:0], &g, c.m)), nil
}

// Decode decodes and verifies one stuffed block (delimiters optional), like
// DecodeFrame with the codec's cluster id.
func (c *Codec) Decode(wire []byte) (Frame, error) {
	wire = trimZeros(wire)
	body, err := AppendUnCOBS(c.buf[:0], wire)
	if err != nil {
		return Frame{}, err
	}
	return parseBody(body, c.m, &c.cluster)
}

func trimZeros(wire []byte) []byte {
	for len(wire) > 0 && wire[0] == 0 {
		wire = wire[1:]
	}
	for len(wire) > 0 && wire[len(wire)-1] == 0 {
		wire = wire[:len(wire)-1]
	}
	return wire
}
