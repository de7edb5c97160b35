// Package scsitest holds test doubles for package scsi: an in-memory logical
// unit (LUN) with SPC-4 persistent reservation semantics and SCSI-2
// reserve/release, reached through any number of I_T nexuses (Nexus), and a
// record/playback transport (Recorder, Playback).
//
// The LUN follows SPC-4 5.12 closely enough to test an ownership layer:
// REGISTER, REGISTER AND IGNORE EXISTING KEY, RESERVE, RELEASE, CLEAR,
// PREEMPT, PREEMPT AND ABORT, REGISTER AND MOVE, all six types, READ KEYS, READ RESERVATION,
// REPORT CAPABILITIES and READ FULL STATUS, unit attentions, the access
// rules of each type, and LUN reset. Options make it refuse what tgtd
// refuses (PREEMPT AND ABORT, READ FULL STATUS, APTPL), and a Nexus can
// lose its session the way tgtd's do: its registrations stay behind as
// orphans and the new session starts unregistered.
package scsitest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/hakit/hakit/scsi"
)

// Config shapes a LUN. The zero value is a 64 MiB disk of 512-byte blocks
// that implements every PR service action.
type Config struct {
	// Blocks and BlockSize give the capacity; 0 means 131072 and 512.
	Blocks    uint64
	BlockSize uint32
	// Vendor, Product, Serial and NAA identify the LUN; empty gives
	// "HAKIT", "FAKE LUN", "fake0001" and a fixed NAA 6 designator.
	Vendor, Product, Serial string
	NAA                     []byte
	// NoPreemptAndAbort, NoReadFullStatus and NoAPTPL make the LUN answer
	// ILLEGAL REQUEST, INVALID FIELD IN CDB (24/00) as tgtd does.
	NoPreemptAndAbort bool
	NoReadFullStatus  bool
	NoAPTPL           bool
	// NoReportCapabilities makes REPORT CAPABILITIES fail the same way.
	NoReportCapabilities bool
	// NoRegisterAndMove makes REGISTER AND MOVE fail the same way.
	NoRegisterAndMove bool
	// TgtdMove makes REGISTER AND MOVE behave as tgtd's: the destination
	// must be registered with the service-action key, its TransportID is
	// compared in tgtd's layout (scsi.TIDLayoutTgtd) and any mismatch is
	// INVALID FIELD IN CDB; a non-holder's move is GOOD and moves nothing;
	// the moved reservation's type reads 0 (tgtd does not copy it to the
	// destination), with tgtd's access rules for it: registrants read and
	// write, others neither, until the holder's PREEMPT sets a type.
	// Vendor defaults to tgtd's "IET" then.
	TgtdMove bool
}

type session struct {
	id        int
	initiator string
	isid      string
}

type registration struct {
	sess *session
	key  scsi.Key
}

// LUN is an in-memory logical unit. Its methods and those of its nexuses are
// safe for concurrent use: each command runs atomically, so concurrent
// PREEMPTs are ordered as a real device server orders them.
type LUN struct {
	cfg Config

	mu      sync.Mutex
	nextID  int
	gen     uint32
	regs    []registration
	resv    bool
	resKey  scsi.Key // key of the holder (0 for all-registrants types)
	resHold *session // holder; nil for all-registrants types
	resType scsi.ReservationType
	aptpl   bool
	scsi2   *session
	ua      map[*session][]scsi.Sense
	blocks  map[uint64][]byte
	offline bool
	count   map[byte]int
	live    map[*session]bool // sessions of connected nexuses
}

// New returns a LUN.
func New(cfg Config) *LUN {
	if cfg.Blocks == 0 {
		cfg.Blocks = 131072
	}
	if cfg.BlockSize == 0 {
		cfg.BlockSize = 512
	}
	if cfg.Vendor == "" && cfg.TgtdMove {
		cfg.Vendor = "IET"
	}
	if cfg.Vendor == "" {
		cfg.Vendor = "HAKIT"
	}
	if cfg.Product == "" {
		cfg.Product = "FAKE LUN"
	}
	if cfg.Serial == "" {
		cfg.Serial = "fake0001"
	}
	if cfg.NAA == nil {
		cfg.NAA = []byte{0x60, 0x01, 0x40, 0x50, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01}
	}
	return &LUN{cfg: cfg, ua: map[*session][]scsi.Sense{}, blocks: map[uint64][]byte{}, count: map[byte]int{}, live: map[*session]bool{}}
}

