package scsi

import "fmt"

// Capacity is the READ CAPACITY(16) answer (SBC-3 5.16.2).
type Capacity struct {
	// LastLBA is the address of the last logical block.
	LastLBA   uint64
	BlockSize uint32
	// ProtectionType and ProtectionEnabled (P_TYPE, PROT_EN).
	ProtectionType    byte
	ProtectionEnabled bool
	// PhysicalExponent: 2^n logical blocks per physical block.
	PhysicalExponent byte
	// ThinProvisioned: LBPME; ThinZeroes: LBPRZ.
	ThinProvisioned  bool
	ThinZeroes       bool
	LowestAlignedLBA uint16
}

// Blocks is the number of logical blocks.
func (c Capacity) Blocks() uint64 { return c.LastLBA + 1 }

// Bytes is the capacity in bytes.
func (c Capacity) Bytes() uint64 { return c.Blocks() * uint64(c.BlockSize) }

// ParseReadCapacity16 decodes READ CAPACITY(16) parameter data (at least
// 12 bytes; the optional fields need 16).
func ParseReadCapacity16(b []byte) (Capacity, error) {
	if len(b) < 12 {
		return Capacity{}, fmt.Errorf("scsi: READ CAPACITY(16): %w: %d bytes, want 32", ErrShortData, len(b))
	}
	c := Capacity{LastLBA: be64(b), BlockSize: be32(b[8:])}
	if len(b) >= 16 {
		c.ProtectionType, c.ProtectionEnabled = b[12]>>1&7, b[12]&1 != 0
		c.PhysicalExponent = b[13] & 0x0f
		c.ThinProvisioned, c.ThinZeroes = b[14]&0x80 != 0, b[14]&0x40 != 0
		c.LowestAlignedLBA = be16(b[14:]) & 0x3fff
	}
	return c, nil
}

// MarshalBinary encodes c as 32 bytes of READ CAPACITY(16) data.
func (c Capacity) MarshalBinary() ([]byte, error) {
	b := make([]byte, 32)
	put64(b, c.LastLBA)
	put32(b[8:], c.BlockSize)
	b[12] = c.ProtectionType & 7 << 1
	if c.ProtectionEnabled {
		b[12] |= 1
	}
	b[13] = c.PhysicalExponent & 0x0f
	put16(b[14:], c.LowestAlignedLBA&0x3fff)
	if c.ThinProvisioned {
		b[14] |= 0x80
	}
	if c.ThinZeroes {
		b[14] |= 0x40
	}
	return b, nil
}

// ParseReportLUNs decodes REPORT LUNS parameter data (SPC-4 6.33) into
// logical unit numbers. Peripheral (00b) and flat (01b) addressing are
// decoded; other methods give the first two bytes as a number.
func ParseReportLUNs(b []byte) ([]uint64, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("scsi: REPORT LUNS: %w: %d bytes, want at least 8", ErrShortData, len(b))
	}
	body := b[8:]
	n := lenField(be32(b), len(body))
	luns := []uint64{}
	for i := 0; i+8 <= n; i += 8 {
		e := body[i:]
		switch e[0] >> 6 {
		case 0:
			luns = append(luns, uint64(e[1]))
		case 1:
			luns = append(luns, uint64(e[0]&0x3f)<<8|uint64(e[1]))
		default:
			luns = append(luns, uint64(be16(e)))
		}
	}
	return luns, nil
}

// MarshalReportLUNs encodes luns with peripheral (below 256) or flat
// addressing.
func MarshalReportLUNs(luns []uint64) []byte {
	b := make([]byte, 8+8*len(luns))
	put32(b, uint32(8*len(luns)))
	for i, l := range luns {
		e := b[8+8*i:]
		if l < 256 {
			e[1] = byte(l)
		} else {
			e[0], e[1] = 0x40|byte(l>>8)&0x3f, byte(l)
		}
	}
	return b
}
