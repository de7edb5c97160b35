package iscsi

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// opcode is the iSCSI PDU opcode (RFC 7143 11.2.1.2).
type opcode uint8

// Initiator opcodes.
const (
	opNOPOut     opcode = 0x00
	opSCSICmd    opcode = 0x01
	opTaskMgmt   opcode = 0x02
	opLoginReq   opcode = 0x03
	opTextReq    opcode = 0x04
	opDataOut    opcode = 0x05
	opLogoutReq  opcode = 0x06
	opSNACK      opcode = 0x10
	opNOPIn      opcode = 0x20
	opSCSIResp   opcode = 0x21
	opTaskResp   opcode = 0x22
	opLoginResp  opcode = 0x23
	opTextResp   opcode = 0x24
	opDataIn     opcode = 0x25
	opLogoutResp opcode = 0x26
	opR2T        opcode = 0x31
	opAsync      opcode = 0x32
	opReject     opcode = 0x3f
)

func (o opcode) String() string {
	switch o {
	case opNOPOut:
		return "NOP-Out"
	case opSCSICmd:
		return "SCSI Command"
	case opTaskMgmt:
		return "Task Management Request"
	case opLoginReq:
		return "Login Request"
	case opTextReq:
		return "Text Request"
	case opDataOut:
		return "Data-Out"
	case opLogoutReq:
		return "Logout Request"
	case opSNACK:
		return "SNACK Request"
	case opNOPIn:
		return "NOP-In"
	case opSCSIResp:
		return "SCSI Response"
	case opTaskResp:
		return "Task Management Response"
	case opLoginResp:
		return "Login Response"
	case opTextResp:
		return "Text Response"
	case opDataIn:
		return "Data-In"
	case opLogoutResp:
		return "Logout Response"
	case opR2T:
		return "R2T"
	case opAsync:
		return "Asynchronous Message"
	case opReject:
		return "Reject"
	}
	return fmt.Sprintf("opcode 0x%02x", uint8(o))
}

const (
	bhsLen = 48
	// reservedTag is the reserved task tag 0xffffffff (no ITT or TTT).
	reservedTag = 0xffffffff
	// maxDataSegment is the largest data segment the 24-bit field can carry.
	maxDataSegment = 1<<24 - 1
)

// digests says which digests a connection carries.
type digests struct {
	Header, Data bool
}

// rawPDU is one PDU split into its segments, without padding or digests.
type rawPDU struct {
	BHS  [bhsLen]byte
	AHS  []byte // additional header segments, a multiple of 4 bytes
	Data []byte // data segment, without padding
}

func (p *rawPDU) opcode() opcode { return opcode(p.BHS[0] & 0x3f) }

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// crc32c is the iSCSI digest (RFC 7143 13.1, CRC32C). It goes on the wire
// least significant byte first.
func crc32c(parts ...[]byte) uint32 {
	var c uint32
	for _, p := range parts {
		c = crc32.Update(c, castagnoli, p)
	}
	return c
}

func pad4(n int) int { return (4 - n%4) % 4 }

// encodedLen is the size of p on the wire.
func (p *rawPDU) encodedLen(d digests) int {
	n := bhsLen + len(p.AHS)
	if d.Header {
		n += 4
	}
	if len(p.Data) > 0 {
		n += len(p.Data) + pad4(len(p.Data))
		if d.Data {
			n += 4
		}
	}
	return n
}

// appendPDU encodes p with padding and digests. It sets the TotalAHSLength
// and DataSegmentLength fields of the BHS from the segments.
func appendPDU(b []byte, p *rawPDU, d digests) ([]byte, error) {
	if len(p.AHS)%4 != 0 || len(p.AHS) > 255*4 {
		return b, fmt.Errorf("iscsi: encode %v: AHS of %d bytes (want a multiple of 4, at most 1020)", p.opcode(), len(p.AHS))
	}
	if len(p.Data) > maxDataSegment {
		return b, fmt.Errorf("iscsi: encode %v: data segment of %d bytes exceeds %d", p.opcode(), len(p.Data), maxDataSegment)
	}
	bhs := p.BHS
	bhs[4] = byte(len(p.AHS) / 4)
	bhs[5], bhs[6], bhs[7] = byte(len(p.Data)>>16), byte(len(p.Data)>>8), byte(len(p.Data))
	start := len(b)
	b = append(b, bhs[:]...)
	b = append(b, p.AHS...)
	if d.Header {
		b = binary.LittleEndian.AppendUint32(b, crc32c(b[start:]))
	}
	if len(p.Data) > 0 {
		ds := len(b)
		b = append(b, p.Data...)
		b = append(b, make([]byte, pad4(len(p.Data)))...)
		if d.Data {
			b = binary.LittleEndian.AppendUint32(b, crc32c(b[ds:]))
		}
	}
	return b, nil
}

