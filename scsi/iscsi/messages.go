package iscsi

import (
	"encoding/binary"
	"fmt"
)

// The typed basic header segments (RFC 7143 chapter 11). Each type has a
// marshal method that builds a rawPDU; parseMessage goes the other way.
// Reserved fields are written as zero and ignored when read. The LUN field is
// kept as its raw 8 bytes (SAM-5 format), see lunField.

// message is one typed PDU.
type message interface {
	marshal() rawPDU
}

func put32(b []byte, v uint32) { binary.BigEndian.PutUint32(b, v) }
func get32(b []byte) uint32    { return binary.BigEndian.Uint32(b) }
func put16(b []byte, v uint16) { binary.BigEndian.PutUint16(b, v) }
func get16(b []byte) uint16    { return binary.BigEndian.Uint16(b) }
func put64(b []byte, v uint64) { binary.BigEndian.PutUint64(b, v) }
func get64(b []byte) uint64    { return binary.BigEndian.Uint64(b) }

func bit(v bool, mask byte) byte {
	if v {
		return mask
	}
	return 0
}

// lunField encodes a LUN number for the 8-byte LUN field: peripheral device
// addressing below 256, flat space addressing up to 16383 (SAM-5 4.7), as
// Linux and libiscsi do.
func lunField(lun int) uint64 {
	if lun < 256 {
		return uint64(lun) << 48
	}
	return uint64(0x4000|lun&0x3fff) << 48
}

// lunNumber decodes an 8-byte LUN field (peripheral or flat space
// addressing; -1 for other methods).
func lunNumber(f uint64) int {
	b := uint16(f >> 48)
	switch b >> 14 {
	case 0:
		return int(b & 0xff)
	case 1:
		return int(b & 0x3fff)
	}
	return -1
}

// header starts a PDU with its opcode and immediate bit.
func header(op opcode, immediate bool) rawPDU {
	var p rawPDU
	p.BHS[0] = byte(op) | bit(immediate, 0x40)
	return p
}

// Login stages (RFC 7143 11.12.3).
const (
	stageSecurity    = 0
	stageOperational = 1
	stageFullFeature = 3
)

// loginHeader starts a Login Request or Response: flags, stages, versions,
// ISID, TSIH and ITT are at the same places in both.
func loginHeader(op opcode, transit, cont bool, csg, nsg, v2, v3 uint8, isid [6]byte, tsih uint16, itt uint32) rawPDU {
	p := header(op, op == opLoginReq)
	p.BHS[1] = bit(transit, 0x80) | bit(cont, 0x40) | (csg&3)<<2 | nsg&3
	p.BHS[2], p.BHS[3] = v2, v3
	copy(p.BHS[8:14], isid[:])
	put16(p.BHS[14:], tsih)
	put32(p.BHS[16:], itt)
	return p
}

type loginReq struct {
	Transit, Continue      bool
	CSG, NSG               uint8
	VersionMax, VersionMin uint8
	ISID                   [6]byte
	TSIH                   uint16
	ITT                    uint32
	CID                    uint16
	CmdSN, ExpStatSN       uint32
	Data                   []byte
}

func (m *loginReq) marshal() rawPDU {
	p := loginHeader(opLoginReq, m.Transit, m.Continue, m.CSG, m.NSG, m.VersionMax, m.VersionMin, m.ISID, m.TSIH, m.ITT)
	put16(p.BHS[20:], m.CID)
	put32(p.BHS[24:], m.CmdSN)
	put32(p.BHS[28:], m.ExpStatSN)
	p.Data = m.Data
	return p
}

type loginResp struct {
	Transit, Continue         bool
	CSG, NSG                  uint8
	VersionMax, VersionActive uint8
	ISID                      [6]byte
	TSIH                      uint16
	ITT                       uint32
	StatSN, ExpCmdSN          uint32
	MaxCmdSN                  uint32
	StatusClass, StatusDetail uint8
	Data                      []byte
}

func (m *loginResp) marshal() rawPDU {
	p := loginHeader(opLoginResp, m.Transit, m.Continue, m.CSG, m.NSG, m.VersionMax, m.VersionActive, m.ISID, m.TSIH, m.ITT)
	put32(p.BHS[24:], m.StatSN)
	put32(p.BHS[28:], m.ExpCmdSN)
	put32(p.BHS[32:], m.MaxCmdSN)
	p.BHS[36], p.BHS[37] = m.StatusClass, m.StatusDetail
	p.Data = m.Data
	return p
}