// Nexus is one I_T nexus (an initiator's session) to the LUN. It implements
// scsi.Transport and scsi.Resetter.
type Nexus struct {
	lun *LUN

	mu      sync.Mutex
	sess    *session
	dropped bool
}

// Connect opens a nexus for initiator with the given ISID (hex digits, e.g.
// "23d000000001"; may be empty).
func (l *LUN) Connect(initiator, isid string) *Nexus {
	l.mu.Lock()
	defer l.mu.Unlock()
	return &Nexus{lun: l, sess: l.newSessionLocked(initiator, isid)}
}

func (l *LUN) newSessionLocked(initiator, isid string) *session {
	l.nextID++
	s := &session{id: l.nextID, initiator: initiator, isid: isid}
	l.live[s] = true
	return s
}

// Reconnect replaces the nexus's session with a new one, as an iSCSI
// re-login after a dropped connection does: the old session's registrations
// and persistent reservation stay behind (orphans), its SCSI-2 reservation
// is released, and the new session is unregistered.
func (n *Nexus) Reconnect() {
	l := n.lun
	l.mu.Lock()
	defer l.mu.Unlock()
	n.mu.Lock()
	defer n.mu.Unlock()
	old := n.sess
	if l.scsi2 == old {
		l.scsi2 = nil
	}
	delete(l.ua, old)
	delete(l.live, old)
	n.sess = l.newSessionLocked(old.initiator, old.isid)
	n.dropped = false
}

// Drop makes every command fail with a transport error until Reconnect.
func (n *Nexus) Drop() {
	n.mu.Lock()
	n.dropped = true
	n.mu.Unlock()
}

// Initiator returns the nexus's initiator name.
func (n *Nexus) Initiator() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.sess.initiator
}

// ErrDropped is returned by a dropped nexus.
var ErrDropped = errors.New("scsitest: connection dropped")

// Execute runs one command.
func (n *Nexus) Execute(ctx context.Context, cmd *scsi.Command) (*scsi.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if cmd == nil || len(cmd.CDB) == 0 {
		return nil, errors.New("scsitest: empty command")
	}
	n.mu.Lock()
	s, dropped := n.sess, n.dropped
	n.mu.Unlock()
	if dropped {
		return nil, ErrDropped
	}
	l := n.lun
	l.mu.Lock()
	defer l.mu.Unlock()
	l.count[cmd.CDB[0]]++
	return l.execLocked(s, cmd), nil
}

// Reset performs a LUN reset: the SCSI-2 reservation goes, every connected
// nexus gets UNIT ATTENTION 29/00 (power on, reset); persistent
// reservations stay. Target and bus level act the same.
func (n *Nexus) Reset(ctx context.Context, level scsi.ResetLevel) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l := n.lun
	l.mu.Lock()
	defer l.mu.Unlock()
	l.scsi2 = nil
	l.uaAllLocked(0x29, 0x00)
	return nil
}

// uaAllLocked queues a unit attention for every connected session.
func (l *LUN) uaAllLocked(asc, ascq byte) {
	for s := range l.live {
		l.ua[s] = append(l.ua[s], scsi.Sense{Key: scsi.SenseUnitAttention, ASC: asc, ASCQ: ascq})
	}
}

// Restart loses the PR state (unless APTPL was set), the SCSI-2 reservation
// and the pending unit attentions, as a target restart does; data stays.
// Every connected nexus then gets UNIT ATTENTION 29/00.
func (l *LUN) Restart() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.aptpl {
		l.regs, l.resv, l.resHold, l.resKey, l.resType = nil, false, nil, 0, 0
	}
	l.scsi2 = nil
	l.ua = map[*session][]scsi.Sense{}
	l.uaAllLocked(0x29, 0x00)
}

// SetOnline makes the LUN answer NOT READY (04/03) to media commands when
// online is false.
func (l *LUN) SetOnline(online bool) {
	l.mu.Lock()
	l.offline = !online
	l.mu.Unlock()
}

