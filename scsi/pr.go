package scsi

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Key is an 8-byte persistent reservation key. Zero means "no key".
type Key uint64

// String gives the key as sg_persist prints it: 0x followed by hex digits.
func (k Key) String() string { return "0x" + strconv.FormatUint(uint64(k), 16) }

// MarshalText gives the key as String does, so JSON carries it exactly.
func (k Key) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText reads a key as ParseKey does.
func (k *Key) UnmarshalText(b []byte) error {
	v, err := ParseKey(string(b))
	if err != nil {
		return err
	}
	*k = v
	return nil
}

// ParseKey reads a key in hex (with or without 0x) as sg_persist accepts it.
func ParseKey(s string) (Key, error) {
	t := strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(s), "0x"), "0X")
	v, err := strconv.ParseUint(t, 16, 64)
	if err != nil || t == "" {
		return 0, fmt.Errorf("scsi: reservation key %q: want up to 16 hex digits, e.g. 0x686b1234abcd0001", s)
	}
	return Key(v), nil
}

// ReservationType is the TYPE field of persistent reservations (SPC-4
// 6.15.3.4, table 172).
type ReservationType byte

// Reservation types.
const (
	TypeWriteExclusive                 ReservationType = 1
	TypeExclusiveAccess                ReservationType = 3
	TypeWriteExclusiveRegistrantsOnly  ReservationType = 5
	TypeExclusiveAccessRegistrantsOnly ReservationType = 6
	TypeWriteExclusiveAllRegistrants   ReservationType = 7
	TypeExclusiveAccessAllRegistrants  ReservationType = 8
)

// ReservationTypes lists the six types in code order.
var reservationTypes = [...]struct {
	t           ReservationType
	short, long string
}{
	{TypeWriteExclusive, "we", "Write Exclusive"},
	{TypeExclusiveAccess, "ea", "Exclusive Access"},
	{TypeWriteExclusiveRegistrantsOnly, "we-ro", "Write Exclusive, registrants only"},
	{TypeExclusiveAccessRegistrantsOnly, "ea-ro", "Exclusive Access, registrants only"},
	{TypeWriteExclusiveAllRegistrants, "we-ar", "Write Exclusive, all registrants"},
	{TypeExclusiveAccessAllRegistrants, "ea-ar", "Exclusive Access, all registrants"},
}

// String gives the type as sg_persist prints it.
func (t ReservationType) String() string {
	for _, r := range reservationTypes {
		if r.t == t {
			return r.long
		}
	}
	return fmt.Sprintf("obsolete/reserved type 0x%x", byte(t))
}

// Short gives the type's short name ("we-ro").
func (t ReservationType) Short() string {
	for _, r := range reservationTypes {
		if r.t == t {
			return r.short
		}
	}
	return strconv.Itoa(int(t))
}

// MarshalText gives the short name, so JSON shows "we-ro".
func (t ReservationType) MarshalText() ([]byte, error) { return []byte(t.Short()), nil }