type textReq struct {
	Immediate, Final, Continue bool
	LUN                        uint64
	ITT, TTT                   uint32
	CmdSN, ExpStatSN           uint32
	Data                       []byte
}

func (m *textReq) marshal() rawPDU {
	p := header(opTextReq, m.Immediate)
	p.BHS[1] = bit(m.Final, 0x80) | bit(m.Continue, 0x40)
	putReq(&p, m.LUN, m.ITT, m.TTT, m.CmdSN, m.ExpStatSN)
	p.Data = m.Data
	return p
}

type textResp struct {
	Final, Continue            bool
	LUN                        uint64
	ITT, TTT                   uint32
	StatSN, ExpCmdSN, MaxCmdSN uint32
	Data                       []byte
}

func (m *textResp) marshal() rawPDU {
	p := header(opTextResp, false)
	p.BHS[1] = bit(m.Final, 0x80) | bit(m.Continue, 0x40)
	putResp(&p, m.LUN, m.ITT, m.TTT, m.StatSN, m.ExpCmdSN, m.MaxCmdSN)
	p.Data = m.Data
	return p
}

// putReq writes the fields most initiator PDUs share: LUN, ITT, the
// opcode's field at byte 20, CmdSN and ExpStatSN.
func putReq(p *rawPDU, lun uint64, itt, f20, cmdSN, expStatSN uint32) {
	put64(p.BHS[8:], lun)
	put32(p.BHS[16:], itt)
	put32(p.BHS[20:], f20)
	put32(p.BHS[24:], cmdSN)
	put32(p.BHS[28:], expStatSN)
}

// putResp writes the fields most target PDUs share: LUN, ITT, the field at
// byte 20 (TTT), StatSN, ExpCmdSN and MaxCmdSN.
func putResp(p *rawPDU, lun uint64, itt, f20, stat, exp, max uint32) {
	put64(p.BHS[8:], lun)
	put32(p.BHS[16:], itt)
	put32(p.BHS[20:], f20)
	putSNs(p, stat, exp, max)
}

// putSNs writes StatSN, ExpCmdSN and MaxCmdSN at bytes 24 to 35, where every
// target PDU that carries them has them.
func putSNs(p *rawPDU, stat, exp, max uint32) {
	put32(p.BHS[24:], stat)
	put32(p.BHS[28:], exp)
	put32(p.BHS[32:], max)
}

func getSNs(p *rawPDU) (stat, exp, max uint32) {
	return get32(p.BHS[24:]), get32(p.BHS[28:]), get32(p.BHS[32:])
}

// Task attributes (RFC 7143 11.3.1).
const attrSimple = 1

// ahsExtendedCDB is the AHS type carrying CDB bytes beyond 16.
const ahsExtendedCDB = 1

type scsiCmd struct {
	Immediate, Final, Read, Write bool
	Attr                          uint8
	LUN                           uint64
	ITT, ExpectedLen              uint32
	CmdSN, ExpStatSN              uint32
	CDB                           []byte // 16 bytes when parsed, more with an extended CDB AHS
	Data                          []byte
}

func (m *scsiCmd) marshal() rawPDU {
	p := header(opSCSICmd, m.Immediate)
	p.BHS[1] = bit(m.Final, 0x80) | bit(m.Read, 0x40) | bit(m.Write, 0x20) | m.Attr&7
	putReq(&p, m.LUN, m.ITT, m.ExpectedLen, m.CmdSN, m.ExpStatSN)
	copy(p.BHS[32:48], m.CDB)
	if len(m.CDB) > 16 {
		extra := m.CDB[16:]
		ahs := make([]byte, 4+len(extra)+pad4(len(extra)))
		put16(ahs, uint16(len(extra)+1))
		ahs[2] = ahsExtendedCDB
		copy(ahs[4:], extra)
		p.AHS = ahs
	}
	p.Data = m.Data
	return p
}

type scsiResp struct {
	BidiOverflow, BidiUnderflow bool
	Overflow, Underflow         bool
	Response, Status            uint8
	ITT, SNACKTag               uint32
	StatSN, ExpCmdSN, MaxCmdSN  uint32
	ExpDataSN                   uint32
	BidiResidual, Residual      uint32
	Data                        []byte
}

