package scsi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
)

// Ownership errors, matched with errors.Is.
var (
	// ErrNotRegistered: this node's key is not registered on the device:
	// it was fenced (or never registered).
	ErrNotRegistered = errors.New("this node's key is not registered")
	// ErrKeyNotRegistered: the peer key given to Fence is not registered
	// (already fenced, or a wrong key).
	ErrKeyNotRegistered = errors.New("key is not registered")
	// ErrOwnKey: Fence was asked to fence this node's own key.
	ErrOwnKey = errors.New("refusing to fence this node's own key")
	// ErrReservedByOther: another key holds the reservation.
	ErrReservedByOther = errors.New("reservation held by another key")
	// ErrNotVerified: the read-back after an action does not show the
	// expected state.
	ErrNotVerified = errors.New("state read back does not match")
)

// Support is what a target is known to support: unknown until asked.
type Support int

// Support values.
const (
	SupportUnknown Support = iota
	Supported
	Unsupported
)

func (s Support) String() string {
	return [...]string{"unknown", "yes", "no"}[s]
}

// MarshalText gives "unknown", "yes" or "no".
func (s Support) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// TargetSupport records what the target answered to the optional parts of
// SPC-4 persistent reservations.
type TargetSupport struct {
	ReportCapabilities Support `json:"report_capabilities"`
	// Capabilities is the REPORT CAPABILITIES answer, when supported.
	Capabilities    *Capabilities `json:"capabilities,omitempty"`
	ReadFullStatus  Support       `json:"read_full_status"`
	PreemptAndAbort Support       `json:"preempt_and_abort"`
	APTPL           Support       `json:"aptpl"`
}

// OwnerConfig configures an Owner. Transport and Key are required.
type OwnerConfig struct {
	// Transport reaches the logical unit (one I_T nexus).
	Transport Transport
	// Name names the device in errors and logs.
	Name string
	// Key is this node's reservation key (NodeKey, FenceSCSIKey); not 0.
	Key Key
	// Type is the reservation type of Acquire and Fence; 0 means Write
	// Exclusive - Registrants Only (5), as fence_scsi.
	Type ReservationType
	// APTPL asks the target to keep the registrations through power loss;
	// a target that refuses it gets the registration without it, and
	// Result.Notes says so.
	APTPL bool
	// UnitAttentionRetries bounds how often one command is repeated after
	// a UNIT ATTENTION; 0 means 8.
	UnitAttentionRetries int
	// Logger receives what the Owner does; nil discards.
	Logger *slog.Logger
}

// Owner manages this node's persistent reservation on one logical unit: the
// fencing backend. Every method reads the state back from the device
// before reporting success; nothing is reported from memory. Methods are
// safe for concurrent use (they are serialised).
type Owner struct {
	cfg OwnerConfig
	log *slog.Logger
	dev *Device

	mu      sync.Mutex
	support TargetSupport
	uas     []Sense
}

