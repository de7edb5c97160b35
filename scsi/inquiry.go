package scsi

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// Standard is the standard INQUIRY data (SPC-4 6.6.2).
type Standard struct {
	Qualifier  byte
	DeviceType byte
	Removable  bool
	// Version is the VERSION field (6 = SPC-4, 5 = SPC-3).
	Version    byte
	NormACA    bool
	HiSup      bool
	DataFormat byte
	SCCS       bool
	// TPGS is the asymmetric access support (0 none, 1 implicit, 2
	// explicit, 3 both).
	TPGS     byte
	Protect  bool
	EncServ  bool
	MultiP   bool
	CmdQue   bool
	Vendor   string
	Product  string
	Revision string
}

// ParseInquiry decodes standard INQUIRY data. At least 36 bytes are
// needed for the identification strings; the ones a shorter answer lacks
// stay empty.
func ParseInquiry(b []byte) (Standard, error) {
	if len(b) < 5 {
		return Standard{}, fmt.Errorf("scsi: INQUIRY: %w: %d bytes, want at least 5", ErrShortData, len(b))
	}
	s := Standard{
		Qualifier: b[0] >> 5, DeviceType: b[0] & 0x1f,
		Removable: b[1]&0x80 != 0, Version: b[2],
		NormACA: b[3]&0x20 != 0, HiSup: b[3]&0x10 != 0, DataFormat: b[3] & 0x0f,
	}
	end := min(len(b), 5+int(b[4]))
	b = b[:end]
	if len(b) > 5 {
		s.SCCS, s.TPGS, s.Protect = b[5]&0x80 != 0, b[5]>>4&3, b[5]&0x01 != 0
	}
	if len(b) > 6 {
		s.EncServ, s.MultiP = b[6]&0x40 != 0, b[6]&0x10 != 0
	}
	if len(b) > 7 {
		s.CmdQue = b[7]&0x02 != 0
	}
	s.Vendor = asciiField(b, 8, 16)
	s.Product = asciiField(b, 16, 32)
	s.Revision = asciiField(b, 32, 36)
	return s, nil
}

// MarshalBinary encodes s as 36 bytes of standard INQUIRY data.
func (s Standard) MarshalBinary() ([]byte, error) {
	b := make([]byte, 36)
	b[0] = s.Qualifier<<5 | s.DeviceType&0x1f
	if s.Removable {
		b[1] = 0x80
	}
	b[2] = s.Version
	b[3] = s.DataFormat & 0x0f
	if s.NormACA {
		b[3] |= 0x20
	}
	if s.HiSup {
		b[3] |= 0x10
	}
	b[4] = 31
	b[5] = s.TPGS & 3 << 4
	if s.SCCS {
		b[5] |= 0x80
	}
	if s.Protect {
		b[5] |= 0x01
	}
	if s.EncServ {
		b[6] |= 0x40
	}
	if s.MultiP {
		b[6] |= 0x10
	}
	if s.CmdQue {
		b[7] |= 0x02
	}
	putASCII(b[8:16], s.Vendor)
	putASCII(b[16:32], s.Product)
	putASCII(b[32:36], s.Revision)
	return b, nil
}

// DeviceTypeName names the peripheral device type ("disk").
func DeviceTypeName(t byte) string {
	switch t {
	case 0x00:
		return "disk"
	case 0x01:
		return "tape"
	case 0x05:
		return "cd/dvd"
	case 0x07:
		return "optical memory"
	case 0x08:
		return "medium changer"
	case 0x0c:
		return "storage array controller"
	case 0x0d:
		return "enclosure services"
	case 0x1f:
		return "unknown or no device type"
	}
	return fmt.Sprintf("device type 0x%02x", t)
}

func asciiField(b []byte, from, to int) string {
	if len(b) <= from {
		return ""
	}
	return cleanASCII(b[from:min(len(b), to)])
}

// cleanASCII trims spaces and NULs and replaces non-printable bytes with '.'.
func cleanASCII(b []byte) string {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c == 0 {
			c = ' '
		}
		if c < 0x20 || c > 0x7e {
			c = '.'
		}
		out = append(out, c)
	}
	return strings.TrimSpace(string(out))
}

func putASCII(dst []byte, s string) {
	for i := range dst {
		dst[i] = ' '
	}
	copy(dst, s)
}

