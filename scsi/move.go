package scsi

import (
	"context"
	"encoding/hex"
	"fmt"
)

// TIDLayout is how a format 1 ("initiator port") iSCSI TransportID is laid
// out.
type TIDLayout uint8

// TransportID layouts.
const (
	// TIDLayoutStandard is SPC-4 7.6.4.6: the iSCSI name, ",i,0x", the
	// ISID as 12 hex characters, a NUL, zero padding to a multiple of 4.
	TIDLayoutStandard TIDLayout = 0
	// TIDLayoutTgtd is what tgtd (usr/iscsi/iscsid.c iscsi_transportid)
	// builds and compares REGISTER AND MOVE's TransportID with, byte for
	// byte: the iSCSI name, a NUL, ",i,0x", the ISID's six bytes raw, a
	// NUL, zero padding to a multiple of 4.
	TIDLayoutTgtd TIDLayout = 1
)

func (l TIDLayout) String() string {
	switch l {
	case TIDLayoutStandard:
		return "standard"
	case TIDLayoutTgtd:
		return "tgtd"
	}
	return fmt.Sprintf("layout %d", uint8(l))
}

const tgtdISIDSep = ",i,0x"

// ISCSIPortID is the format 1 TransportID of the iSCSI initiator port
// name with ISID isid (standard layout).
func ISCSIPortID(name string, isid [6]byte) TransportID {
	return TransportID{Protocol: ProtocolISCSI, Format: 1, Name: name, ISID: hex.EncodeToString(isid[:])}
}

// WithLayout returns t laid out as l.
func (t TransportID) WithLayout(l TIDLayout) TransportID { t.Layout = l; return t }

// marshalTgtd encodes an iSCSI port TransportID in tgtd's layout.
func (t TransportID) marshalTgtd() ([]byte, error) {
	isid, err := hex.DecodeString(t.ISID)
	if err != nil || len(isid) != 6 {
		return nil, fmt.Errorf("scsi: tgtd TransportID: ISID %q: want 12 hex digits", t.ISID)
	}
	n := (len(t.Name) + 1 + len(tgtdISIDSep) + 6 + 1 + 3) &^ 3
	if n > 0xffff-4 {
		return nil, fmt.Errorf("scsi: iSCSI name of %d bytes is too long", len(t.Name))
	}
	b := make([]byte, 4+n)
	b[0] = 1<<6 | ProtocolISCSI
	put16(b[2:], uint16(n))
	p := 4 + copy(b[4:], t.Name) + 1
	p += copy(b[p:], tgtdISIDSep)
	copy(b[p:], isid)
	return b, nil
}

// RegisterAndMoveParams is the parameter list of PERSISTENT RESERVE OUT
// REGISTER AND MOVE (SPC-4 6.15.4, table 180).
type RegisterAndMoveParams struct {
	// Key is the holder's registered key (RESERVATION KEY).
	Key Key
	// ServiceActionKey is the key the destination is (or gets) registered
	// with.
	ServiceActionKey Key
	// Unregister (UNREG) removes the sender's registration after the
	// move; hakit never sets it (the mover stays registered).
	Unregister bool
	// APTPL asks the device to persist the registrations.
	APTPL bool
	// RelativeTargetPort is the RELATIVE TARGET PORT IDENTIFIER of the
	// port through which the destination is reached.
	RelativeTargetPort uint16
	// Destination is the destination initiator port.
	Destination TransportID
}

// MarshalBinary encodes the parameter list: 24 bytes and the TransportID.
func (p RegisterAndMoveParams) MarshalBinary() ([]byte, error) {
	tid, err := p.Destination.MarshalBinary()
	if err != nil {
		return nil, err
	}
	b := make([]byte, 24, 24+len(tid))
	put64(b[0:], uint64(p.Key))
	put64(b[8:], uint64(p.ServiceActionKey))
	if p.Unregister {
		b[17] |= 0x02
	}
	if p.APTPL {
		b[17] |= 0x01
	}
	put16(b[18:], p.RelativeTargetPort)
	put32(b[20:], uint32(len(tid)))
	return append(b, tid...), nil
}

// UnmarshalBinary decodes a REGISTER AND MOVE parameter list.
func (p *RegisterAndMoveParams) UnmarshalBinary(b []byte) error {
	if len(b) < 24 {
		return fmt.Errorf("scsi: REGISTER AND MOVE parameter list: %w: %d bytes, want at least 24", ErrShortData, len(b))
	}
	n := be32(b[20:])
	if uint64(n) > uint64(len(b)-24) {
		return fmt.Errorf("scsi: REGISTER AND MOVE parameter list: %w: TransportID length %d, %d bytes", ErrShortData, n, len(b)-24)
	}
	tid, err := ParseTransportID(b[24 : 24+int(n)])
	if err != nil {
		return fmt.Errorf("scsi: REGISTER AND MOVE parameter list: %w", err)
	}
	*p = RegisterAndMoveParams{Key: Key(be64(b)), ServiceActionKey: Key(be64(b[8:])), Unregister: b[17]&0x02 != 0, APTPL: b[17]&0x01 != 0,
		RelativeTargetPort: be16(b[18:]), Destination: tid}
	return nil
}

