package scsi

import (
	"errors"
	"fmt"
)

// SenseKey is the SENSE KEY field of sense data (SPC-4 4.5.6, table 51).
type SenseKey byte

// Sense keys.
const (
	SenseNoSense        SenseKey = 0x0
	SenseRecoveredError SenseKey = 0x1
	SenseNotReady       SenseKey = 0x2
	SenseMediumError    SenseKey = 0x3
	SenseHardwareError  SenseKey = 0x4
	SenseIllegalRequest SenseKey = 0x5
	SenseUnitAttention  SenseKey = 0x6
	SenseDataProtect    SenseKey = 0x7
	SenseBlankCheck     SenseKey = 0x8
	SenseVendorSpecific SenseKey = 0x9
	SenseCopyAborted    SenseKey = 0xa
	SenseAbortedCommand SenseKey = 0xb
	SenseVolumeOverflow SenseKey = 0xd
	SenseMiscompare     SenseKey = 0xe
	SenseCompleted      SenseKey = 0xf
)

var senseKeyNames = [16]string{
	"NO SENSE", "RECOVERED ERROR", "NOT READY", "MEDIUM ERROR",
	"HARDWARE ERROR", "ILLEGAL REQUEST", "UNIT ATTENTION", "DATA PROTECT",
	"BLANK CHECK", "VENDOR SPECIFIC", "COPY ABORTED", "ABORTED COMMAND",
	"RESERVED (0xc)", "VOLUME OVERFLOW", "MISCOMPARE", "COMPLETED",
}

func (k SenseKey) String() string { return senseKeyNames[k&0xf] }

// Sentinel errors matched with errors.Is against the errors returned by
// CheckStatus (and everything built on it).
var (
	// ErrReservationConflict: status RESERVATION CONFLICT.
	ErrReservationConflict = errors.New("reservation conflict")
	// ErrUnitAttention: CHECK CONDITION with sense key UNIT ATTENTION.
	ErrUnitAttention = errors.New("unit attention")
	// ErrNotReady: CHECK CONDITION with sense key NOT READY.
	ErrNotReady = errors.New("not ready")
	// ErrIllegalRequest: CHECK CONDITION with sense key ILLEGAL REQUEST
	// (unsupported command or field).
	ErrIllegalRequest = errors.New("illegal request")
	// ErrBusy: status BUSY or TASK SET FULL.
	ErrBusy = errors.New("device busy")
	// ErrCheckCondition: any other CHECK CONDITION (see *SenseError).
	ErrCheckCondition = errors.New("check condition")
	// ErrBadSense: sense data too short or of an unknown format.
	ErrBadSense = errors.New("malformed sense data")
)

// SenseFormat tells fixed from descriptor sense data.
type SenseFormat int

// Sense data formats (SPC-4 4.5.1).
const (
	SenseFormatFixed SenseFormat = iota
	SenseFormatDescriptor
)

func (f SenseFormat) String() string {
	if f == SenseFormatDescriptor {
		return "descriptor"
	}
	return "fixed"
}

// Sense is decoded sense data (SPC-4 4.5), in either format.
type Sense struct {
	// Format is the format the device used.
	Format SenseFormat
	// Deferred is true for deferred errors (response code 0x71 or 0x73).
	Deferred bool
	Key      SenseKey
	ASC      byte
	ASCQ     byte
	// Info is the INFORMATION field, when valid.
	Info uint64
	// InfoValid reports whether Info was supplied.
	InfoValid bool
	// SenseKeySpecific holds the three sense-key specific bytes when SKSV
	// is set (fixed bytes 15-17, or descriptor type 0x02).
	SenseKeySpecific []byte
}