// VPD page codes.
const (
	VPDSupportedPages = 0x00
	VPDUnitSerial     = 0x80
	VPDDeviceID       = 0x83
)

// vpdBody checks the VPD header for page and returns the page body.
func vpdBody(b []byte, page byte) ([]byte, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("scsi: VPD page 0x%02x: %w: %d bytes", page, ErrShortData, len(b))
	}
	if b[1] != page {
		return nil, fmt.Errorf("scsi: VPD page 0x%02x: device answered page 0x%02x", page, b[1])
	}
	n := int(be16(b[2:]))
	return b[4:min(len(b), 4+n)], nil
}

func vpdHeader(page byte, body []byte) []byte {
	b := make([]byte, 4, 4+len(body))
	b[1] = page
	put16(b[2:], uint16(len(body)))
	return append(b, body...)
}

// ParseSupportedPages decodes VPD page 0x00 (SPC-4 7.8.16).
func ParseSupportedPages(b []byte) ([]byte, error) {
	body, err := vpdBody(b, VPDSupportedPages)
	if err != nil {
		return nil, err
	}
	return append([]byte{}, body...), nil
}

// ParseUnitSerial decodes VPD page 0x80 (SPC-4 7.8.17).
func ParseUnitSerial(b []byte) (string, error) {
	body, err := vpdBody(b, VPDUnitSerial)
	if err != nil {
		return "", err
	}
	return cleanASCII(body), nil
}

// Designator types (SPC-4 7.8.6.1, table 591).
const (
	DesignatorVendor       = 0x0
	DesignatorT10          = 0x1
	DesignatorEUI64        = 0x2
	DesignatorNAA          = 0x3
	DesignatorRelativePort = 0x4
	DesignatorTPG          = 0x5
	DesignatorLUGroup      = 0x6
	DesignatorMD5          = 0x7
	DesignatorSCSIName     = 0x8
)

// Associations of designators.
const (
	AssocLU         = 0
	AssocTargetPort = 1
	AssocTarget     = 2
)

// Code sets.
const (
	CodeSetBinary = 1
	CodeSetASCII  = 2
	CodeSetUTF8   = 3
)

// Designator is one designation descriptor of VPD page 0x83.
type Designator struct {
	Protocol    byte
	CodeSet     byte
	PIV         bool
	Association byte
	Type        byte
	Value       []byte
}

// String renders the designator as Linux's udev does for the common
// types: "naa.6001405...", "eui.0011...", "t10.VENDOR  id", or the SCSI
// name string as is.
func (d Designator) String() string {
	switch d.Type {
	case DesignatorNAA:
		return "naa." + hex.EncodeToString(d.Value)
	case DesignatorEUI64:
		return "eui." + hex.EncodeToString(d.Value)
	case DesignatorT10:
		return "t10." + cleanASCII(d.Value)
	case DesignatorSCSIName:
		return cleanASCII(d.Value)
	case DesignatorMD5:
		return "md5." + hex.EncodeToString(d.Value)
	case DesignatorRelativePort:
		if len(d.Value) >= 4 {
			return fmt.Sprintf("relative-port.%d", be16(d.Value[2:]))
		}
	case DesignatorTPG:
		if len(d.Value) >= 4 {
			return fmt.Sprintf("tpg.%d", be16(d.Value[2:]))
		}
	}
	if d.CodeSet == CodeSetASCII || d.CodeSet == CodeSetUTF8 {
		return fmt.Sprintf("type%d.%s", d.Type, cleanASCII(d.Value))
	}
	return fmt.Sprintf("type%d.%s", d.Type, hex.EncodeToString(d.Value))
}

// TypeName names the designator type.
func (d Designator) TypeName() string {
	return [...]string{"vendor specific", "T10 vendor ID", "EUI-64", "NAA", "relative target port", "target port group", "logical unit group", "MD5 logical unit", "SCSI name string", "protocol specific port", "UUID"}[min(int(d.Type), 10)]
}

