package scsitest

import (
	"slices"
	"strings"

	"github.com/hakit/hakit/scsi"
)

func (l *LUN) prIn(s *session, cmd *scsi.Command) *scsi.Response {
	var b []byte
	switch scsi.PRInAction(cmd.CDB[1] & 0x1f) {
	case scsi.PRInReadKeys: // SPC-4 6.14.2
		k := scsi.Keys{Generation: l.gen}
		for _, r := range l.regs {
			k.Keys = append(k.Keys, r.key)
		}
		b, _ = k.MarshalBinary()
	case scsi.PRInReadReservation: // SPC-4 6.14.3
		r := scsi.Reservation{Generation: l.gen, Held: l.resv, Key: l.resKey, Type: l.resType}
		b, _ = r.MarshalBinary()
	case scsi.PRInReportCapabilities: // SPC-4 6.14.4
		if l.cfg.NoReportCapabilities {
			return invalidField()
		}
		c := scsi.Capabilities{
			TypeMaskValid:           true,
			PersistThroughPowerLoss: !l.cfg.NoAPTPL,
			PTPLActive:              l.aptpl,
			Types: []scsi.ReservationType{
				scsi.TypeWriteExclusive, scsi.TypeExclusiveAccess,
				scsi.TypeWriteExclusiveRegistrantsOnly, scsi.TypeExclusiveAccessRegistrantsOnly,
				scsi.TypeWriteExclusiveAllRegistrants, scsi.TypeExclusiveAccessAllRegistrants,
			},
		}
		b, _ = c.MarshalBinary()
	case scsi.PRInReadFullStatus: // SPC-4 6.14.5
		if l.cfg.NoReadFullStatus {
			return invalidField()
		}
		fs := scsi.FullStatus{Generation: l.gen}
		for _, r := range l.regs {
			reg := scsi.Registration{Key: r.key, RelativeTargetPort: 1,
				Initiator: scsi.TransportID{Protocol: scsi.ProtocolISCSI, Name: r.sess.initiator, ISID: r.sess.isid}}
			if l.holderLocked(r.sess) {
				reg.Holder, reg.Type = true, l.resType
			}
			fs.Registrations = append(fs.Registrations, reg)
		}
		b, _ = fs.MarshalBinary()
	default:
		return invalidField()
	}
	_ = s
	return l.dataIn(cmd, b)
}

func (l *LUN) queueUA(s *session, asc, ascq byte) {
	l.ua[s] = append(l.ua[s], scsi.Sense{Key: scsi.SenseUnitAttention, ASC: asc, ASCQ: ascq})
}

// unregister removes registration i; if its session held the reservation,
// the reservation goes (SPC-4 5.12.11.2: a holder that unregisters
// releases, and for registrants-only types the other registrants get
// RESERVATIONS RELEASED).
func (l *LUN) unregister(i int) {
	s := l.regs[i].sess
	wasHolder := l.holderLocked(s)
	l.regs = append(l.regs[:i], l.regs[i+1:]...)
	if !wasHolder {
		return
	}
	if l.resType.AllRegistrants() && len(l.regs) > 0 {
		return
	}
	typ := l.resType
	l.resv, l.resHold, l.resKey, l.resType = false, nil, 0, 0
	if typ == scsi.TypeWriteExclusiveRegistrantsOnly || typ == scsi.TypeExclusiveAccessRegistrantsOnly {
		for _, r := range l.regs {
			l.queueUA(r.sess, 0x2a, 0x04)
		}
	}
}