// NewOwner validates cfg and returns an Owner. It does no I/O.
func NewOwner(cfg OwnerConfig) (*Owner, error) {
	if cfg.Transport == nil {
		return nil, errors.New("scsi: owner: no transport")
	}
	if cfg.Key == 0 {
		return nil, errors.New("scsi: owner: key 0 is not a valid reservation key")
	}
	if cfg.Type == 0 {
		cfg.Type = TypeWriteExclusiveRegistrantsOnly
	}
	if !cfg.Type.Valid() {
		return nil, fmt.Errorf("scsi: owner: reservation type %d: want one of 1, 3, 5, 6, 7, 8", cfg.Type)
	}
	if cfg.UnitAttentionRetries <= 0 {
		cfg.UnitAttentionRetries = 8
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	o := &Owner{cfg: cfg, log: log}
	o.dev = &Device{Transport: cfg.Transport, Name: cfg.Name, UnitAttentionRetries: cfg.UnitAttentionRetries, TransportRetries: 2,
		OnUnitAttention: func(s Sense) {
			o.uas = append(o.uas, s)
			o.log.Info("unit attention absorbed", "device", cfg.Name, "sense", s.String())
		}}
	return o, nil
}

// Recovery returns a second Owner with the same configuration and its own
// lock, for a transport's reconnect hook (iscsi.Config.OnReconnect): the
// hook runs inside the call that found the connection down, which may be a
// call of this Owner holding its lock, so the hook must not use this Owner.
// The two share no state but the device.
func (o *Owner) Recovery() *Owner {
	r, _ := NewOwner(o.cfg)
	return r
}

// Key returns this node's key.
func (o *Owner) Key() Key { return o.cfg.Key }

// Type returns the configured reservation type.
func (o *Owner) Type() ReservationType { return o.cfg.Type }

// Device returns a command layer on the Owner's transport (with the same
// unit attention retries, without the Owner's bookkeeping).
func (o *Owner) Device() *Device {
	return &Device{Transport: o.cfg.Transport, Name: o.cfg.Name, UnitAttentionRetries: o.cfg.UnitAttentionRetries, TransportRetries: 2}
}

// Result is what an ownership action did besides its main effect.
type Result struct {
	// UnitAttentions are the unit attentions absorbed (reported once each
	// by the device; they are facts, not failures).
	UnitAttentions []Sense `json:"unit_attentions,omitempty"`
	// Notes explain fallbacks and no-ops in words.
	Notes []string `json:"notes,omitempty"`
	// Keys and Reservation are the state read back at the end.
	Keys        Keys        `json:"keys"`
	Reservation Reservation `json:"reservation"`
}

// do runs one action under the lock and collects its unit attentions.
func (o *Owner) do(action func(r *Result) error) (*Result, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.doLocked(action)
}

func (o *Owner) doLocked(action func(r *Result) error) (*Result, error) {
	o.uas = nil
	r := &Result{}
	err := action(r)
	o.finish(r)
	return r, err
}

func (o *Owner) finish(r *Result) {
	r.UnitAttentions = append(r.UnitAttentions, o.uas...)
	o.uas = nil
}

func (r *Result) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// tur absorbs pending unit attentions with TEST UNIT READY (as fence_scsi
// does before each PR command). RESERVATION CONFLICT (another node's
// exclusive access reservation) and NOT READY are not errors here: PR
// commands may still work on a unit that is not ready (tgtd's offline LUN
// answers them), so NOT READY is noted and the action goes on.
func (o *Owner) tur(ctx context.Context, r *Result) error {
	err := o.dev.TestUnitReady(ctx)
	switch {
	case err == nil || errors.Is(err, ErrReservationConflict):
		return nil
	case errors.Is(err, ErrNotReady):
		r.note("unit not ready (%s): persistent reservation commands tried anyway", senseText(err))
		return nil
	}
	return err
}

func (o *Owner) readState(ctx context.Context, r *Result) error {
	k, err := o.dev.ReadKeys(ctx)
	if err != nil {
		return err
	}
	res, err := o.dev.ReadReservation(ctx)
	if err != nil {
		return err
	}
	r.Keys, r.Reservation = k, res
	return nil
}

func countKey(ks []Key, k Key) int {
	n := 0
	for _, x := range ks {
		if x == k {
			n++
		}
	}
	return n
}

// prOut sends one PR OUT. The actions whose repetition leaves the same
// state (REGISTER AND IGNORE EXISTING KEY, RESERVE, RELEASE) are sent once
// more when the transport lost the answer; REGISTER, PREEMPT and CLEAR are
// not (the callers verify by reading back).
func (o *Owner) prOut(ctx context.Context, a PROutAction, typ ReservationType, p PROutParams) error {
	o.log.Debug("persistent reserve out", "device", o.cfg.Name, "action", a.String(), "type", typ.Short(), "key", p.Key, "sa_key", p.ServiceActionKey)
	err := o.dev.PROut(ctx, a, typ, p)
	switch a {
	case PROutRegisterAndIgnore, PROutReserve, PROutRelease:
		if IsTransportError(ctx, err) {
			o.log.Warn("persistent reserve out: answer lost, sending again", "device", o.cfg.Name, "action", a.String(), "err", err)
			err = o.dev.PROut(ctx, a, typ, p)
		}
	}
	return err
}

// register runs REGISTER AND IGNORE EXISTING KEY with this node's key, with
// APTPL when configured and accepted.
func (o *Owner) register(ctx context.Context, r *Result) error {
	p := PROutParams{ServiceActionKey: o.cfg.Key, APTPL: o.cfg.APTPL && o.support.APTPL != Unsupported}
	err := o.prOut(ctx, PROutRegisterAndIgnore, 0, p)
	if p.APTPL {
		if IsUnsupported(err) {
			o.support.APTPL = Unsupported
			r.note("target refused APTPL (%v): registered without it; the registration will not survive a target restart", err)
			p.APTPL = false
			err = o.prOut(ctx, PROutRegisterAndIgnore, 0, p)
		} else if err == nil {
			o.support.APTPL = Supported
		}
	}
	return err
}

// dropOrphans removes the other registrations carrying this node's key
// (left by an earlier session of this node) with PREEMPT, this node's key as
// both keys: SPC-4 5.12.11.4 removes every registration of the
// service-action key except the issuing I_T nexus's, and, when that key
// held the reservation, re-establishes it for this nexus. typ keeps the
// reservation's current type.
func (o *Owner) dropOrphans(ctx context.Context, r *Result, keys Keys, res Reservation) error {
	// After REGISTER AND IGNORE this nexus is registered, so an orphan
	// holding the reservation shows as a second registration of own key.
	if countKey(keys.Keys, o.cfg.Key) < 2 {
		return nil
	}
	typ := o.cfg.Type
	if res.Held && res.Key == o.cfg.Key {
		typ = res.Type
	}
	if err := o.prOut(ctx, PROutPreempt, typ, PROutParams{Key: o.cfg.Key, ServiceActionKey: o.cfg.Key}); err != nil {
		return err
	}
	if n := countKey(keys.Keys, o.cfg.Key); n > 1 {
		r.note("removed %d stale registration(s) of own key %s left by an earlier session", n-1, o.cfg.Key)
	}
	return nil
}

// Register registers this node's key on this I_T nexus (REGISTER AND IGNORE
// EXISTING KEY), removes stale registrations of the same key left by earlier
// sessions, and verifies with READ KEYS that the key is registered exactly
// once.
func (o *Owner) Register(ctx context.Context) (*Result, error) {
	return o.do(func(r *Result) error { return o.registerLocked(ctx, r) })
}

func (o *Owner) registerLocked(ctx context.Context, r *Result) error {
	if err := o.tur(ctx, r); err != nil {
		return err
	}
	if err := o.register(ctx, r); err != nil {
		return err
	}
	if err := o.readState(ctx, r); err != nil {
		return err
	}
	if err := o.dropOrphans(ctx, r, r.Keys, r.Reservation); err != nil {
		return err
	}
	if err := o.readState(ctx, r); err != nil {
		return err
	}
	if n := countKey(r.Keys.Keys, o.cfg.Key); n != 1 {
		return o.unverified("register", "own key %s registered %d times, want 1", o.cfg.Key, n)
	}
	return nil
}

func (o *Owner) unverified(op, format string, args ...any) error {
	return &OpError{Op: op, Device: o.cfg.Name, Err: fmt.Errorf("%w: "+format, append([]any{ErrNotVerified}, args...)...)}
}

func (o *Owner) opErr(op string, err error) error {
	return &OpError{Op: op, Device: o.cfg.Name, Err: err}
}

// Reassert restores this node's registration after its session was
// replaced (an iSCSI re-login on a target that ties registrations to the
// session, as tgtd does: the old registration stays as an orphan and the
// new session is unregistered). It never registers a node that was fenced:
// if this node's key is gone from the device it returns ErrNotRegistered.
// Call it after a reconnect, or when this node's own commands meet
// RESERVATION CONFLICT.
//
// Steps: READ KEYS (own key must be there); REGISTER with own key as both
// keys, a no-op that conflicts when this nexus is not registered; if it
// conflicts, REGISTER AND IGNORE EXISTING KEY, then check the orphan is
// still there (if the peer fenced us meanwhile, undo and report fenced),
// then PREEMPT with own key as both keys and the reservation's type, which
// drops the orphan and moves its reservation to this nexus.
//
// Reassert may be called from a transport's reconnect hook
// (iscsi.Config.OnReconnect), which runs inside the call that found the
// connection down, possibly a call of this Owner holding its lock: when the
// lock is taken, Reassert runs on a sibling Owner (Recovery) instead of
// waiting for it.
func (o *Owner) Reassert(ctx context.Context) (*Result, error) {
	if !o.mu.TryLock() {
		return o.Recovery().Reassert(ctx)
	}
	defer o.mu.Unlock()
	return o.doLocked(func(r *Result) error {
		if err := o.tur(ctx, r); err != nil {
			return err
		}
		_, err := o.reassertLocked(ctx, r, "reassert")
		return err
	})
}

// reassertLocked is Reassert; replaced reports whether this nexus had to
// be registered again. op names the action in errors; only Reassert itself
// notes a nexus found registered.
func (o *Owner) reassertLocked(ctx context.Context, r *Result, op string) (replaced bool, err error) {
	if err := o.readState(ctx, r); err != nil {
		return false, err
	}
	if countKey(r.Keys.Keys, o.cfg.Key) == 0 {
		return false, o.opErr(op, fmt.Errorf("%w (key %s): fenced by a peer or never registered; unfence to join again", ErrNotRegistered, o.cfg.Key))
	}
	err = o.prOut(ctx, PROutRegister, 0, PROutParams{Key: o.cfg.Key, ServiceActionKey: o.cfg.Key})
	switch {
	case err == nil:
		if op == "reassert" {
			r.note("this I_T nexus is registered")
		}
	case errors.Is(err, ErrReservationConflict):
		replaced = true
		r.note("this I_T nexus was not registered (session replaced): registering again")
		if err := o.register(ctx, r); err != nil {
			return replaced, err
		}
		k, err := o.dev.ReadKeys(ctx)
		if err != nil {
			return replaced, err
		}
		if countKey(k.Keys, o.cfg.Key) < 2 {
			// The orphan went between the two reads: a peer fenced
			// this node. Do not stay registered.
			uerr := o.prOut(ctx, PROutRegister, 0, PROutParams{Key: o.cfg.Key})
			return replaced, o.opErr(op, fmt.Errorf("%w (key %s): fenced by a peer while re-registering (undo: %v)", ErrNotRegistered, o.cfg.Key, uerr))
		}
		r.Keys = k
	default:
		return false, err
	}
	if err := o.dropOrphans(ctx, r, r.Keys, r.Reservation); err != nil {
		if errors.Is(err, ErrReservationConflict) {
			return replaced, o.opErr(op, fmt.Errorf("%w (key %s): fenced by a peer while re-registering: %w", ErrNotRegistered, o.cfg.Key, err))
		}
		return replaced, err
	}
	if err := o.readState(ctx, r); err != nil {
		return replaced, err
	}
	if n := countKey(r.Keys.Keys, o.cfg.Key); n != 1 {
		return replaced, o.unverified(op, "own key %s registered %d times, want 1", o.cfg.Key, n)
	}
	return replaced, nil
}

// onNexus runs op, a PR OUT with this node's key. When it conflicts while
// this node's key is still registered, this I_T nexus may have lost its
// registration with a replaced session (tgtd): reassert it and, if it was
// replaced, run op once more. A fenced node's key is gone, so it is never
// re-registered here.
func (o *Owner) onNexus(ctx context.Context, r *Result, op func() error) error {
	err := op()
	if !errors.Is(err, ErrReservationConflict) {
		return err
	}
	k, kerr := o.dev.ReadKeys(ctx)
	if kerr != nil || countKey(k.Keys, o.cfg.Key) == 0 {
		return err
	}
	replaced, rerr := o.reassertLocked(ctx, r, "reassert")
	if rerr != nil {
		return rerr
	}
	if !replaced {
		return err
	}
	return op()
}

// UnregisteredError is Acquire's refusal when this node's key is not
// registered on the device: the node may have been fenced (possibly while
// nothing watched its key), and under the registrants types a registered
// node may write, so Acquire never registers it. Joining again is an
// explicit step: Unfence (fence_scsi's "on") or Register. It matches
// ErrNotRegistered with errors.Is.
type UnregisteredError struct {
	Op     string
	Device string
	Key    Key
}

func (e *UnregisteredError) Error() string {
	dev := ""
	if e.Device != "" {
		dev = " " + e.Device
	}
	return fmt.Sprintf("%s%s: %v (key %s): this node may have been fenced; %s does not register: unfence (fence_scsi's on) or register explicitly first", e.Op, dev, ErrNotRegistered, e.Key, e.Op)
}

// Unwrap returns ErrNotRegistered.
func (e *UnregisteredError) Unwrap() error { return ErrNotRegistered }

// Acquire reserves the logical unit with the configured type for this node,
// whose key must already be registered (Register or Unfence first), then
// verifies with READ RESERVATION that this node's key holds it. It never
// registers a key that is gone: that gives *UnregisteredError (matching
// ErrNotRegistered), since the node may have been fenced. A registration
// this I_T nexus lost with a replaced session while the key stays
// registered elsewhere is restored as Reassert does. A reservation already
// held by this key is kept (a no-op); one held by another key gives
// ErrReservedByOther.
func (o *Owner) Acquire(ctx context.Context) (*Result, error) {
	return o.do(func(r *Result) error {
		if err := o.tur(ctx, r); err != nil {
			return err
		}
		if err := o.readState(ctx, r); err != nil {
			return err
		}
		if countKey(r.Keys.Keys, o.cfg.Key) == 0 {
			return &UnregisteredError{Op: "acquire", Device: o.cfg.Name, Key: o.cfg.Key}
		}
		if _, err := o.reassertLocked(ctx, r, "acquire"); err != nil {
			return err
		}
		res := r.Reservation
		switch {
		case res.Held && res.Key == o.cfg.Key && res.Type == o.cfg.Type:
			r.note("already reserved by own key %s (%s)", o.cfg.Key, res.Type)
			return nil
		case res.Held && res.Type.AllRegistrants() && res.Type == o.cfg.Type:
			r.note("already reserved (%s): every registrant holds it", res.Type)
			return nil
		case res.Held && res.Key == o.cfg.Key:
			return o.opErr("acquire", fmt.Errorf("own key %s already holds a %s reservation, not the configured %s: release it first", o.cfg.Key, res.Type, o.cfg.Type))
		case res.Held:
			return o.opErr("acquire", fmt.Errorf("%w: key %s holds a %s reservation", ErrReservedByOther, res.Key, res.Type))
		}
		if err := o.prOut(ctx, PROutReserve, o.cfg.Type, PROutParams{Key: o.cfg.Key}); err != nil {
			return err
		}
		if err := o.readState(ctx, r); err != nil {
			return err
		}
		if !o.holds(r.Reservation, r.Keys) {
			return o.unverified("acquire", "reservation after RESERVE: %s", describeReservation(r.Reservation))
		}
		return nil
	})
}

// holds reports whether this node's key holds res.
func (o *Owner) holds(res Reservation, k Keys) bool {
	if !res.Held || res.Type != o.cfg.Type {
		return false
	}
	if res.Type.AllRegistrants() {
		return countKey(k.Keys, o.cfg.Key) > 0
	}
	return res.Key == o.cfg.Key
}

func describeReservation(res Reservation) string {
	if !res.Held {
		return "none"
	}
	return fmt.Sprintf("key %s, %s", res.Key, res.Type)
}

// Release releases the reservation if this node's key holds it (keeping the
// registration) and verifies it is gone. It is a no-op, said in Notes, when
// no reservation exists or another key holds it.
func (o *Owner) Release(ctx context.Context) (*Result, error) {
	return o.do(func(r *Result) error {
		if err := o.tur(ctx, r); err != nil {
			return err
		}
		if err := o.readState(ctx, r); err != nil {
			return err
		}
		res := r.Reservation
		switch {
		case !res.Held:
			r.note("no reservation held: nothing to release")
			return nil
		case !res.Type.AllRegistrants() && res.Key != o.cfg.Key:
			r.note("reservation held by key %s, not by own key %s: not released", res.Key, o.cfg.Key)
			return nil
		}
		if err := o.onNexus(ctx, r, func() error {
			return o.prOut(ctx, PROutRelease, res.Type, PROutParams{Key: o.cfg.Key})
		}); err != nil {
			return err
		}
		if err := o.readState(ctx, r); err != nil {
			return err
		}
		if r.Reservation.Held && (r.Reservation.Key == o.cfg.Key || r.Reservation.Type.AllRegistrants()) {
			return o.unverified("release", "reservation still held: %s", describeReservation(r.Reservation))
		}
		return nil
	})
}

// Unregister removes this node's registration (and with it a reservation
// it holds) and verifies the key is gone.
func (o *Owner) Unregister(ctx context.Context) (*Result, error) {
	return o.do(func(r *Result) error {
		if err := o.tur(ctx, r); err != nil {
			return err
		}
		if err := o.prOut(ctx, PROutRegisterAndIgnore, 0, PROutParams{}); err != nil {
			return err
		}
		if err := o.readState(ctx, r); err != nil {
			return err
		}
		if n := countKey(r.Keys.Keys, o.cfg.Key); n > 0 {
			r.note("own key %s still registered %d time(s) by other sessions", o.cfg.Key, n)
		}
		return nil
	})
}

// Unfence lets this node take part again after it was fenced: it registers
// (as Register) and, for the registrants types (5 to 8), reserves when no
// reservation exists, as fence_scsi's "on" action does.
func (o *Owner) Unfence(ctx context.Context) (*Result, error) {
	return o.do(func(r *Result) error {
		if err := o.registerLocked(ctx, r); err != nil {
			return err
		}
		if r.Reservation.Held || !o.cfg.Type.RegistrantsAccess() {
			return nil
		}
		if err := o.prOut(ctx, PROutReserve, o.cfg.Type, PROutParams{Key: o.cfg.Key}); err != nil {
			if !errors.Is(err, ErrReservationConflict) {
				return err
			}
			r.note("reserve after register conflicted (another node reserved first)")
		}
		if err := o.readState(ctx, r); err != nil {
			return err
		}
		return nil
	})
}

// Clear removes every registration and the reservation (PR OUT CLEAR,
// SPC-4 5.12.11.6) with this node's key, and verifies no key remains. Every
// node must register again afterwards.
func (o *Owner) Clear(ctx context.Context) (*Result, error) {
	return o.do(func(r *Result) error {
		if err := o.tur(ctx, r); err != nil {
			return err
		}
		if err := o.onNexus(ctx, r, func() error {
			return o.prOut(ctx, PROutClear, 0, PROutParams{Key: o.cfg.Key})
		}); err != nil {
			return err
		}
		if err := o.readState(ctx, r); err != nil {
			return err
		}
		if len(r.Keys.Keys) != 0 || r.Reservation.Held {
			return o.unverified("clear", "keys %s and reservation %s remain", keyList(r.Keys.Keys), describeReservation(r.Reservation))
		}
		return nil
	})
}

// FenceResult is what Fence did.
type FenceResult struct {
	Result
	// Peer is the fenced key.
	Peer Key `json:"peer"`
	// Method is PREEMPT AND ABORT, or PREEMPT when the target refused it.
	Method PROutAction `json:"-"`
	// MethodName is Method as text.
	MethodName string `json:"method"`
	// Fallback explains why PREEMPT was used, if it was.
	Fallback string `json:"fallback,omitempty"`
	// Reserved is true when Fence had to RESERVE because no reservation
	// remained after the preempt.
	Reserved bool `json:"reserved,omitempty"`
}

// Fence cuts the peer holding key peer off the logical unit: PREEMPT AND
// ABORT with this node's key as reservation key and peer as service-action
// key (SPC-4 5.12.11.4), falling back to PREEMPT when the target refuses
// PREEMPT AND ABORT with ILLEGAL REQUEST (tgtd does; FenceResult.Fallback
// says so). If no reservation remains it reserves. It then reads the keys
// and the reservation back and succeeds only when peer is gone, this node's
// key is registered and a reservation protects the unit.
//
// Errors: ErrOwnKey (peer is this node's key), ErrKeyNotRegistered (peer
// not registered: already fenced or a wrong key; nothing is sent, and the
// result holds the keys and reservation read back, so a caller that takes
// this as an idempotent success can check a reservation still protects the
// unit), ErrNotRegistered (this
// node was fenced itself, e.g. the peer fenced first in a split),
// ErrNotVerified (the read-back disagrees).
func (o *Owner) Fence(ctx context.Context, peer Key) (*FenceResult, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	r := &FenceResult{Peer: peer}
	o.uas = nil
	defer o.finish(&r.Result)
	if peer == o.cfg.Key {
		return r, o.opErr("fence", fmt.Errorf("%w %s", ErrOwnKey, peer))
	}
	if peer == 0 {
		return r, o.opErr("fence", fmt.Errorf("%w: key 0 is no registration", ErrKeyNotRegistered))
	}
	if err := o.tur(ctx, &r.Result); err != nil {
		return r, err
	}
	keys, err := o.dev.ReadKeys(ctx)
	if err != nil {
		return r, err
	}
	r.Keys = keys
	if countKey(keys.Keys, o.cfg.Key) == 0 {
		return r, o.opErr("fence", fmt.Errorf("%w (key %s): this node is fenced itself and cannot fence %s", ErrNotRegistered, o.cfg.Key, peer))
	}
	if countKey(keys.Keys, peer) == 0 {
		// Read the reservation too, so a caller treating this as an
		// idempotent success can check that a reservation still keeps the
		// unregistered peer from writing.
		if err := o.readState(ctx, &r.Result); err != nil {
			return r, err
		}
		return r, o.opErr("fence", fmt.Errorf("%w: peer key %s (registered: %s; reservation: %s)", ErrKeyNotRegistered, peer, keyList(r.Keys.Keys), describeReservation(r.Reservation)))
	}
	p := PROutParams{Key: o.cfg.Key, ServiceActionKey: peer}
	r.Method = PROutPreemptAndAbort
	if o.support.PreemptAndAbort == Unsupported {
		r.Method = PROutPreempt
		r.Fallback = "target does not support PREEMPT AND ABORT (learned earlier): used PREEMPT; the peer's queued commands were not aborted"
	}
	preempt := func() error {
		err := o.prOut(ctx, r.Method, o.cfg.Type, p)
		if r.Method == PROutPreemptAndAbort && IsUnsupported(err) {
			o.support.PreemptAndAbort = Unsupported
			r.Method = PROutPreempt
			r.Fallback = fmt.Sprintf("target refused PREEMPT AND ABORT (%v): used PREEMPT; the peer's queued commands were not aborted", senseText(err))
			o.log.Warn("PREEMPT AND ABORT refused, falling back to PREEMPT", "device", o.cfg.Name, "err", err)
			err = o.prOut(ctx, r.Method, o.cfg.Type, p)
		} else if r.Method == PROutPreemptAndAbort && err == nil {
			o.support.PreemptAndAbort = Supported
		}
		return err
	}
	err = o.onNexus(ctx, &r.Result, preempt)
	if IsTransportError(ctx, err) {
		// The answer was lost: whether the PREEMPT ran is read back below.
		r.note("the answer to %s was lost (%v): the result is judged by the read-back", r.Method, err)
		o.log.Warn("preempt answer lost, verifying by read-back", "device", o.cfg.Name, "err", err)
		err = nil
	}
	r.MethodName = r.Method.String()
	if errors.Is(err, ErrReservationConflict) {
		return r, o.opErr("fence", fmt.Errorf("%w (key %s): %s conflicted: this node's registration is gone (a peer fenced it first, or this session was replaced): %w", ErrNotRegistered, o.cfg.Key, r.Method, err))
	}
	if err != nil {
		return r, err
	}
	if err := o.readState(ctx, &r.Result); err != nil {
		return r, err
	}
	if !r.Reservation.Held {
		if err := o.prOut(ctx, PROutReserve, o.cfg.Type, PROutParams{Key: o.cfg.Key}); err != nil {
			return r, err
		}
		r.Reserved = true
		r.note("no reservation after the preempt: reserved %s", o.cfg.Type)
		if err := o.readState(ctx, &r.Result); err != nil {
			return r, err
		}
	}
	switch {
	case countKey(r.Keys.Keys, peer) > 0:
		return r, o.unverified("fence", "peer key %s still registered (keys: %s)", peer, keyList(r.Keys.Keys))
	case countKey(r.Keys.Keys, o.cfg.Key) == 0:
		return r, o.unverified("fence", "own key %s no longer registered", o.cfg.Key)
	case !r.Reservation.Held:
		return r, o.unverified("fence", "no reservation after fencing")
	}
	if res := r.Reservation; !res.Type.AllRegistrants() && res.Key != o.cfg.Key {
		// The peer is cut off, but a third key holds the reservation
		// (SPC-4 5.12.11.4.3: PREEMPT of a non-holder removes only its
		// registrations): this node does not own the unit.
		r.note("peer key %s removed, but the reservation is held by key %s (%s), neither this node's nor the peer's: this node does not own the unit", peer, res.Key, res.Type)
		o.log.Warn("fenced, reservation held by a third key", "device", o.cfg.Name, "peer", peer, "holder", res.Key)
	}
	o.log.Info("fenced", "device", o.cfg.Name, "peer", peer, "method", r.MethodName)
	return r, nil
}

func senseText(err error) string {
	if se, ok := AsSense(err); ok && se.HasSense {
		return se.Sense.String()
	}
	return err.Error()
}

func keyList(ks []Key) string {
	if len(ks) == 0 {
		return "none"
	}
	s := ""
	for i, k := range ks {
		if i > 0 {
			s += ", "
		}
		s += k.String()
	}
	return s
}

// Detect asks the target what it supports: REPORT CAPABILITIES and READ
// FULL STATUS (both read-only). PREEMPT AND ABORT and APTPL are learned
// from the first Fence and Register (they change state, so they are not
// probed).
func (o *Owner) Detect(ctx context.Context) (TargetSupport, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	err := o.detectLocked(ctx)
	return o.support, err
}

func (o *Owner) detectLocked(ctx context.Context) error {
	if o.support.ReportCapabilities == SupportUnknown {
		c, err := o.dev.ReportCapabilities(ctx)
		switch {
		case err == nil:
			o.support.ReportCapabilities, o.support.Capabilities = Supported, &c
			if !c.PersistThroughPowerLoss {
				o.support.APTPL = Unsupported
			}
		case IsUnsupported(err):
			o.support.ReportCapabilities = Unsupported
		default:
			return err
		}
	}
	if o.support.ReadFullStatus == SupportUnknown {
		_, err := o.dev.ReadFullStatus(ctx)
		switch {
		case err == nil:
			o.support.ReadFullStatus = Supported
		case IsUnsupported(err):
			o.support.ReadFullStatus = Unsupported
		default:
			return err
		}
	}
	return nil
}

// Support returns what is known so far about the target.
func (o *Owner) Support() TargetSupport {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.support
}

// State is the persistent reservation state of a logical unit as one node
// sees it.
type State struct {
	Result
	// Own is this node's key.
	Own Key `json:"own_key"`
	// OwnRegistrations counts own key in READ KEYS (1 is healthy; 2 or
	// more means stale registrations of an earlier session).
	OwnRegistrations int `json:"own_registrations"`
	// Holder is "self", "other", "all-registrants" or "none".
	Holder string `json:"holder"`
	// Duplicates lists keys registered more than once.
	Duplicates []Key `json:"duplicates,omitempty"`
	// FullStatus is READ FULL STATUS, nil when the target lacks it.
	FullStatus *FullStatus `json:"full_status,omitempty"`
	// Stale lists the registrations READ FULL STATUS shows for a key also
	// registered by another initiator port or ISID: orphans of an earlier
	// session, or two nodes sharing a key.
	Stale   []Registration `json:"stale,omitempty"`
	Support TargetSupport  `json:"support"`
}

// Owned reports whether this node's key holds the reservation.
func (s *State) Owned() bool {
	switch s.Holder {
	case "self":
		return true
	case "all-registrants":
		return s.OwnRegistrations > 0
	}
	return false
}

// Status reads the state: keys, reservation, generation and, when the target
// supports it, READ FULL STATUS (which initiator holds which key). It only
// reads.
func (o *Owner) Status(ctx context.Context) (*State, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	st := &State{Own: o.cfg.Key}
	o.uas = nil
	defer o.finish(&st.Result)
	if err := o.tur(ctx, &st.Result); err != nil {
		return st, err
	}
	if err := o.detectLocked(ctx); err != nil {
		return st, err
	}
	if err := o.readState(ctx, &st.Result); err != nil {
		return st, err
	}
	if o.support.ReadFullStatus == Supported {
		fs, err := o.dev.ReadFullStatus(ctx)
		if err != nil {
			return st, err
		}
		st.FullStatus = &fs
		st.Stale = StaleRegistrations(fs)
	} else {
		st.note("target lacks READ FULL STATUS: which session holds which key is unknown")
	}
	st.Support = o.support
	st.OwnRegistrations = countKey(st.Keys.Keys, o.cfg.Key)
	st.Duplicates = DuplicateKeys(st.Keys.Keys)
	res := st.Reservation
	switch {
	case !res.Held:
		st.Holder = "none"
	case res.Type.AllRegistrants():
		st.Holder = "all-registrants"
	case res.Key == o.cfg.Key:
		st.Holder = "self"
	default:
		st.Holder = "other"
	}
	if st.OwnRegistrations > 1 {
		st.note("own key %s is registered %d times: stale registrations of an earlier session; Reassert or Register cleans them", o.cfg.Key, st.OwnRegistrations)
	}
	return st, nil
}

// DuplicateKeys returns the keys listed more than once, sorted.
func DuplicateKeys(ks []Key) []Key {
	var d []Key
	for _, k := range ks {
		if countKey(ks, k) > 1 && !slices.Contains(d, k) {
			d = append(d, k)
		}
	}
	slices.Sort(d)
	return d
}

// StaleRegistrations returns the registrations of READ FULL STATUS whose key
// is also registered through another initiator port (a different iSCSI name
// or ISID, or the same TransportID twice): a session's orphan or two nodes
// with one key.
func StaleRegistrations(fs FullStatus) []Registration {
	var out []Registration
	for i, r := range fs.Registrations {
		for j, q := range fs.Registrations {
			if i != j && r.Key == q.Key {
				out = append(out, r)
				break
			}
		}
	}
	return out
}