// QueueUnitAttention queues a unit attention for n's session.
func (l *LUN) QueueUnitAttention(n *Nexus, asc, ascq byte) {
	n.mu.Lock()
	s := n.sess
	n.mu.Unlock()
	l.mu.Lock()
	l.ua[s] = append(l.ua[s], scsi.Sense{Key: scsi.SenseUnitAttention, ASC: asc, ASCQ: ascq})
	l.mu.Unlock()
}

// Count returns how many commands with this operation code were executed.
func (l *LUN) Count(op byte) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.count[op]
}

// Keys returns the registered keys in registration order.
func (l *LUN) Keys() []scsi.Key {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ks []scsi.Key
	for _, r := range l.regs {
		ks = append(ks, r.key)
	}
	return ks
}

func good(data []byte) *scsi.Response { return &scsi.Response{Status: scsi.StatusGood, Data: data} }

func conflict() *scsi.Response { return &scsi.Response{Status: scsi.StatusReservationConflict} }

func check(key scsi.SenseKey, asc, ascq byte) *scsi.Response {
	return &scsi.Response{Status: scsi.StatusCheckCondition, Sense: scsi.Sense{Key: key, ASC: asc, ASCQ: ascq}.MarshalFixed()}
}

func invalidField() *scsi.Response { return check(scsi.SenseIllegalRequest, 0x24, 0) }

func invalidParam() *scsi.Response { return check(scsi.SenseIllegalRequest, 0x26, 0) }

func (l *LUN) dataIn(cmd *scsi.Command, b []byte) *scsi.Response {
	r := good(b)
	if cmd.AllocLen < len(b) {
		r.Data, r.Residual = b[:max(cmd.AllocLen, 0)], 0
	} else {
		r.Residual = cmd.AllocLen - len(b)
	}
	return r
}

func (l *LUN) execLocked(s *session, cmd *scsi.Command) *scsi.Response {
	op := cmd.CDB[0]
	// SPC-4 5.14: INQUIRY and REPORT LUNS do not report a unit attention.
	if op != scsi.OpInquiry && op != scsi.OpReportLUNs {
		if q := l.ua[s]; len(q) > 0 {
			l.ua[s] = q[1:]
			return &scsi.Response{Status: scsi.StatusCheckCondition, Sense: q[0].MarshalFixed()}
		}
	}
	if r := l.accessLocked(s, op); r != nil {
		return r
	}
	switch op {
	case scsi.OpTestUnitReady:
		if l.offline {
			return check(scsi.SenseNotReady, 0x04, 0x03)
		}
		return good(nil)
	case scsi.OpInquiry:
		return l.inquiry(cmd)
	case scsi.OpServiceActionIn:
		c := scsi.Capacity{LastLBA: l.cfg.Blocks - 1, BlockSize: l.cfg.BlockSize}
		b, _ := c.MarshalBinary()
		return l.dataIn(cmd, b)
	case scsi.OpReportLUNs:
		return l.dataIn(cmd, scsi.MarshalReportLUNs([]uint64{0}))
	case scsi.OpRead10, scsi.OpWrite10, scsi.OpRead16, scsi.OpWrite16:
		return l.rw(cmd)
	case scsi.OpReserve6:
		if l.scsi2 != nil && l.scsi2 != s {
			return conflict()
		}
		l.scsi2 = s
		return good(nil)
	case scsi.OpRelease6:
		if l.scsi2 == s {
			l.scsi2 = nil
		}
		return good(nil)
	case scsi.OpPRIn:
		return l.prIn(s, cmd)
	case scsi.OpPROut:
		return l.prOut(s, cmd)
	}
	return check(scsi.SenseIllegalRequest, 0x20, 0)
}