func (l *LUN) prOut(s *session, cmd *scsi.Command) *scsi.Response {
	action := scsi.PROutAction(cmd.CDB[1] & 0x1f)
	typ := scsi.ReservationType(cmd.CDB[2] & 0x0f)
	if cmd.CDB[2]>>4 != 0 {
		return invalidField() // only LU_SCOPE
	}
	if action == scsi.PROutRegisterAndMove {
		return l.registerAndMove(s, typ, cmd.Data)
	}
	var p scsi.PROutParams
	if len(cmd.Data) < 24 || p.UnmarshalBinary(cmd.Data) != nil {
		return check(scsi.SenseIllegalRequest, 0x1a, 0)
	}
	if p.AllTargetPorts || cmd.Data[20]&0x08 != 0 {
		return invalidParam()
	}
	me := l.regOf(s)
	keyOK := me >= 0 && l.regs[me].key == p.Key
	switch action {
	case scsi.PROutRegister, scsi.PROutRegisterAndIgnore:
		// SPC-4 5.12.7: REGISTER checks the reservation key,
		// REGISTER AND IGNORE EXISTING KEY does not.
		if p.APTPL && l.cfg.NoAPTPL {
			return invalidParam()
		}
		if action == scsi.PROutRegister {
			if me < 0 && p.Key != 0 {
				return conflict()
			}
			if me >= 0 && !keyOK {
				return conflict()
			}
		}
		switch {
		case me < 0 && p.ServiceActionKey == 0:
			return good(nil)
		case me < 0:
			l.regs = append(l.regs, registration{sess: s, key: p.ServiceActionKey})
		case p.ServiceActionKey == 0:
			l.unregister(me)
		default:
			l.regs[me].key = p.ServiceActionKey
			if l.resHold == s {
				l.resKey = p.ServiceActionKey
			}
		}
		l.aptpl = p.APTPL
		l.gen++
		return good(nil)
	case scsi.PROutReserve, scsi.PROutRelease, scsi.PROutClear, scsi.PROutPreempt, scsi.PROutPreemptAndAbort:
	default:
		return invalidField()
	}
	if action == scsi.PROutPreemptAndAbort && l.cfg.NoPreemptAndAbort {
		return invalidField()
	}
	if action != scsi.PROutClear && !typ.Valid() {
		return invalidField()
	}
	if !keyOK {
		return conflict()
	}
	switch action {
	case scsi.PROutReserve: // SPC-4 5.12.9
		if l.resv {
			if l.holderLocked(s) && l.resType == typ {
				return good(nil)
			}
			return conflict()
		}
		l.resv, l.resType = true, typ
		if !typ.AllRegistrants() {
			l.resHold, l.resKey = s, p.Key
		}
		return good(nil)
	case scsi.PROutRelease: // SPC-4 5.12.11.2
		if !l.resv || !l.holderLocked(s) {
			return good(nil)
		}
		if l.resType != typ {
			return check(scsi.SenseIllegalRequest, 0x26, 0x04) // invalid release of persistent reservation
		}
		old := l.resType
		l.resv, l.resHold, l.resKey, l.resType = false, nil, 0, 0
		if old != scsi.TypeWriteExclusive && old != scsi.TypeExclusiveAccess {
			for _, r := range l.regs {
				if r.sess != s {
					l.queueUA(r.sess, 0x2a, 0x04)
				}
			}
		}
		return good(nil)
	case scsi.PROutClear: // SPC-4 5.12.11.6
		for _, r := range l.regs {
			if r.sess != s {
				l.queueUA(r.sess, 0x2a, 0x03)
			}
		}
		l.regs, l.resv, l.resHold, l.resKey, l.resType = nil, false, nil, 0, 0
		l.gen++
		return good(nil)
	}
	return l.preempt(s, typ, p)
}