// headerInfo is what the BHS says about the rest of the PDU.
type headerInfo struct {
	AHSLen  int // bytes
	DataLen int // bytes, without padding
}

// parseHeader reads the segment lengths from a BHS and checks the data
// segment against maxData (0 means no limit beyond the field's).
func parseHeader(bhs []byte, maxData int) (headerInfo, error) {
	if len(bhs) < bhsLen {
		return headerInfo{}, &ProtocolError{What: fmt.Sprintf("short basic header segment: %d of 48 bytes", len(bhs))}
	}
	op := opcode(bhs[0] & 0x3f)
	h := headerInfo{AHSLen: int(bhs[4]) * 4, DataLen: int(bhs[5])<<16 | int(bhs[6])<<8 | int(bhs[7])}
	if maxData > 0 && h.DataLen > maxData {
		return h, &ProtocolError{PDU: op.String(), What: fmt.Sprintf("data segment of %d bytes exceeds MaxRecvDataSegmentLength %d", h.DataLen, maxData)}
	}
	return h, nil
}

// restLen is the number of bytes after the BHS: AHS, header digest, padded
// data and data digest.
func (h headerInfo) restLen(d digests) int {
	n := h.AHSLen
	if d.Header {
		n += 4
	}
	if h.DataLen > 0 {
		n += h.DataLen + pad4(h.DataLen)
		if d.Data {
			n += 4
		}
	}
	return n
}

// decodeRest builds a PDU from its BHS and the restLen bytes that follow,
// checking the digests. The PDU's segments do not alias rest.
func decodeRest(bhs, rest []byte, h headerInfo, d digests) (rawPDU, error) {
	var p rawPDU
	copy(p.BHS[:], bhs)
	op := p.opcode()
	if len(rest) != h.restLen(d) {
		return p, &ProtocolError{PDU: op.String(), What: fmt.Sprintf("PDU body of %d bytes, header says %d", len(rest), h.restLen(d))}
	}
	i := h.AHSLen
	if h.AHSLen > 0 {
		p.AHS = append([]byte(nil), rest[:i]...)
	}
	if d.Header {
		got := binary.LittleEndian.Uint32(rest[i:])
		if want := crc32c(bhs[:bhsLen], rest[:i]); got != want {
			return p, &ProtocolError{PDU: op.String(), What: fmt.Sprintf("header digest 0x%08x, computed 0x%08x", got, want), Err: ErrDigest}
		}
		i += 4
	}
	if h.DataLen > 0 {
		padded := h.DataLen + pad4(h.DataLen)
		if d.Data {
			got := binary.LittleEndian.Uint32(rest[i+padded:])
			if want := crc32c(rest[i : i+padded]); got != want {
				return p, &ProtocolError{PDU: op.String(), What: fmt.Sprintf("data digest 0x%08x, computed 0x%08x", got, want), Err: ErrDigest}
			}
		}
		p.Data = append([]byte(nil), rest[i:i+h.DataLen]...)
	}
	return p, nil
}

// decodePDU decodes one PDU from the start of b and returns it with the
// number of bytes it used.
func decodePDU(b []byte, d digests, maxData int) (rawPDU, int, error) {
	h, err := parseHeader(b, maxData)
	if err != nil {
		return rawPDU{}, 0, err
	}
	n := bhsLen + h.restLen(d)
	if len(b) < n {
		return rawPDU{}, 0, &ProtocolError{PDU: opcode(b[0] & 0x3f).String(), What: fmt.Sprintf("truncated PDU: %d of %d bytes", len(b), n)}
	}
	p, err := decodeRest(b[:bhsLen], b[bhsLen:n], h, d)
	return p, n, err
}