func (m *scsiResp) marshal() rawPDU {
	p := header(opSCSIResp, false)
	p.BHS[1] = 0x80 | bit(m.BidiOverflow, 0x10) | bit(m.BidiUnderflow, 0x08) | bit(m.Overflow, 0x04) | bit(m.Underflow, 0x02)
	p.BHS[2], p.BHS[3] = m.Response, m.Status
	putResp(&p, 0, m.ITT, m.SNACKTag, m.StatSN, m.ExpCmdSN, m.MaxCmdSN)
	put32(p.BHS[36:], m.ExpDataSN)
	put32(p.BHS[40:], m.BidiResidual)
	put32(p.BHS[44:], m.Residual)
	p.Data = m.Data
	return p
}

// sense returns the sense data of a SCSI Response's data segment, which
// starts with a 2-byte SenseLength (RFC 7143 11.4.7).
// Reject reasons (RFC 7143 11.17.1) the initiator acts on.
const rejectDataDigest = 0x02

// asyncSense returns the sense data of an asynchronous SCSI event (a
// SenseLength-prefixed segment), nil when it does not hold one.
func asyncSense(d []byte) []byte {
	if len(d) < 2 {
		return nil
	}
	n := int(get16(d))
	if n == 0 || 2+n > len(d) {
		return nil
	}
	return append([]byte(nil), d[2:2+n]...)
}

func (m *scsiResp) sense() ([]byte, error) {
	if len(m.Data) == 0 {
		return nil, nil
	}
	if len(m.Data) < 2 {
		return nil, &ProtocolError{PDU: opSCSIResp.String(), What: fmt.Sprintf("data segment of %d byte cannot hold SenseLength", len(m.Data))}
	}
	n := int(get16(m.Data))
	if 2+n > len(m.Data) {
		return nil, &ProtocolError{PDU: opSCSIResp.String(), What: fmt.Sprintf("SenseLength %d exceeds the %d bytes of sense data", n, len(m.Data)-2)}
	}
	if n == 0 {
		return nil, nil
	}
	return m.Data[2 : 2+n], nil
}

type dataOut struct {
	Final          bool
	LUN            uint64
	ITT, TTT       uint32
	ExpStatSN      uint32
	DataSN, Offset uint32
	Data           []byte
}

func (m *dataOut) marshal() rawPDU {
	p := header(opDataOut, false)
	p.BHS[1] = bit(m.Final, 0x80)
	putReq(&p, m.LUN, m.ITT, m.TTT, 0, m.ExpStatSN)
	put32(p.BHS[36:], m.DataSN)
	put32(p.BHS[40:], m.Offset)
	p.Data = m.Data
	return p
}

type dataIn struct {
	Final, Ack, Overflow, Underflow, HasStatus bool
	Status                                     uint8
	LUN                                        uint64
	ITT, TTT                                   uint32
	StatSN, ExpCmdSN, MaxCmdSN                 uint32
	DataSN, Offset, Residual                   uint32
	Data                                       []byte
}

func (m *dataIn) marshal() rawPDU {
	p := header(opDataIn, false)
	p.BHS[1] = bit(m.Final, 0x80) | bit(m.Ack, 0x40) | bit(m.Overflow, 0x04) | bit(m.Underflow, 0x02) | bit(m.HasStatus, 0x01)
	p.BHS[3] = m.Status
	putResp(&p, m.LUN, m.ITT, m.TTT, m.StatSN, m.ExpCmdSN, m.MaxCmdSN)
	put32(p.BHS[36:], m.DataSN)
	put32(p.BHS[40:], m.Offset)
	put32(p.BHS[44:], m.Residual)
	p.Data = m.Data
	return p
}

type r2t struct {
	LUN                        uint64
	ITT, TTT                   uint32
	StatSN, ExpCmdSN, MaxCmdSN uint32
	R2TSN, Offset, Length      uint32
}

func (m *r2t) marshal() rawPDU {
	p := header(opR2T, false)
	p.BHS[1] = 0x80
	putResp(&p, m.LUN, m.ITT, m.TTT, m.StatSN, m.ExpCmdSN, m.MaxCmdSN)
	put32(p.BHS[36:], m.R2TSN)
	put32(p.BHS[40:], m.Offset)
	put32(p.BHS[44:], m.Length)
	return p
}

type nopOut struct {
	Immediate        bool
	LUN              uint64
	ITT, TTT         uint32
	CmdSN, ExpStatSN uint32
	Data             []byte
}

func (m *nopOut) marshal() rawPDU {
	p := header(opNOPOut, m.Immediate)
	p.BHS[1] = 0x80
	putReq(&p, m.LUN, m.ITT, m.TTT, m.CmdSN, m.ExpStatSN)
	p.Data = m.Data
	return p
}

