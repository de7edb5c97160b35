package scsi

import "fmt"

// Operation codes (SPC-4, SBC-3).
const (
	OpTestUnitReady    = 0x00
	OpInquiry          = 0x12
	OpReserve6         = 0x16
	OpRelease6         = 0x17
	OpRead10           = 0x28
	OpWrite10          = 0x2a
	OpRead16           = 0x88
	OpWrite16          = 0x8a
	OpPRIn             = 0x5e
	OpPROut            = 0x5f
	OpServiceActionIn  = 0x9e
	OpReportLUNs       = 0xa0
	saReadCapacity16   = 0x10
	defaultAllocLength = 8192
)

// OpName names an operation code for messages ("INQUIRY"); unknown codes
// give "opcode 0xNN".
func OpName(op byte) string {
	switch op {
	case OpTestUnitReady:
		return "TEST UNIT READY"
	case OpInquiry:
		return "INQUIRY"
	case OpReserve6:
		return "RESERVE(6)"
	case OpRelease6:
		return "RELEASE(6)"
	case OpRead10:
		return "READ(10)"
	case OpWrite10:
		return "WRITE(10)"
	case OpRead16:
		return "READ(16)"
	case OpWrite16:
		return "WRITE(16)"
	case OpPRIn:
		return "PERSISTENT RESERVE IN"
	case OpPROut:
		return "PERSISTENT RESERVE OUT"
	case OpServiceActionIn:
		return "READ CAPACITY(16)"
	case OpReportLUNs:
		return "REPORT LUNS"
	}
	return fmt.Sprintf("opcode 0x%02x", op)
}

// CommandName names cmd for messages, with the PR service action:
// "PERSISTENT RESERVE OUT (PREEMPT)".
func CommandName(cmd *Command) string {
	if cmd == nil || len(cmd.CDB) == 0 {
		return "empty command"
	}
	switch op := cmd.CDB[0]; {
	case op == OpPRIn && len(cmd.CDB) > 1:
		return OpName(op) + " (" + PRInAction(cmd.CDB[1]&0x1f).String() + ")"
	case op == OpPROut && len(cmd.CDB) > 1:
		return OpName(op) + " (" + PROutAction(cmd.CDB[1]&0x1f).String() + ")"
	case op == OpInquiry && len(cmd.CDB) > 2 && cmd.CDB[1]&1 != 0:
		return fmt.Sprintf("INQUIRY (VPD 0x%02x)", cmd.CDB[2])
	default:
		return OpName(op)
	}
}

// TestUnitReady builds TEST UNIT READY (SPC-4 6.47).
func TestUnitReady() *Command {
	return &Command{CDB: make([]byte, 6), Direction: NoData}
}

// Inquiry builds INQUIRY for the standard data (SPC-4 6.6).
func Inquiry(allocLen uint16) *Command {
	if allocLen == 0 {
		allocLen = 96
	}
	return &Command{CDB: []byte{OpInquiry, 0, 0, byte(allocLen >> 8), byte(allocLen), 0}, Direction: FromDevice, AllocLen: int(allocLen)}
}

// InquiryVPD builds INQUIRY with EVPD set for one vital product data page.
func InquiryVPD(page byte, allocLen uint16) *Command {
	if allocLen == 0 {
		allocLen = 1024
	}
	return &Command{CDB: []byte{OpInquiry, 1, page, byte(allocLen >> 8), byte(allocLen), 0}, Direction: FromDevice, AllocLen: int(allocLen)}
}

// ReadCapacity16 builds READ CAPACITY(16) (SBC-3 5.16).
func ReadCapacity16() *Command {
	cdb := make([]byte, 16)
	cdb[0], cdb[1] = OpServiceActionIn, saReadCapacity16
	put32(cdb[10:], 32)
	return &Command{CDB: cdb, Direction: FromDevice, AllocLen: 32}
}

// ReportLUNs builds REPORT LUNS (SPC-4 6.33) with SELECT REPORT 0.
func ReportLUNs(allocLen uint32) *Command {
	if allocLen < 16 {
		allocLen = defaultAllocLength
	}
	cdb := make([]byte, 12)
	cdb[0] = OpReportLUNs
	put32(cdb[6:], allocLen)
	return &Command{CDB: cdb, Direction: FromDevice, AllocLen: int(allocLen)}
}