// accessLocked applies the reservations' access rules (SPC-2 5.5.1 for
// RESERVE(6), SPC-4 5.12.1 table 63 for persistent reservations).
func (l *LUN) accessLocked(s *session, op byte) *scsi.Response {
	switch op {
	case scsi.OpInquiry, scsi.OpReportLUNs, scsi.OpPRIn, scsi.OpServiceActionIn:
		return nil
	}
	if l.scsi2 != nil && l.scsi2 != s && op != scsi.OpRelease6 && op != scsi.OpPROut {
		return conflict()
	}
	if !l.resv || l.holderLocked(s) {
		return nil
	}
	registered := l.regOf(s) >= 0
	switch op {
	case scsi.OpTestUnitReady, scsi.OpPROut, scsi.OpRelease6:
		return nil
	case scsi.OpRead10, scsi.OpRead16:
		switch l.resType {
		case scsi.TypeExclusiveAccess:
			return conflict()
		case scsi.TypeExclusiveAccessRegistrantsOnly, scsi.TypeExclusiveAccessAllRegistrants, 0:
			// 0: tgtd's holder after REGISTER AND MOVE (Config.TgtdMove).
			if !registered {
				return conflict()
			}
		}
		return nil
	case scsi.OpWrite10, scsi.OpWrite16:
		if (l.resType.RegistrantsAccess() || l.resType == 0) && registered {
			return nil
		}
		return conflict()
	case scsi.OpReserve6:
		return conflict()
	}
	return nil
}

func (l *LUN) holderLocked(s *session) bool {
	if !l.resv {
		return false
	}
	if l.resType.AllRegistrants() {
		return l.regOf(s) >= 0
	}
	return l.resHold == s
}

func (l *LUN) regOf(s *session) int {
	for i, r := range l.regs {
		if r.sess == s {
			return i
		}
	}
	return -1
}

func (l *LUN) inquiry(cmd *scsi.Command) *scsi.Response {
	if cmd.CDB[1]&1 == 0 {
		if cmd.CDB[2] != 0 {
			return invalidField()
		}
		std := scsi.Standard{DeviceType: 0, Version: 6, DataFormat: 2, CmdQue: true, Vendor: l.cfg.Vendor, Product: l.cfg.Product, Revision: "0001"}
		b, _ := std.MarshalBinary()
		return l.dataIn(cmd, b)
	}
	switch cmd.CDB[2] {
	case scsi.VPDSupportedPages:
		return l.dataIn(cmd, scsi.MarshalSupportedPages([]byte{0x00, 0x80, 0x83}))
	case scsi.VPDUnitSerial:
		return l.dataIn(cmd, scsi.MarshalUnitSerial(l.cfg.Serial))
	case scsi.VPDDeviceID:
		return l.dataIn(cmd, scsi.MarshalDeviceID([]scsi.Designator{
			{CodeSet: scsi.CodeSetBinary, Association: scsi.AssocLU, Type: scsi.DesignatorNAA, Value: l.cfg.NAA},
			{CodeSet: scsi.CodeSetASCII, Association: scsi.AssocLU, Type: scsi.DesignatorT10, Value: []byte(fmt.Sprintf("%-8s%s", l.cfg.Vendor, l.cfg.Serial))},
		}))
	}
	return invalidField()
}

func (l *LUN) rw(cmd *scsi.Command) *scsi.Response {
	if l.offline {
		return check(scsi.SenseNotReady, 0x04, 0x03)
	}
	var lba, n uint64
	write := cmd.CDB[0] == scsi.OpWrite10 || cmd.CDB[0] == scsi.OpWrite16
	if cmd.CDB[0] == scsi.OpRead16 || cmd.CDB[0] == scsi.OpWrite16 {
		if len(cmd.CDB) < 16 {
			return invalidField()
		}
		lba = binary.BigEndian.Uint64(cmd.CDB[2:])
		n = uint64(binary.BigEndian.Uint32(cmd.CDB[10:]))
	} else {
		lba = uint64(cmd.CDB[2])<<24 | uint64(cmd.CDB[3])<<16 | uint64(cmd.CDB[4])<<8 | uint64(cmd.CDB[5])
		n = uint64(cmd.CDB[7])<<8 | uint64(cmd.CDB[8])
	}
	if lba+n > l.cfg.Blocks || lba+n < lba {
		return check(scsi.SenseIllegalRequest, 0x21, 0)
	}
	bs := uint64(l.cfg.BlockSize)
	if write {
		if uint64(len(cmd.Data)) != n*bs {
			return invalidField()
		}
		for i := uint64(0); i < n; i++ {
			l.blocks[lba+i] = append([]byte(nil), cmd.Data[i*bs:(i+1)*bs]...)
		}
		return good(nil)
	}
	out := make([]byte, n*bs)
	for i := uint64(0); i < n; i++ {
		copy(out[i*bs:], l.blocks[lba+i])
	}
	return l.dataIn(cmd, out)
}