type nopIn struct {
	LUN                        uint64
	ITT, TTT                   uint32
	StatSN, ExpCmdSN, MaxCmdSN uint32
	Data                       []byte
}

func (m *nopIn) marshal() rawPDU {
	p := header(opNOPIn, false)
	p.BHS[1] = 0x80
	putResp(&p, m.LUN, m.ITT, m.TTT, m.StatSN, m.ExpCmdSN, m.MaxCmdSN)
	p.Data = m.Data
	return p
}

type tmReq struct {
	Immediate          bool
	Function           uint8
	LUN                uint64
	ITT, RefTaskTag    uint32
	CmdSN, ExpStatSN   uint32
	RefCmdSN, ExpDataS uint32
}

func (m *tmReq) marshal() rawPDU {
	p := header(opTaskMgmt, m.Immediate)
	p.BHS[1] = 0x80 | m.Function&0x7f
	putReq(&p, m.LUN, m.ITT, m.RefTaskTag, m.CmdSN, m.ExpStatSN)
	put32(p.BHS[32:], m.RefCmdSN)
	put32(p.BHS[36:], m.ExpDataS)
	return p
}

type tmResp struct {
	Response                   uint8
	ITT                        uint32
	StatSN, ExpCmdSN, MaxCmdSN uint32
}

func (m *tmResp) marshal() rawPDU {
	p := header(opTaskResp, false)
	p.BHS[1] = 0x80
	p.BHS[2] = m.Response
	put32(p.BHS[16:], m.ITT)
	putSNs(&p, m.StatSN, m.ExpCmdSN, m.MaxCmdSN)
	return p
}

// Logout reasons (RFC 7143 11.14.1).
const (
	logoutCloseSession    = 0
	logoutCloseConnection = 1
)

type logoutReq struct {
	Immediate        bool
	Reason           uint8
	ITT              uint32
	CID              uint16
	CmdSN, ExpStatSN uint32
}

func (m *logoutReq) marshal() rawPDU {
	p := header(opLogoutReq, m.Immediate)
	p.BHS[1] = 0x80 | m.Reason&0x7f
	put32(p.BHS[16:], m.ITT)
	put16(p.BHS[20:], m.CID)
	put32(p.BHS[24:], m.CmdSN)
	put32(p.BHS[28:], m.ExpStatSN)
	return p
}

type logoutResp struct {
	Response                   uint8
	ITT                        uint32
	StatSN, ExpCmdSN, MaxCmdSN uint32
	Time2Wait, Time2Retain     uint16
}

func (m *logoutResp) marshal() rawPDU {
	p := header(opLogoutResp, false)
	p.BHS[1] = 0x80
	p.BHS[2] = m.Response
	put32(p.BHS[16:], m.ITT)
	putSNs(&p, m.StatSN, m.ExpCmdSN, m.MaxCmdSN)
	put16(p.BHS[40:], m.Time2Wait)
	put16(p.BHS[42:], m.Time2Retain)
	return p
}

type reject struct {
	Reason                     uint8
	StatSN, ExpCmdSN, MaxCmdSN uint32
	DataSN                     uint32
	Data                       []byte // the rejected PDU's header
}

func (m *reject) marshal() rawPDU {
	p := header(opReject, false)
	p.BHS[1] = 0x80
	p.BHS[2] = m.Reason
	put32(p.BHS[16:], reservedTag)
	putSNs(&p, m.StatSN, m.ExpCmdSN, m.MaxCmdSN)
	put32(p.BHS[36:], m.DataSN)
	p.Data = m.Data
	return p
}

// rejected returns the opcode and ITT of the PDU a Reject refers to, from the
// header it carries.
func (m *reject) rejected() (opcode, uint32, bool) {
	if len(m.Data) < bhsLen {
		return 0, 0, false
	}
	return opcode(m.Data[0] & 0x3f), get32(m.Data[16:]), true
}

// Asynchronous events (RFC 7143 11.9.1).
const (
	asyncSCSIEvent       = 0
	asyncLogoutRequest   = 1
	asyncDropConnection  = 2
	asyncDropAll         = 3
	asyncNegotiateParams = 4
)

type asyncMsg struct {
	LUN                        uint64
	StatSN, ExpCmdSN, MaxCmdSN uint32
	Event, VCode               uint8
	Param1, Param2, Param3     uint16
	Data                       []byte
}