// Reserve6 builds the SCSI-2 RESERVE(6) of the whole logical unit (SPC-2 7.21).
func Reserve6() *Command {
	return &Command{CDB: []byte{OpReserve6, 0, 0, 0, 0, 0}, Direction: NoData}
}

// Release6 builds the SCSI-2 RELEASE(6) (SPC-2 7.16).
func Release6() *Command {
	return &Command{CDB: []byte{OpRelease6, 0, 0, 0, 0, 0}, Direction: NoData}
}

// Read10 builds READ(10) of blocks blocks at lba, of blockSize bytes each
// (SBC-3 5.11).
func Read10(lba uint32, blocks uint16, blockSize int) *Command {
	cdb := make([]byte, 10)
	cdb[0] = OpRead10
	put32(cdb[2:], lba)
	put16(cdb[7:], blocks)
	return &Command{CDB: cdb, Direction: FromDevice, AllocLen: int(blocks) * blockSize}
}

// Write10 builds WRITE(10) of data at lba; len(data) must be a multiple of
// blockSize (SBC-3 5.32).
func Write10(lba uint32, data []byte, blockSize int) (*Command, error) {
	if blockSize <= 0 || len(data) == 0 || len(data)%blockSize != 0 || len(data)/blockSize > 0xffff {
		return nil, fmt.Errorf("scsi: WRITE(10) of %d bytes: want 1 to 65535 blocks of %d bytes", len(data), blockSize)
	}
	cdb := make([]byte, 10)
	cdb[0] = OpWrite10
	put32(cdb[2:], lba)
	put16(cdb[7:], uint16(len(data)/blockSize))
	return &Command{CDB: cdb, Direction: ToDevice, Data: data}, nil
}

// fua is the FUA bit of byte 1 of READ(16) and WRITE(16): the device reads
// from, or writes through to, the medium rather than its volatile cache.
const fua = 0x08

// Read16 builds READ(16) of blocks blocks at lba, of blockSize bytes each
// (SBC-3 5.13); fua sets FUA so the data comes from the medium, not a
// cache another initiator's write may not have reached.
func Read16(lba uint64, blocks uint32, blockSize int, forceUnitAccess bool) (*Command, error) {
	if blockSize <= 0 || blocks == 0 || uint64(blocks)*uint64(blockSize) > maxTransfer {
		return nil, fmt.Errorf("scsi: READ(16) of %d blocks of %d bytes: want 1 block and at most %d bytes", blocks, blockSize, maxTransfer)
	}
	cdb := rw16(OpRead16, lba, blocks, forceUnitAccess)
	return &Command{CDB: cdb, Direction: FromDevice, AllocLen: int(blocks) * blockSize}, nil
}

// Write16 builds WRITE(16) of data at lba; len(data) must be a whole number
// of blockSize blocks (SBC-3 5.34). fua sets FUA: the command completes only
// once the data is on the medium.
func Write16(lba uint64, data []byte, blockSize int, forceUnitAccess bool) (*Command, error) {
	if blockSize <= 0 || len(data) == 0 || len(data)%blockSize != 0 || len(data) > maxTransfer {
		return nil, fmt.Errorf("scsi: WRITE(16) of %d bytes: want whole blocks of %d bytes, at most %d bytes", len(data), blockSize, maxTransfer)
	}
	cdb := rw16(OpWrite16, lba, uint32(len(data)/blockSize), forceUnitAccess)
	return &Command{CDB: cdb, Direction: ToDevice, Data: data}, nil
}

// maxTransfer bounds one READ(16) or WRITE(16) built here (16 MiB), well
// under what SG_IO and an iSCSI session accept in one command.
const maxTransfer = 16 << 20

func rw16(op byte, lba uint64, blocks uint32, forceUnitAccess bool) []byte {
	cdb := make([]byte, 16)
	cdb[0] = op
	if forceUnitAccess {
		cdb[1] = fua
	}
	put64(cdb[2:], lba)
	put32(cdb[10:], blocks)
	return cdb
}