// ParseDeviceID decodes VPD page 0x83 (SPC-4 7.8.6). A descriptor that
// runs past the end is an error; the complete ones before it are returned.
func ParseDeviceID(b []byte) ([]Designator, error) {
	body, err := vpdBody(b, VPDDeviceID)
	if err != nil {
		return nil, err
	}
	var out []Designator
	for len(body) > 0 {
		if len(body) < 4 {
			return out, fmt.Errorf("scsi: VPD page 0x83: %w: trailing %d bytes", ErrShortData, len(body))
		}
		n := int(body[3])
		if 4+n > len(body) {
			return out, fmt.Errorf("scsi: VPD page 0x83 descriptor %d: %w: length %d, %d bytes left", len(out), ErrShortData, n, len(body)-4)
		}
		out = append(out, Designator{
			Protocol: body[0] >> 4, CodeSet: body[0] & 0x0f,
			PIV: body[1]&0x80 != 0, Association: body[1] >> 4 & 3, Type: body[1] & 0x0f,
			Value: append([]byte{}, body[4:4+n]...),
		})
		body = body[4+n:]
	}
	return out, nil
}

// MarshalDeviceID encodes designators as VPD page 0x83.
func MarshalDeviceID(ds []Designator) []byte {
	var body []byte
	for _, d := range ds {
		b1 := d.Association&3<<4 | d.Type&0x0f
		if d.PIV {
			b1 |= 0x80
		}
		body = append(body, d.Protocol<<4|d.CodeSet&0x0f, b1, 0, byte(len(d.Value)))
		body = append(body, d.Value...)
	}
	return vpdHeader(VPDDeviceID, body)
}

// MarshalSupportedPages encodes VPD page 0x00.
func MarshalSupportedPages(pages []byte) []byte { return vpdHeader(VPDSupportedPages, pages) }

// MarshalUnitSerial encodes VPD page 0x80.
func MarshalUnitSerial(serial string) []byte {
	return vpdHeader(VPDUnitSerial, []byte(serial))
}

// Identity is a stable name for one logical unit, the same seen from every
// node, so two nodes can tell they see the same disk.
type Identity struct {
	// ID is the chosen designator ("naa.6001405...") or, when the device
	// gives no logical-unit designator, "serial.<vendor>.<product>.<serial>".
	ID string
	// Source says where ID came from: "NAA", "EUI-64", "SCSI name string",
	// "T10 vendor ID", "MD5 logical unit" or "unit serial number".
	Source  string
	Vendor  string
	Product string
	// Revision is the product revision level.
	Revision string
	// Serial is VPD page 0x80 (empty when the page is missing).
	Serial string
	// Designators are every designator of VPD page 0x83.
	Designators []Designator
}

// SameLU reports whether two identities name the same logical unit.
func (id Identity) SameLU(other Identity) bool { return id.ID != "" && id.ID == other.ID }

// identityRank orders logical-unit designators by how globally unique they
// are (lower is better). NAA IEEE Registered Extended (6) and Registered (5)
// beat the others.
func identityRank(d Designator) int {
	if d.Association != AssocLU {
		return -1
	}
	switch d.Type {
	case DesignatorNAA:
		if len(d.Value) > 0 {
			switch d.Value[0] >> 4 {
			case 6:
				return 0
			case 5:
				return 1
			}
		}
		return 2
	case DesignatorEUI64:
		return 3
	case DesignatorSCSIName:
		return 4
	case DesignatorT10:
		return 5
	case DesignatorMD5:
		return 6
	}
	return -1
}

// NewIdentity picks the best logical-unit designator (NAA, then EUI-64,
// SCSI name string, T10 vendor ID, MD5), falling back to vendor, product
// and unit serial number. It fails when none of them is available.
func NewIdentity(std Standard, serial string, ds []Designator) (Identity, error) {
	id := Identity{Vendor: std.Vendor, Product: std.Product, Revision: std.Revision, Serial: serial, Designators: ds}
	best := -1
	for i, d := range ds {
		r := identityRank(d)
		if r < 0 || len(d.Value) == 0 {
			continue
		}
		if best < 0 || r < identityRank(ds[best]) {
			best = i
		}
	}
	switch {
	case best >= 0:
		id.ID, id.Source = ds[best].String(), ds[best].TypeName()
	case serial != "":
		id.ID, id.Source = fmt.Sprintf("serial.%s.%s.%s", std.Vendor, std.Product, serial), "unit serial number"
	default:
		return id, fmt.Errorf("scsi: logical unit %q %q has no designator in VPD page 0x83 and no unit serial number", std.Vendor, std.Product)
	}
	return id, nil
}