// ParseSense decodes fixed (response code 0x70/0x71) or descriptor
// (0x72/0x73) sense data. Trailing bytes beyond the declared additional
// length are ignored; a short buffer gives what it holds when at least the
// sense key is present.
func ParseSense(b []byte) (Sense, error) {
	if len(b) < 1 {
		return Sense{}, fmt.Errorf("%w: empty", ErrBadSense)
	}
	var s Sense
	switch code := b[0] & 0x7f; code {
	case 0x70, 0x71:
		s.Format, s.Deferred = SenseFormatFixed, code == 0x71
		// SPC-4 4.5.3: byte 2 sense key, 3-6 information, 7 additional
		// length, 12 ASC, 13 ASCQ, 15-17 sense-key specific.
		if len(b) < 3 {
			return Sense{}, fmt.Errorf("%w: fixed format, %d bytes", ErrBadSense, len(b))
		}
		s.Key = SenseKey(b[2] & 0xf)
		if len(b) >= 7 && b[0]&0x80 != 0 {
			s.InfoValid = true
			s.Info = uint64(be32(b[3:7]))
		}
		end := len(b)
		if len(b) >= 8 {
			end = min(len(b), 8+int(b[7]))
		}
		if end > 12 {
			s.ASC = b[12]
		}
		if end > 13 {
			s.ASCQ = b[13]
		}
		if end >= 18 && b[15]&0x80 != 0 {
			s.SenseKeySpecific = []byte{b[15] & 0x7f, b[16], b[17]}
		}
	case 0x72, 0x73:
		s.Format, s.Deferred = SenseFormatDescriptor, code == 0x73
		// SPC-4 4.5.2: byte 1 sense key, 2 ASC, 3 ASCQ, 7 additional
		// length, descriptors from byte 8.
		if len(b) < 4 {
			return Sense{}, fmt.Errorf("%w: descriptor format, %d bytes", ErrBadSense, len(b))
		}
		s.Key, s.ASC, s.ASCQ = SenseKey(b[1]&0xf), b[2], b[3]
		if len(b) < 8 {
			return s, nil
		}
		d := b[8:min(len(b), 8+int(b[7]))]
		for len(d) >= 2 {
			typ, n := d[0], int(d[1])
			if 2+n > len(d) {
				break
			}
			body := d[2 : 2+n]
			switch {
			case typ == 0x00 && n >= 10: // information (SPC-4 4.5.2.2)
				s.InfoValid = body[0]&0x80 != 0
				s.Info = be64(body[2:10])
			case typ == 0x02 && n >= 6 && body[2]&0x80 != 0: // sense-key specific
				s.SenseKeySpecific = []byte{body[2] & 0x7f, body[3], body[4]}
			}
			d = d[2+n:]
		}
	default:
		return Sense{}, fmt.Errorf("%w: response code 0x%02x", ErrBadSense, code)
	}
	return s, nil
}

// MarshalFixed encodes s as 18 bytes of fixed-format sense data.
func (s Sense) MarshalFixed() []byte {
	b := make([]byte, 18)
	b[0] = 0x70
	if s.Deferred {
		b[0] = 0x71
	}
	if s.InfoValid {
		b[0] |= 0x80
		put32(b[3:], uint32(s.Info))
	}
	b[2] = byte(s.Key & 0xf)
	b[7] = 10
	b[12], b[13] = s.ASC, s.ASCQ
	if len(s.SenseKeySpecific) == 3 {
		b[15], b[16], b[17] = s.SenseKeySpecific[0]|0x80, s.SenseKeySpecific[1], s.SenseKeySpecific[2]
	}
	return b
}

// MarshalDescriptor encodes s as descriptor-format sense data.
func (s Sense) MarshalDescriptor() []byte {
	b := []byte{0x72, byte(s.Key & 0xf), s.ASC, s.ASCQ, 0, 0, 0, 0}
	if s.Deferred {
		b[0] = 0x73
	}
	if s.InfoValid || s.Info != 0 {
		d := make([]byte, 12)
		d[0], d[1] = 0x00, 10
		if s.InfoValid {
			d[2] = 0x80
		}
		put64(d[4:], s.Info)
		b = append(b, d...)
	}
	if len(s.SenseKeySpecific) == 3 {
		b = append(b, 0x02, 6, 0, 0, s.SenseKeySpecific[0]|0x80, s.SenseKeySpecific[1], s.SenseKeySpecific[2], 0)
	}
	b[7] = byte(len(b) - 8)
	return b
}