// UnmarshalText reads a short name or number.
func (t *ReservationType) UnmarshalText(b []byte) error {
	v, err := ParseReservationType(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// Valid reports whether t is one of the six SPC-4 types.
func (t ReservationType) Valid() bool {
	for _, r := range reservationTypes {
		if r.t == t {
			return true
		}
	}
	return false
}

// AllRegistrants reports whether every registrant holds the reservation
// (types 7 and 8, SPC-4 5.12.10).
func (t ReservationType) AllRegistrants() bool {
	return t == TypeWriteExclusiveAllRegistrants || t == TypeExclusiveAccessAllRegistrants
}

// RegistrantsAccess reports whether registered non-holders may write (types
// 5 to 8).
func (t ReservationType) RegistrantsAccess() bool { return t >= 5 && t <= 8 }

// ParseReservationType accepts a short name (we, ea, we-ro, ea-ro, we-ar,
// ea-ar) or a type number (1, 3, 5 to 8).
func ParseReservationType(s string) (ReservationType, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	for _, r := range reservationTypes {
		if s == r.short || s == strconv.Itoa(int(r.t)) {
			return r.t, nil
		}
	}
	return 0, fmt.Errorf("scsi: reservation type %q: want we, ea, we-ro, ea-ro, we-ar, ea-ar or 1, 3, 5, 6, 7, 8", s)
}

// PRInAction is a PERSISTENT RESERVE IN service action (SPC-4 6.14.1).
type PRInAction byte

// PR IN service actions.
const (
	PRInReadKeys           PRInAction = 0
	PRInReadReservation    PRInAction = 1
	PRInReportCapabilities PRInAction = 2
	PRInReadFullStatus     PRInAction = 3
)

func (a PRInAction) String() string {
	switch a {
	case PRInReadKeys:
		return "READ KEYS"
	case PRInReadReservation:
		return "READ RESERVATION"
	case PRInReportCapabilities:
		return "REPORT CAPABILITIES"
	case PRInReadFullStatus:
		return "READ FULL STATUS"
	}
	return fmt.Sprintf("service action 0x%02x", byte(a))
}

// PROutAction is a PERSISTENT RESERVE OUT service action (SPC-4 6.15.2).
type PROutAction byte

// PR OUT service actions.
const (
	PROutRegister          PROutAction = 0
	PROutReserve           PROutAction = 1
	PROutRelease           PROutAction = 2
	PROutClear             PROutAction = 3
	PROutPreempt           PROutAction = 4
	PROutPreemptAndAbort   PROutAction = 5
	PROutRegisterAndIgnore PROutAction = 6
	PROutRegisterAndMove   PROutAction = 7
)

func (a PROutAction) String() string {
	switch a {
	case PROutRegister:
		return "REGISTER"
	case PROutReserve:
		return "RESERVE"
	case PROutRelease:
		return "RELEASE"
	case PROutClear:
		return "CLEAR"
	case PROutPreempt:
		return "PREEMPT"
	case PROutPreemptAndAbort:
		return "PREEMPT AND ABORT"
	case PROutRegisterAndIgnore:
		return "REGISTER AND IGNORE EXISTING KEY"
	case PROutRegisterAndMove:
		return "REGISTER AND MOVE"
	}
	return fmt.Sprintf("service action 0x%02x", byte(a))
}

// PRIn builds PERSISTENT RESERVE IN (SPC-4 6.14.1).
func PRIn(action PRInAction, allocLen uint16) *Command {
	if allocLen < 8 {
		allocLen = defaultAllocLength
	}
	cdb := make([]byte, 10)
	cdb[0], cdb[1] = OpPRIn, byte(action)&0x1f
	put16(cdb[7:], allocLen)
	return &Command{CDB: cdb, Direction: FromDevice, AllocLen: int(allocLen)}
}

// PROutParams is the basic PR OUT parameter list (SPC-4 6.15.3, table 174).
type PROutParams struct {
	// Key is the RESERVATION KEY: the caller's registered key (0 when not
	// registered, and ignored by REGISTER AND IGNORE EXISTING KEY).
	Key Key
	// ServiceActionKey is the new key (REGISTER*) or the key to preempt.
	ServiceActionKey Key
	// APTPL asks the device to persist the registrations through power
	// loss (REGISTER*).
	APTPL bool
	// AllTargetPorts registers through every target port (ALL_TG_PT).
	AllTargetPorts bool
}

// MarshalBinary encodes the 24-byte parameter list.
func (p PROutParams) MarshalBinary() ([]byte, error) {
	b := make([]byte, 24)
	put64(b[0:], uint64(p.Key))
	put64(b[8:], uint64(p.ServiceActionKey))
	if p.AllTargetPorts {
		b[20] |= 0x04
	}
	if p.APTPL {
		b[20] |= 0x01
	}
	return b, nil
}

// UnmarshalBinary decodes a parameter list of at least 24 bytes.
func (p *PROutParams) UnmarshalBinary(b []byte) error {
	if len(b) < 24 {
		return fmt.Errorf("scsi: PR OUT parameter list of %d bytes, want 24", len(b))
	}
	*p = PROutParams{Key: Key(be64(b)), ServiceActionKey: Key(be64(b[8:])), AllTargetPorts: b[20]&0x04 != 0, APTPL: b[20]&0x01 != 0}
	return nil
}

// PROut builds PERSISTENT RESERVE OUT (SPC-4 6.15) with LU_SCOPE. typ is
// used by RESERVE, RELEASE, PREEMPT and PREEMPT AND ABORT and must be 0
// for the others.
func PROut(action PROutAction, typ ReservationType, p PROutParams) (*Command, error) {
	switch action {
	case PROutReserve, PROutRelease, PROutPreempt, PROutPreemptAndAbort:
		if !typ.Valid() {
			return nil, fmt.Errorf("scsi: %s with reservation type %d: want one of 1, 3, 5, 6, 7, 8", action, typ)
		}
	case PROutRegister, PROutRegisterAndIgnore, PROutClear:
		if typ != 0 {
			return nil, fmt.Errorf("scsi: %s takes no reservation type (got %d)", action, typ)
		}
	default:
		return nil, fmt.Errorf("scsi: PR OUT %s is not supported by this builder", action)
	}
	data, _ := p.MarshalBinary()
	cdb := make([]byte, 10)
	cdb[0], cdb[1], cdb[2] = OpPROut, byte(action), byte(typ)&0x0f // scope 0: LU_SCOPE
	put32(cdb[5:], uint32(len(data)))
	return &Command{CDB: cdb, Direction: ToDevice, Data: data}, nil
}

// ErrShortData is wrapped by decoders given fewer bytes than a header needs.
var ErrShortData = errors.New("data too short")

// Keys is the READ KEYS answer (SPC-4 6.14.2).
type Keys struct {
	Generation uint32
	Keys       []Key
	// Truncated is set when the device had more keys than fit the
	// allocation length.
	Truncated bool
}

// prInHeader splits PERSISTENT RESERVE IN parameter data (SPC-4 6.14) into
// its PR generation and the list its ADDITIONAL LENGTH announces, cut to
// the bytes present; truncated says the device had more than fit.
func prInHeader(b []byte, what string) (gen uint32, body []byte, truncated bool, err error) {
	if len(b) < 8 {
		return 0, nil, false, fmt.Errorf("scsi: %s: %w: %d bytes, want at least 8", what, ErrShortData, len(b))
	}
	body = b[8:]
	truncated = uint64(be32(b[4:])) > uint64(len(body))
	return be32(b), body[:lenField(be32(b[4:]), len(body))], truncated, nil
}

// ParseReadKeys decodes READ KEYS parameter data.
func ParseReadKeys(b []byte) (Keys, error) {
	gen, body, truncated, err := prInHeader(b, "READ KEYS")
	if err != nil {
		return Keys{}, err
	}
	k := Keys{Generation: gen, Truncated: truncated}
	for i := 0; i+8 <= len(body); i += 8 {
		k.Keys = append(k.Keys, Key(be64(body[i:])))
	}
	return k, nil
}

// MarshalBinary encodes k as READ KEYS parameter data.
func (k Keys) MarshalBinary() ([]byte, error) {
	b := make([]byte, 8+8*len(k.Keys))
	put32(b, k.Generation)
	put32(b[4:], uint32(8*len(k.Keys)))
	for i, key := range k.Keys {
		put64(b[8+8*i:], uint64(key))
	}
	return b, nil
}

// Reservation is the READ RESERVATION answer (SPC-4 6.14.3).
type Reservation struct {
	Generation uint32
	// Held is false when no persistent reservation exists.
	Held  bool
	Key   Key
	Scope byte
	Type  ReservationType
}

// ParseReadReservation decodes READ RESERVATION parameter data.
func ParseReadReservation(b []byte) (Reservation, error) {
	gen, _, _, err := prInHeader(b, "READ RESERVATION")
	if err != nil {
		return Reservation{}, err
	}
	r := Reservation{Generation: gen}
	if be32(b[4:]) == 0 {
		return r, nil
	}
	if len(b) < 24 {
		return Reservation{}, fmt.Errorf("scsi: READ RESERVATION: %w: additional length %d but %d bytes", ErrShortData, be32(b[4:]), len(b))
	}
	r.Held, r.Key, r.Scope, r.Type = true, Key(be64(b[8:])), b[21]>>4, ReservationType(b[21]&0x0f)
	return r, nil
}

// MarshalBinary encodes r as READ RESERVATION parameter data.
func (r Reservation) MarshalBinary() ([]byte, error) {
	if !r.Held {
		b := make([]byte, 8)
		put32(b, r.Generation)
		return b, nil
	}
	b := make([]byte, 24)
	put32(b, r.Generation)
	put32(b[4:], 16)
	put64(b[8:], uint64(r.Key))
	b[21] = r.Scope<<4 | byte(r.Type)&0x0f
	return b, nil
}

// Capabilities is the REPORT CAPABILITIES answer (SPC-4 6.14.4).
type Capabilities struct {
	ReplaceLostReservation  bool `json:"replace_lost_reservation"`   // RLR_C
	CompatibleReservation   bool `json:"compatible_reservation"`     // CRH
	SpecifyInitiatorPorts   bool `json:"specify_initiator_ports"`    // SIP_C
	AllTargetPorts          bool `json:"all_target_ports"`           // ATP_C
	PersistThroughPowerLoss bool `json:"persist_through_power_loss"` // PTPL_C
	// TypeMaskValid says whether Types is meaningful (TMV).
	TypeMaskValid bool `json:"type_mask_valid"`
	AllowCommands byte `json:"allow_commands"`
	// PTPLActive: APTPL is in effect (PTPL_A).
	PTPLActive bool `json:"ptpl_active"`
	// Types lists the supported reservation types (when TypeMaskValid).
	Types []ReservationType `json:"types"`
}

// Supports reports whether t is in the type mask; an invalid mask means
// unknown and gives true.
func (c Capabilities) Supports(t ReservationType) bool {
	if !c.TypeMaskValid {
		return true
	}
	for _, x := range c.Types {
		if x == t {
			return true
		}
	}
	return false
}

// typeMaskBits maps each type to its bit in bytes 4-5 of REPORT
// CAPABILITIES (SPC-4 table 166).
var typeMaskBits = [...]struct {
	t   ReservationType
	bit uint16
}{
	{TypeWriteExclusive, 1 << 9},
	{TypeExclusiveAccess, 1 << 11},
	{TypeWriteExclusiveRegistrantsOnly, 1 << 13},
	{TypeExclusiveAccessRegistrantsOnly, 1 << 14},
	{TypeWriteExclusiveAllRegistrants, 1 << 15},
	{TypeExclusiveAccessAllRegistrants, 1 << 0},
}

// ParseReportCapabilities decodes REPORT CAPABILITIES parameter data.
func ParseReportCapabilities(b []byte) (Capabilities, error) {
	if len(b) < 6 {
		return Capabilities{}, fmt.Errorf("scsi: REPORT CAPABILITIES: %w: %d bytes, want 8", ErrShortData, len(b))
	}
	c := Capabilities{
		ReplaceLostReservation:  b[2]&0x80 != 0,
		CompatibleReservation:   b[2]&0x10 != 0,
		SpecifyInitiatorPorts:   b[2]&0x08 != 0,
		AllTargetPorts:          b[2]&0x04 != 0,
		PersistThroughPowerLoss: b[2]&0x01 != 0,
		TypeMaskValid:           b[3]&0x80 != 0,
		AllowCommands:           b[3] >> 4 & 0x7,
		PTPLActive:              b[3]&0x01 != 0,
	}
	mask := be16(b[4:])
	for _, m := range typeMaskBits {
		if mask&m.bit != 0 {
			c.Types = append(c.Types, m.t)
		}
	}
	return c, nil
}

// MarshalBinary encodes c as REPORT CAPABILITIES parameter data.
func (c Capabilities) MarshalBinary() ([]byte, error) {
	b := make([]byte, 8)
	put16(b, 8)
	for bit, on := range map[byte]bool{0x80: c.ReplaceLostReservation, 0x10: c.CompatibleReservation, 0x08: c.SpecifyInitiatorPorts, 0x04: c.AllTargetPorts, 0x01: c.PersistThroughPowerLoss} {
		if on {
			b[2] |= bit
		}
	}
	if c.TypeMaskValid {
		b[3] |= 0x80
	}
	b[3] |= c.AllowCommands & 7 << 4
	if c.PTPLActive {
		b[3] |= 0x01
	}
	var mask uint16
	for _, t := range c.Types {
		for _, m := range typeMaskBits {
			if m.t == t {
				mask |= m.bit
			}
		}
	}
	put16(b[4:], mask)
	return b, nil
}

// Registration is one descriptor of READ FULL STATUS (SPC-4 6.14.5).
type Registration struct {
	Key Key
	// Holder: this I_T nexus holds the reservation (R_HOLDER).
	Holder         bool
	AllTargetPorts bool
	Scope          byte
	Type           ReservationType
	// RelativeTargetPort is the RELATIVE TARGET PORT IDENTIFIER.
	RelativeTargetPort uint16
	// Initiator is the initiator port's TransportID.
	Initiator TransportID
}

// FullStatus is the READ FULL STATUS answer.
type FullStatus struct {
	Generation    uint32
	Registrations []Registration
	Truncated     bool
}

// ParseReadFullStatus decodes READ FULL STATUS parameter data.
func ParseReadFullStatus(b []byte) (FullStatus, error) {
	gen, body, truncated, err := prInHeader(b, "READ FULL STATUS")
	if err != nil {
		return FullStatus{}, err
	}
	fs := FullStatus{Generation: gen, Truncated: truncated}
	for len(body) > 0 {
		if len(body) < 24 {
			fs.Truncated = true
			break
		}
		if uint64(be32(body[20:])) > uint64(len(body)-24) {
			fs.Truncated = true
			break
		}
		dlen := int(be32(body[20:]))
		r := Registration{
			Key:                Key(be64(body)),
			AllTargetPorts:     body[12]&0x02 != 0,
			Holder:             body[12]&0x01 != 0,
			Scope:              body[13] >> 4,
			Type:               ReservationType(body[13] & 0x0f),
			RelativeTargetPort: be16(body[18:]),
		}
		tid, err := ParseTransportID(body[24 : 24+dlen])
		if err != nil {
			return fs, fmt.Errorf("scsi: READ FULL STATUS descriptor %d: %w", len(fs.Registrations), err)
		}
		r.Initiator = tid
		fs.Registrations = append(fs.Registrations, r)
		body = body[24+dlen:]
	}
	return fs, nil
}

// MarshalBinary encodes fs as READ FULL STATUS parameter data.
func (fs FullStatus) MarshalBinary() ([]byte, error) {
	b := make([]byte, 8)
	put32(b, fs.Generation)
	for _, r := range fs.Registrations {
		tid, err := r.Initiator.MarshalBinary()
		if err != nil {
			return nil, err
		}
		d := make([]byte, 24, 24+len(tid))
		put64(d, uint64(r.Key))
		if r.AllTargetPorts {
			d[12] |= 0x02
		}
		if r.Holder {
			d[12] |= 0x01
		}
		d[13] = r.Scope<<4 | byte(r.Type)&0x0f
		put16(d[18:], r.RelativeTargetPort)
		put32(d[20:], uint32(len(tid)))
		b = append(b, append(d, tid...)...)
	}
	put32(b[4:], uint32(len(b)-8))
	return b, nil
}

// Protocol identifiers (SPC-4 7.6.1, table 362).
const (
	ProtocolFC    = 0x0
	ProtocolSRP   = 0x4
	ProtocolISCSI = 0x5
	ProtocolSAS   = 0x6
)

// TransportID identifies an initiator port (SPC-4 7.6.4).
type TransportID struct {
	Protocol byte
	Format   byte
	// Name is the iSCSI name (protocol 5).
	Name string
	// ISID is the session identifier from format 1 iSCSI TransportIDs
	// ("iqn...,i,0x<isid>"), as the hex digits after 0x.
	ISID string
	// Port is the port name or address of the other protocols (FC
	// N_PORT_NAME, SAS address, SRP identifier).
	Port []byte
	// Layout is how a format 1 iSCSI TransportID is laid out: the
	// standard one (zero) or tgtd's (see TIDLayout).
	Layout TIDLayout `json:",omitempty"`
}

// String gives "iqn.x,i,0x23d000000001" for iSCSI, "fc 0x..." otherwise.
func (t TransportID) String() string {
	switch t.Protocol {
	case ProtocolISCSI:
		if t.ISID != "" {
			return t.Name + ",i,0x" + t.ISID
		}
		return t.Name
	case ProtocolFC:
		return fmt.Sprintf("fc 0x%x", t.Port)
	case ProtocolSAS:
		return fmt.Sprintf("sas 0x%x", t.Port)
	case ProtocolSRP:
		return fmt.Sprintf("srp 0x%x", t.Port)
	}
	return fmt.Sprintf("protocol 0x%x 0x%x", t.Protocol, t.Port)
}

// ParseTransportID decodes one TransportID. iSCSI names are NUL-terminated
// and padded; the other protocols are 24 bytes.
func ParseTransportID(b []byte) (TransportID, error) {
	if len(b) < 4 {
		return TransportID{}, fmt.Errorf("TransportID: %w: %d bytes", ErrShortData, len(b))
	}
	t := TransportID{Protocol: b[0] & 0x0f, Format: b[0] >> 6}
	switch t.Protocol {
	case ProtocolISCSI:
		n := int(be16(b[2:]))
		if 4+n > len(b) {
			return TransportID{}, fmt.Errorf("iSCSI TransportID: %w: name length %d, %d bytes", ErrShortData, n, len(b)-4)
		}
		name := string(b[4 : 4+n])
		if i := strings.IndexByte(name, 0); i >= 0 {
			if rest := name[i+1:]; t.Format == 1 && len(rest) >= len(tgtdISIDSep)+6 && strings.HasPrefix(rest, tgtdISIDSep) {
				// tgtd's layout: the ISID's six bytes raw after the
				// name's NUL and ",i,0x".
				t.Name, t.Layout = name[:i], TIDLayoutTgtd
				t.ISID = hex.EncodeToString([]byte(rest[len(tgtdISIDSep) : len(tgtdISIDSep)+6]))
				return t, nil
			}
			name = name[:i]
		}
		if t.Format == 1 {
			if base, isid, ok := strings.Cut(name, ",i,"); ok {
				name = base
				if len(isid) >= 2 && isid[0] == '0' && (isid[1] == 'x' || isid[1] == 'X') {
					isid = isid[2:]
				}
				t.ISID = isid
			}
		}
		t.Name = name
	case ProtocolFC:
		if len(b) < 16 {
			return TransportID{}, fmt.Errorf("FC TransportID: %w", ErrShortData)
		}
		t.Port = append([]byte(nil), b[8:16]...)
	case ProtocolSAS:
		if len(b) < 12 {
			return TransportID{}, fmt.Errorf("SAS TransportID: %w", ErrShortData)
		}
		t.Port = append([]byte(nil), b[4:12]...)
	case ProtocolSRP:
		if len(b) < 24 {
			return TransportID{}, fmt.Errorf("SRP TransportID: %w", ErrShortData)
		}
		t.Port = append([]byte(nil), b[8:24]...)
	default:
		t.Port = append([]byte(nil), b[1:min(len(b), 24)]...)
	}
	return t, nil
}

// MarshalBinary encodes t. iSCSI names are NUL-terminated and padded to a
// multiple of four bytes (at least 20 bytes in all, SPC-4 7.6.4.6).
func (t TransportID) MarshalBinary() ([]byte, error) {
	switch t.Protocol {
	case ProtocolISCSI:
		if t.Layout == TIDLayoutTgtd {
			return t.marshalTgtd()
		}
		name := t.Name
		format := t.Format & 3
		if t.ISID != "" {
			name += ",i,0x" + t.ISID
			format = 1
		}
		n := len(name) + 1
		n = (n + 3) &^ 3
		if n < 16 {
			n = 16
		}
		if n > 0xffff-4 {
			return nil, fmt.Errorf("scsi: iSCSI name of %d bytes is too long", len(name))
		}
		b := make([]byte, 4+n)
		b[0] = format<<6 | ProtocolISCSI
		put16(b[2:], uint16(n))
		copy(b[4:], name)
		return b, nil
	case ProtocolFC, ProtocolSAS, ProtocolSRP:
		b := make([]byte, 24)
		b[0] = t.Format<<6 | t.Protocol
		off := map[byte]int{ProtocolFC: 8, ProtocolSAS: 4, ProtocolSRP: 8}[t.Protocol]
		copy(b[off:], t.Port)
		return b, nil
	}
	b := make([]byte, 24)
	b[0] = t.Format<<6 | t.Protocol&0x0f
	copy(b[1:], t.Port)
	return b, nil
}