func (m *asyncMsg) marshal() rawPDU {
	p := header(opAsync, false)
	p.BHS[1] = 0x80
	put64(p.BHS[8:], m.LUN)
	put32(p.BHS[16:], reservedTag)
	putSNs(&p, m.StatSN, m.ExpCmdSN, m.MaxCmdSN)
	p.BHS[36], p.BHS[37] = m.Event, m.VCode
	put16(p.BHS[38:], m.Param1)
	put16(p.BHS[40:], m.Param2)
	put16(p.BHS[42:], m.Param3)
	p.Data = m.Data
	return p
}

// parseMessage decodes the BHS of p by its opcode. The message shares p's
// data segment.
func parseMessage(p rawPDU) (message, error) {
	b := &p.BHS
	imm := b[0]&0x40 != 0
	f1 := b[1]
	switch op := p.opcode(); op {
	case opLoginReq:
		m := &loginReq{Transit: f1&0x80 != 0, Continue: f1&0x40 != 0, CSG: f1 >> 2 & 3, NSG: f1 & 3,
			VersionMax: b[2], VersionMin: b[3], TSIH: get16(b[14:]), ITT: get32(b[16:]), CID: get16(b[20:]),
			CmdSN: get32(b[24:]), ExpStatSN: get32(b[28:]), Data: p.Data}
		copy(m.ISID[:], b[8:14])
		return m, nil
	case opLoginResp:
		m := &loginResp{Transit: f1&0x80 != 0, Continue: f1&0x40 != 0, CSG: f1 >> 2 & 3, NSG: f1 & 3,
			VersionMax: b[2], VersionActive: b[3], TSIH: get16(b[14:]), ITT: get32(b[16:]),
			StatusClass: b[36], StatusDetail: b[37], Data: p.Data}
		copy(m.ISID[:], b[8:14])
		m.StatSN, m.ExpCmdSN, m.MaxCmdSN = getSNs(&p)
		if m.Transit && m.Continue {
			return nil, &ProtocolError{PDU: op.String(), What: "both T and C bits set"}
		}
		return m, nil
	case opTextReq:
		return &textReq{Immediate: imm, Final: f1&0x80 != 0, Continue: f1&0x40 != 0, LUN: get64(b[8:]),
			ITT: get32(b[16:]), TTT: get32(b[20:]), CmdSN: get32(b[24:]), ExpStatSN: get32(b[28:]), Data: p.Data}, nil
	case opTextResp:
		m := &textResp{Final: f1&0x80 != 0, Continue: f1&0x40 != 0, LUN: get64(b[8:]), ITT: get32(b[16:]), TTT: get32(b[20:]), Data: p.Data}
		m.StatSN, m.ExpCmdSN, m.MaxCmdSN = getSNs(&p)
		return m, nil
	case opSCSICmd:
		m := &scsiCmd{Immediate: imm, Final: f1&0x80 != 0, Read: f1&0x40 != 0, Write: f1&0x20 != 0, Attr: f1 & 7,
			LUN: get64(b[8:]), ITT: get32(b[16:]), ExpectedLen: get32(b[20:]), CmdSN: get32(b[24:]), ExpStatSN: get32(b[28:]),
			CDB: append([]byte(nil), b[32:48]...), Data: p.Data}
		ext, err := extendedCDB(p.AHS)
		if err != nil {
			return nil, err
		}
		m.CDB = append(m.CDB, ext...)
		return m, nil
	case opSCSIResp:
		m := &scsiResp{BidiOverflow: f1&0x10 != 0, BidiUnderflow: f1&0x08 != 0, Overflow: f1&0x04 != 0, Underflow: f1&0x02 != 0,
			Response: b[2], Status: b[3], ITT: get32(b[16:]), SNACKTag: get32(b[20:]), ExpDataSN: get32(b[36:]),
			BidiResidual: get32(b[40:]), Residual: get32(b[44:]), Data: p.Data}
		m.StatSN, m.ExpCmdSN, m.MaxCmdSN = getSNs(&p)
		if m.Overflow && m.Underflow {
			return nil, &ProtocolError{PDU: op.String(), What: "both overflow and underflow bits set"}
		}
		return m, nil
	case opDataOut:
		return &dataOut{Final: f1&0x80 != 0, LUN: get64(b[8:]), ITT: get32(b[16:]), TTT: get32(b[20:]), ExpStatSN: get32(b[28:]),
			DataSN: get32(b[36:]), Offset: get32(b[40:]), Data: p.Data}, nil
	case opDataIn:
		m := &dataIn{Final: f1&0x80 != 0, Ack: f1&0x40 != 0, Overflow: f1&0x04 != 0, Underflow: f1&0x02 != 0, HasStatus: f1&0x01 != 0,
			Status: b[3], LUN: get64(b[8:]), ITT: get32(b[16:]), TTT: get32(b[20:]),
			DataSN: get32(b[36:]), Offset: get32(b[40:]), Residual: get32(b[44:]), Data: p.Data}
		m.StatSN, m.ExpCmdSN, m.MaxCmdSN = getSNs(&p)
		if m.HasStatus && !m.Final {
			return nil, &ProtocolError{PDU: op.String(), What: "S bit set without F bit"}
		}
		if m.Overflow && m.Underflow {
			return nil, &ProtocolError{PDU: op.String(), What: "both overflow and underflow bits set"}
		}
		return m, nil
	case opR2T:
		m := &r2t{LUN: get64(b[8:]), ITT: get32(b[16:]), TTT: get32(b[20:]), R2TSN: get32(b[36:]), Offset: get32(b[40:]), Length: get32(b[44:])}
		m.StatSN, m.ExpCmdSN, m.MaxCmdSN = getSNs(&p)
		return m, nil
	case opNOPOut:
		return &nopOut{Immediate: imm, LUN: get64(b[8:]), ITT: get32(b[16:]), TTT: get32(b[20:]), CmdSN: get32(b[24:]), ExpStatSN: get32(b[28:]), Data: p.Data}, nil
	case opNOPIn:
		m := &nopIn{LUN: get64(b[8:]), ITT: get32(b[16:]), TTT: get32(b[20:]), Data: p.Data}
		m.StatSN, m.ExpCmdSN, m.MaxCmdSN = getSNs(&p)
		return m, nil
	case opTaskMgmt:
		return &tmReq{Immediate: imm, Function: f1 & 0x7f, LUN: get64(b[8:]), ITT: get32(b[16:]), RefTaskTag: get32(b[20:]),
			CmdSN: get32(b[24:]), ExpStatSN: get32(b[28:]), RefCmdSN: get32(b[32:]), ExpDataS: get32(b[36:])}, nil
	case opTaskResp:
		m := &tmResp{Response: b[2], ITT: get32(b[16:])}
		m.StatSN, m.ExpCmdSN, m.MaxCmdSN = getSNs(&p)
		return m, nil
	case opLogoutReq:
		return &logoutReq{Immediate: imm, Reason: f1 & 0x7f, ITT: get32(b[16:]), CID: get16(b[20:]), CmdSN: get32(b[24:]), ExpStatSN: get32(b[28:])}, nil
	case opLogoutResp:
		m := &logoutResp{Response: b[2], ITT: get32(b[16:]), Time2Wait: get16(b[40:]), Time2Retain: get16(b[42:])}
		m.StatSN, m.ExpCmdSN, m.MaxCmdSN = getSNs(&p)
		return m, nil
	case opReject:
		m := &reject{Reason: b[2], DataSN: get32(b[36:]), Data: p.Data}
		m.StatSN, m.ExpCmdSN, m.MaxCmdSN = getSNs(&p)
		return m, nil
	case opAsync:
		m := &asyncMsg{LUN: get64(b[8:]), Event: b[36], VCode: b[37], Param1: get16(b[38:]), Param2: get16(b[40:]), Param3: get16(b[42:]), Data: p.Data}
		m.StatSN, m.ExpCmdSN, m.MaxCmdSN = getSNs(&p)
		return m, nil
	default:
		return nil, &ProtocolError{PDU: op.String(), What: "unsupported opcode"}
	}
}

// extendedCDB returns the CDB bytes beyond 16 carried in an extended CDB
// AHS; other AHS types are skipped.
func extendedCDB(ahs []byte) ([]byte, error) {
	var ext []byte
	for len(ahs) > 0 {
		if len(ahs) < 4 {
			return nil, &ProtocolError{PDU: opSCSICmd.String(), What: fmt.Sprintf("AHS of %d bytes is too short", len(ahs))}
		}
		n := int(get16(ahs))
		total := 3 + n + pad4(3+n) // length counts from byte 3 (type-specific byte)
		if total > len(ahs) {
			return nil, &ProtocolError{PDU: opSCSICmd.String(), What: fmt.Sprintf("AHS length %d exceeds the %d bytes left", n, len(ahs))}
		}
		if ahs[2] == ahsExtendedCDB && n > 1 {
			ext = append(ext, ahs[4:3+n]...)
		}
		ahs = ahs[total:]
	}
	return ext, nil
}