// String gives "UNIT ATTENTION 2a/03: reservations preempted".
func (s Sense) String() string {
	return fmt.Sprintf("%s %02x/%02x: %s", s.Key, s.ASC, s.ASCQ, ASCText(s.ASC, s.ASCQ))
}

// SenseError is the error for a command that did not end with GOOD status.
// It matches the sentinels (ErrReservationConflict, ErrUnitAttention,
// ErrNotReady, ErrIllegalRequest, ErrBusy, ErrCheckCondition) with
// errors.Is.
type SenseError struct {
	// Op names the command, e.g. "PERSISTENT RESERVE OUT (PREEMPT)".
	Op     string
	Status Status
	// Sense is the decoded sense data; zero when none came (HasSense false).
	Sense    Sense
	HasSense bool
	// Raw holds the undecoded sense bytes.
	Raw []byte
	// BadSense is Response.BadSense: sense data came but was unusable.
	BadSense string
}

func (e *SenseError) Error() string {
	op := e.Op
	if op == "" {
		op = "scsi command"
	}
	if !e.HasSense {
		if e.BadSense != "" {
			return fmt.Sprintf("%s: %s with unusable sense data (%s)", op, e.Status, e.BadSense)
		}
		if e.Status == StatusCheckCondition && len(e.Raw) > 0 {
			return fmt.Sprintf("%s: CHECK CONDITION with malformed sense data % x", op, e.Raw)
		}
		return fmt.Sprintf("%s: %s", op, e.Status)
	}
	return fmt.Sprintf("%s: %s, %s", op, e.Status, e.Sense)
}

// Key, ASC and ASCQ are shorthands for the sense fields.
func (e *SenseError) Key() SenseKey { return e.Sense.Key }

// ASC returns the additional sense code.
func (e *SenseError) ASC() byte { return e.Sense.ASC }

// ASCQ returns the additional sense code qualifier.
func (e *SenseError) ASCQ() byte { return e.Sense.ASCQ }

// Is matches the sentinels.
func (e *SenseError) Is(target error) bool {
	switch target {
	case ErrReservationConflict:
		return e.Status == StatusReservationConflict
	case ErrBusy:
		return e.Status == StatusBusy || e.Status == StatusTaskSetFull
	case ErrCheckCondition:
		return e.Status == StatusCheckCondition
	case ErrUnitAttention:
		return e.HasSense && e.Sense.Key == SenseUnitAttention
	case ErrNotReady:
		return e.HasSense && e.Sense.Key == SenseNotReady
	case ErrIllegalRequest:
		return e.HasSense && e.Sense.Key == SenseIllegalRequest
	case ErrBadSense:
		return e.Status == StatusCheckCondition && !e.HasSense
	}
	return false
}

// CheckStatus returns nil for GOOD (and CONDITION MET), else a *SenseError
// naming op. A nil response is an error too.
func CheckStatus(op string, r *Response) error {
	if r == nil {
		return fmt.Errorf("%s: no response", op)
	}
	if r.Status == StatusGood || r.Status == StatusConditionMet {
		return nil
	}
	e := &SenseError{Op: op, Status: r.Status, Raw: append([]byte(nil), r.Sense...), BadSense: r.BadSense}
	if len(r.Sense) > 0 {
		if s, err := ParseSense(r.Sense); err == nil {
			e.Sense, e.HasSense = s, true
		}
	}
	return e
}

// AsSense returns the *SenseError in err's chain, if any.
func AsSense(err error) (*SenseError, bool) {
	var se *SenseError
	ok := errors.As(err, &se)
	return se, ok
}

// IsUnsupported reports whether err says the device does not implement the
// command or a field of it: ILLEGAL REQUEST with INVALID COMMAND OPERATION
// CODE (20/00), INVALID FIELD IN CDB (24/00) or INVALID FIELD IN PARAMETER
// LIST (26/00).
func IsUnsupported(err error) bool {
	se, ok := AsSense(err)
	if !ok || !se.HasSense || se.Sense.Key != SenseIllegalRequest {
		return false
	}
	switch se.Sense.ASC {
	case 0x20, 0x24, 0x26:
		return true
	}
	return false
}