// preempt implements PREEMPT and PREEMPT AND ABORT (SPC-4 5.12.11.4). The
// issuing nexus never loses its own registration.
func (l *LUN) preempt(s *session, typ scsi.ReservationType, p scsi.PROutParams) *scsi.Response {
	sa := p.ServiceActionKey
	removeKey := func(k scsi.Key) bool {
		found := false
		kept := l.regs[:0]
		for _, r := range l.regs {
			if r.key == k && r.sess != s {
				l.queueUA(r.sess, 0x2a, 0x05) // registrations preempted
				found = true
				continue
			}
			kept = append(kept, r)
		}
		l.regs = kept
		return found || l.regs[l.regOf(s)].key == k
	}
	switch {
	case !l.resv:
		// 5.12.11.4.3: no reservation: remove the registrations.
		if sa == 0 {
			return invalidParam()
		}
		if !removeKey(sa) {
			return conflict()
		}
	case l.resType.AllRegistrants():
		// 5.12.11.4.4: all-registrants reservation.
		if sa != 0 {
			if !removeKey(sa) {
				return conflict()
			}
			break
		}
		for _, r := range l.regs {
			if r.sess != s {
				l.queueUA(r.sess, 0x2a, 0x05)
			}
		}
		l.regs = []registration{l.regs[l.regOf(s)]}
		l.resType = typ
		if !typ.AllRegistrants() {
			l.resHold, l.resKey = s, p.Key
		}
	case l.resKey == sa:
		// 5.12.11.4.3: preempt the holder: release, remove the
		// registrations with its key, reserve for the issuer.
		removeKey(sa)
		oldType := l.resType
		l.resHold, l.resKey, l.resType = s, p.Key, typ
		if typ.AllRegistrants() {
			l.resHold, l.resKey = nil, 0
		}
		if oldType != typ {
			for _, r := range l.regs {
				if r.sess != s {
					l.queueUA(r.sess, 0x2a, 0x03)
				}
			}
		}
	default:
		// 5.12.11.4.4: not the holder's key: remove registrations.
		if sa == 0 {
			return invalidParam()
		}
		if !removeKey(sa) {
			return conflict()
		}
	}
	l.gen++
	return good(nil)
}

// registerAndMove implements REGISTER AND MOVE (SPC-4 5.12.8), or tgtd's
// variant with Config.TgtdMove (usr/spc.c spc_pr_register_and_move).
func (l *LUN) registerAndMove(s *session, typ scsi.ReservationType, data []byte) *scsi.Response {
	fail := invalidParam
	if l.cfg.TgtdMove {
		fail = invalidField
	}
	if l.cfg.NoRegisterAndMove {
		return invalidField()
	}
	var p scsi.RegisterAndMoveParams
	if err := p.UnmarshalBinary(data); err != nil {
		return fail()
	}
	if p.APTPL && l.cfg.NoAPTPL {
		return fail()
	}
	me := l.regOf(s)
	if me < 0 {
		if l.resv {
			return conflict()
		}
		return fail()
	}
	if !l.holderLocked(s) || l.resType.AllRegistrants() {
		if l.cfg.TgtdMove {
			return good(nil) // tgtd: GOOD, nothing moved
		}
		return conflict()
	}
	if l.regs[me].key != p.Key || p.ServiceActionKey == 0 {
		return conflict()
	}
	want := scsi.TIDLayoutStandard
	if l.cfg.TgtdMove {
		want = scsi.TIDLayoutTgtd
	}
	tid := p.Destination
	if tid.Protocol != scsi.ProtocolISCSI || tid.Format != 1 || tid.Layout != want {
		return fail()
	}
	var dest *session
	for x := range l.live {
		if x.initiator == tid.Name && strings.EqualFold(x.isid, tid.ISID) {
			dest = x
		}
	}
	if dest == nil || dest == s {
		return fail()
	}
	d := l.regOf(dest)
	switch {
	case d < 0 && l.cfg.TgtdMove:
		return fail() // tgtd moves only to a registered nexus
	case d >= 0 && l.regs[d].key != p.ServiceActionKey:
		return fail()
	case d < 0:
		l.regs = append(l.regs, registration{sess: dest, key: p.ServiceActionKey})
	}
	if l.cfg.TgtdMove {
		l.resType = 0 // tgtd: the destination's own (unset) type
	} else {
		l.resType = typ
	}
	l.resHold, l.resKey = dest, p.ServiceActionKey
	if p.Unregister {
		l.regs = slices.DeleteFunc(l.regs, func(r registration) bool { return r.sess == s })
	}
	l.gen++
	return good(nil)
}