// RegisterAndMoveCommand builds PERSISTENT RESERVE OUT REGISTER AND MOVE
// (SPC-4 6.15.4) with LU_SCOPE and the type of the reservation moved
// (types 7 and 8 have no single holder to move from).
func RegisterAndMoveCommand(typ ReservationType, p RegisterAndMoveParams) (*Command, error) {
	if !typ.Valid() || typ.AllRegistrants() {
		return nil, fmt.Errorf("scsi: REGISTER AND MOVE with reservation type %d: want one of 1, 3, 5, 6", typ)
	}
	if p.Destination.Protocol == ProtocolISCSI && p.Destination.Name == "" || p.Destination.Protocol != ProtocolISCSI && len(p.Destination.Port) == 0 {
		return nil, fmt.Errorf("scsi: REGISTER AND MOVE: destination TransportID %s names no port", p.Destination)
	}
	data, err := p.MarshalBinary()
	if err != nil {
		return nil, err
	}
	cdb := make([]byte, 10)
	cdb[0], cdb[1], cdb[2] = OpPROut, byte(PROutRegisterAndMove), byte(typ)&0x0f
	put32(cdb[5:], uint32(len(data)))
	return &Command{CDB: cdb, Direction: ToDevice, Data: data}, nil
}

// RegisterAndMove sends one PERSISTENT RESERVE OUT REGISTER AND MOVE.
func (d *Device) RegisterAndMove(ctx context.Context, typ ReservationType, p RegisterAndMoveParams) error {
	cmd, err := RegisterAndMoveCommand(typ, p)
	if err != nil {
		return err
	}
	_, err = d.Do(ctx, cmd)
	return err
}

// MoveResult is what Move did.
type MoveResult struct {
	Result
	// Dest is the key that holds the reservation now.
	Dest Key `json:"dest"`
	// Destination is the destination's TransportID as sent, laid out as
	// the target took it.
	Destination TransportID `json:"destination"`
	// LayoutName is the TransportID layout the target took ("standard"
	// or "tgtd").
	LayoutName string `json:"layout"`
}

// tgtdVendor is tgtd's INQUIRY vendor identification (usr/tgtd.h
// VENDOR_ID).
const tgtdVendor = "IET"

// Move hands the reservation this node holds to the registered key dest,
// whose initiator port is dest's TransportID tid (a zero tid: the one READ
// FULL STATUS lists for dest, where the target has it): REGISTER AND MOVE (SPC-4
// 5.12.8) with UNREG=0, so this node stays registered. The move is atomic
// on the target: at no instant does the unit lack a reservation. Only the
// holder may move (types 1, 3, 5, 6; types 7 and 8 have every registrant
// as holder); dest must already be registered (tgtd requires it; hakit's
// requester registers before it asks).
//
// The TransportID is sent in the standard layout first; when the target
// refuses it with ILLEGAL REQUEST and identifies as tgtd (INQUIRY vendor
// "IET"), once more in tgtd's layout (TIDLayoutTgtd). The layout the
// target took is kept for later moves. The result is judged by the
// read-back only (tgtd answers GOOD to a move from a non-holder without
// moving anything): READ RESERVATION must show dest holding the same type,
// READ KEYS this node's key and dest's still registered.
//
// Errors: *LatchedError; ErrOwnKey (dest is this node's key);
// *UnregisteredError (this node's key is gone); ErrKeyNotRegistered (dest
// is not registered); ErrNotHolder (this node does not hold the
// reservation: nothing is sent); ErrMoveRefused (the target refused the
// move, with its sense; the reservation stays this node's);
// ErrNotVerified (the read-back disagrees).
func (o *Owner) Move(ctx context.Context, dest Key, tid TransportID) (*MoveResult, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	r := &MoveResult{Dest: dest}
	o.uas = nil
	defer o.finish(&r.Result)
	switch {
	case dest == o.cfg.Key:
		return r, o.opErr("move", fmt.Errorf("%w %s: the destination must be another node", ErrOwnKey, dest))
	case dest == 0:
		return r, o.opErr("move", fmt.Errorf("%w: key 0 is no registration", ErrKeyNotRegistered))
	}
	if _, l := o.nx.get(); l != "" {
		return r, &LatchedError{Op: "move", Device: o.cfg.Name, Key: o.cfg.Key, Reason: l}
	}
	if err := o.tur(ctx, &r.Result); err != nil {
		return r, err
	}
	if err := o.readState(ctx, &r.Result); err != nil {
		return r, err
	}
	res := r.Reservation
	switch {
	case countKey(r.Keys.Keys, o.cfg.Key) == 0:
		return r, &UnregisteredError{Op: "move", Device: o.cfg.Name, Key: o.cfg.Key}
	case countKey(r.Keys.Keys, dest) == 0:
		return r, o.opErr("move", fmt.Errorf("%w: destination key %s (registered: %s)", ErrKeyNotRegistered, dest, keyList(r.Keys.Keys)))
	case !res.Held || res.Type.AllRegistrants() || res.Key != o.cfg.Key:
		return r, o.opErr("move", fmt.Errorf("%w: reservation %s", ErrNotHolder, describeReservation(res)))
	}
	if tid.Name == "" && len(tid.Port) == 0 {
		// No TransportID given: READ FULL STATUS names dest's port,
		// where the target has it (tgtd has not).
		fs, err := o.dev.ReadFullStatus(ctx)
		if err != nil {
			return r, o.opErr("move", fmt.Errorf("no destination TransportID given and READ FULL STATUS failed: %w", err))
		}
		var ports []TransportID
		for _, g := range fs.Registrations {
			if g.Key == dest {
				ports = append(ports, g.Initiator)
			}
		}
		if len(ports) != 1 {
			return r, o.opErr("move", fmt.Errorf("no destination TransportID given and READ FULL STATUS lists key %s on %d initiator ports, want 1", dest, len(ports)))
		}
		tid = ports[0]
		r.note("destination TransportID %s from READ FULL STATUS", tid)
	}
	layouts := []TIDLayout{TIDLayoutStandard, TIDLayoutTgtd}
	if o.moveLayout != nil {
		layouts = []TIDLayout{*o.moveLayout}
	}
	var sendErr error
	for i, l := range layouts {
		r.Destination, r.LayoutName = tid.WithLayout(l), l.String()
		p := RegisterAndMoveParams{Key: o.cfg.Key, ServiceActionKey: dest, Destination: r.Destination}
		sendErr = o.onNexus(ctx, &r.Result, func() error { return o.dev.RegisterAndMove(ctx, res.Type, p) })
		if sendErr == nil || i == len(layouts)-1 || !IsUnsupported(sendErr) {
			break
		}
		// Standard layout refused: try tgtd's only on tgtd, and only
		// while this node still holds the reservation.
		std, err := o.dev.Inquiry(ctx)
		if err != nil || std.Vendor != tgtdVendor {
			break
		}
		if err := o.readState(ctx, &r.Result); err != nil {
			return r, err
		}
		if !r.Reservation.Held || r.Reservation.Key != o.cfg.Key {
			break
		}
		r.note("standard TransportID %s refused (%s): sent again in tgtd's layout", tid, senseText(sendErr))
	}
	if IsTransportError(ctx, sendErr) {
		r.note("the answer to REGISTER AND MOVE was lost (%v): the result is judged by the read-back", sendErr)
		sendErr = nil
	}
	if err := o.readState(ctx, &r.Result); err != nil {
		return r, err
	}
	got := r.Reservation
	moved := got.Held && got.Key == dest && got.Type == res.Type
	if got.Held && got.Key == dest && got.Type == 0 && r.Destination.Layout == TIDLayoutTgtd {
		// tgtd makes the destination the holder without copying the
		// type (usr/spc.c spc_pr_register_and_move): it reads 0 and
		// tgtd keeps everyone unregistered from reading and writing.
		// The destination's Acquire sets the type again (a PREEMPT of
		// its own key, no instant without a reservation).
		moved = true
		r.note("tgtd moved the reservation without its type (reads 0, non-registrants still conflict): the destination's acquire restores %s", res.Type)
	}
	if sendErr != nil && !moved {
		if IsUnsupported(sendErr) {
			return r, o.opErr("move", fmt.Errorf("%w: %s to key %s (%s): %w (reservation: %s)", ErrMoveRefused, tid, dest, senseText(sendErr), sendErr, describeReservation(got)))
		}
		return r, o.opErr("move", sendErr)
	}
	switch {
	case !moved:
		return r, o.unverified("move", "reservation after REGISTER AND MOVE to %s: %s", dest, describeReservation(got))
	case countKey(r.Keys.Keys, o.cfg.Key) == 0:
		return r, o.unverified("move", "own key %s no longer registered after the move (keys: %s)", o.cfg.Key, keyList(r.Keys.Keys))
	case countKey(r.Keys.Keys, dest) == 0:
		return r, o.unverified("move", "destination key %s not registered after the move (keys: %s)", dest, keyList(r.Keys.Keys))
	}
	l := r.Destination.Layout
	o.moveLayout = &l
	o.log.Info("reservation moved", "dest", dest, "transport_id", tid.String(), "layout", r.LayoutName)
	return r, nil
}
