package scsi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"
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
	// ErrLatched: the Owner is latched fenced (see LatchedError); it
	// matches ErrNotRegistered too.
	ErrLatched = errors.New("latched fenced")
	// ErrReassertUnconfirmed: a Reassert could not confirm this I_T
	// nexus's registration, while this node's key is still on the device
	// (not fenced, not confirmed): unknown, to be retried.
	ErrReassertUnconfirmed = errors.New("registration on this I_T nexus not confirmed")
	// ErrAbortRefused: the target refused PREEMPT AND ABORT and the Owner
	// is not allowed to fence with PREEMPT alone
	// (OwnerConfig.AllowPreemptWithoutAbort).
	ErrAbortRefused = errors.New("target refused PREEMPT AND ABORT")
	// ErrIOHeld: the Owner's Device refused a command because this I_T
	// nexus's registration is not confirmed (see Owner.Device).
	ErrIOHeld = errors.New("I/O held: this I_T nexus's registration is not confirmed")
	// ErrNotHolder: Move was asked of a node that does not hold the
	// reservation.
	ErrNotHolder = errors.New("this node does not hold the reservation")
	// ErrMoveRefused: the target refused REGISTER AND MOVE (the
	// reservation stays where it was).
	ErrMoveRefused = errors.New("target refused REGISTER AND MOVE")
	// ErrTruncated: a PR IN list is longer than the largest allocation
	// length (65535 bytes) or the device cut it short.
	ErrTruncated = errors.New("list truncated")
)

// LatchedError says the Owner is latched fenced: a REGISTER AND IGNORE
// EXISTING KEY that could have registered this node again was sent and its
// effect could not be settled (verified as the only change, or undone and
// confirmed), or an earlier run persisted such a latch (OwnerConfig.Latched).
// The node may be registered without knowing it, so it must act as fenced.
// No Reassert clears the latch; only a verified Register or Unfence does.
// It matches ErrLatched and ErrNotRegistered.
type LatchedError struct {
	Op     string
	Device string
	Key    Key
	// Reason is why the latch was set.
	Reason string
}

func (e *LatchedError) Error() string {
	dev := ""
	if e.Device != "" {
		dev = " " + e.Device
	}
	return fmt.Sprintf("%s%s: %v (key %s): %s; this node acts as fenced until a verified unfence", e.Op, dev, ErrLatched, e.Key, e.Reason)
}

// Unwrap returns ErrLatched and ErrNotRegistered.
func (e *LatchedError) Unwrap() []error { return []error{ErrLatched, ErrNotRegistered} }

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
	// Latched starts the Owner latched fenced with this reason: the latch
	// an earlier run persisted through OnLatch (see LatchedError).
	Latched string
	// OnLatch persists the latch. Reassert calls it with the reason before
	// it sends a REGISTER AND IGNORE EXISTING KEY that could register a
	// fenced node again, and with "" once that is settled; a verified
	// Register or Unfence calls it with "" too. When it fails with a
	// reason, nothing is sent. nil keeps the latch in memory only.
	OnLatch func(reason string) error
	// UndoTimeout bounds how long Reassert resends the unregister that
	// undoes a re-register in doubt before it latches; 0 means 10 s. It
	// runs on its own deadline, not the caller's.
	UndoTimeout time.Duration
	// AllowPreemptWithoutAbort lets Fence use PREEMPT when the target
	// refuses PREEMPT AND ABORT. PREEMPT removes the peer's registrations
	// but does not abort its queued and running commands (SPC-4
	// 5.12.11.4), so a write the peer already sent may still land. Off by
	// default: Fence then fails on such a target, as fence_scsi does.
	AllowPreemptWithoutAbort bool
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
	// moveLayout is the TransportID layout the target took in the last
	// REGISTER AND MOVE; nil before one.
	moveLayout *TIDLayout

	nx *nexusState // shared with Recovery siblings
}

// nexusState is what an Owner and its Recovery siblings know about the I_T
// nexus: whether its registration is confirmed (else the Owner's Device
// holds I/O) and the fenced latch.
type nexusState struct {
	mu      sync.Mutex
	held    string // why I/O is held, "" when the nexus is confirmed
	latched string // the fenced latch's reason, "" when not latched
	onLatch func(string) error
}

func (n *nexusState) get() (held, latched string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.held, n.latched
}

func (n *nexusState) hold(why string) {
	n.mu.Lock()
	n.held = why
	n.mu.Unlock()
}

// latch sets the latch and persists it; when persisting fails the latch
// is still set in memory and the error returned.
func (n *nexusState) latch(reason string) error {
	n.mu.Lock()
	n.latched, n.held = reason, "latched fenced: "+reason
	f := n.onLatch
	n.mu.Unlock()
	if f == nil {
		return nil
	}
	return f(reason)
}

// unlatch clears the latch and persists that.
func (n *nexusState) unlatch() error {
	n.mu.Lock()
	was := n.latched
	n.latched = ""
	f := n.onLatch
	n.mu.Unlock()
	if f == nil || was == "" {
		return nil
	}
	return f("")
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
	// Every line names the device once, here: the caller's logger must
	// not carry it too.
	log = log.With("device", cfg.Name)
	if cfg.UndoTimeout <= 0 {
		cfg.UndoTimeout = 10 * time.Second
	}
	o := &Owner{cfg: cfg, log: log, nx: &nexusState{onLatch: cfg.OnLatch}}
	if cfg.Latched != "" {
		o.nx.latched, o.nx.held = cfg.Latched, "latched fenced: "+cfg.Latched
	}
	o.dev = &Device{Transport: cfg.Transport, Name: cfg.Name, UnitAttentionRetries: cfg.UnitAttentionRetries, TransportRetries: 2,
		OnUnitAttention: func(s Sense) {
			o.uas = append(o.uas, s)
			o.log.Info("unit attention absorbed", "sense", s.String())
		}}
	return o, nil
}

// Recovery returns a second Owner with the same configuration and its own
// lock, for a transport's reconnect hook (iscsi.Config.OnReconnect): the
// hook runs inside the call that found the connection down, which may be a
// call of this Owner holding its lock, so the hook must not use this Owner.
// The two share the device and what is known about the nexus (the
// latch, whether I/O is held).
func (o *Owner) Recovery() *Owner {
	r, _ := NewOwner(o.cfg)
	r.nx = o.nx
	return r
}

// Latched returns why the Owner is latched fenced, "" when it is not (see
// LatchedError).
func (o *Owner) Latched() string { _, l := o.nx.get(); return l }

// Held returns why the Owner's Device holds I/O, "" when this I_T nexus's
// registration is confirmed.
func (o *Owner) Held() string { h, _ := o.nx.get(); return h }

// Key returns this node's key.
func (o *Owner) Key() Key { return o.cfg.Key }

// Type returns the configured reservation type.
func (o *Owner) Type() ReservationType { return o.cfg.Type }

// Device returns a command layer on the Owner's transport (with the same
// unit attention retries, without the Owner's bookkeeping) for everything
// but ownership: application I/O, identity, reads. It holds every command
// (ErrIOHeld, nothing sent) while this I_T nexus's registration is not
// confirmed: from the start of a Reassert until it succeeds, while this
// node's key is found gone, and while latched. A node whose re-register is
// in doubt thus writes nothing through the Owner, even in the window in
// which the device may have accepted it again.
func (o *Owner) Device() *Device {
	return &Device{Transport: heldTransport{o.cfg.Transport, o.nx}, Name: o.cfg.Name, UnitAttentionRetries: o.cfg.UnitAttentionRetries, TransportRetries: 2}
}

// heldTransport refuses commands while the nexus is not confirmed.
type heldTransport struct {
	t  Transport
	nx *nexusState
}

func (h heldTransport) Execute(ctx context.Context, cmd *Command) (*Response, error) {
	if held, _ := h.nx.get(); held != "" {
		return nil, fmt.Errorf("%w (%s)", ErrIOHeld, held)
	}
	return h.t.Execute(ctx, cmd)
}

// Reset implements Resetter when the Owner's transport does; it is held
// like commands.
func (h heldTransport) Reset(ctx context.Context, level ResetLevel) error {
	if held, _ := h.nx.get(); held != "" {
		return fmt.Errorf("%w (%s)", ErrIOHeld, held)
	}
	r, ok := h.t.(Resetter)
	if !ok {
		return fmt.Errorf("transport %T cannot reset: %w", h.t, errors.ErrUnsupported)
	}
	return r.Reset(ctx, level)
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
	o.log.Debug("persistent reserve out", "action", a.String(), "type", typ.Short(), "key", p.Key, "sa_key", p.ServiceActionKey)
	err := o.dev.PROut(ctx, a, typ, p)
	switch a {
	case PROutRegisterAndIgnore, PROutReserve, PROutRelease:
		if IsTransportError(ctx, err) {
			o.log.Warn("persistent reserve out: answer lost, sending again", "action", a.String(), "err", err)
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
	// Registered on purpose and verified: the latch and the hold end.
	if err := o.nx.unlatch(); err != nil {
		return o.opErr("register", fmt.Errorf("registered, but clearing the persisted fenced latch failed: %w", err))
	}
	o.nx.hold("")
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
// Steps: READ KEYS (own key must be there; its PR generation is g); REGISTER
// with own key as both keys, a no-op that conflicts when this nexus is not
// registered. If it conflicts: the latch is set and persisted (OnLatch),
// then REGISTER AND IGNORE EXISTING KEY is sent once, and READ KEYS must
// show generation g+1 and own key once more than before: only this
// command acted, so the orphan was still there and no peer fenced this node
// meanwhile. Anything else (an error, a lost answer, another generation,
// the orphan gone) is undone: REGISTER AND IGNORE EXISTING KEY with
// service-action key 0 and the REGISTER probe, resent on their own deadline
// (UndoTimeout) until the probe conflicts, which confirms this nexus is not
// registered; when it never does, the Owner stays latched fenced
// (*LatchedError) and no later Reassert clears it. Last, PREEMPT with own
// key as both keys and the reservation's type drops the orphan and moves
// its reservation to this nexus.
//
// From the start of a Reassert until it succeeds, the Owner's Device holds
// I/O (ErrIOHeld). Errors: ErrNotRegistered only when a read-back shows
// this node's key gone (or when latched); ErrReassertUnconfirmed when the
// key is there but this nexus's registration could not be confirmed;
// device and transport errors as they came (unknown, to be retried).
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
		if _, l := o.nx.get(); l == "" {
			o.nx.hold("reassert in progress")
		}
		if err := o.tur(ctx, r); err != nil {
			o.nx.hold("reassert failed: " + err.Error())
			return err
		}
		_, err := o.reassertLocked(ctx, r, "reassert")
		return err
	})
}

// reassertLocked is Reassert; replaced reports whether this nexus had to
// be registered again. op names the action in errors; only Reassert itself
// notes a nexus found registered. It holds the Owner's I/O until it
// succeeds.
func (o *Owner) reassertLocked(ctx context.Context, r *Result, op string) (replaced bool, err error) {
	if _, l := o.nx.get(); l != "" {
		// Never register again; make sure this nexus is not registered
		// (once, bounded: the latch stays either way).
		if serr := o.unregisterOnce(ctx); serr != nil {
			o.log.Warn("latched: unregister of this nexus not confirmed", "err", serr)
		}
		return false, &LatchedError{Op: op, Device: o.cfg.Name, Key: o.cfg.Key, Reason: l}
	}
	o.nx.hold(op + " in progress")
	defer func() {
		if err != nil {
			if _, l := o.nx.get(); l == "" {
				o.nx.hold(op + " failed: " + err.Error())
			}
			return
		}
		o.nx.hold("")
	}()
	if err := o.readState(ctx, r); err != nil {
		return false, err
	}
	own0, g0 := countKey(r.Keys.Keys, o.cfg.Key), r.Keys.Generation
	if own0 == 0 {
		return false, o.opErr(op, fmt.Errorf("%w (key %s): fenced by a peer or never registered; unfence to join again", ErrNotRegistered, o.cfg.Key))
	}
	// The probe is sent once: REGISTER is not repeated on a lost answer.
	perr := o.dev.PROut(ctx, PROutRegister, 0, PROutParams{Key: o.cfg.Key, ServiceActionKey: o.cfg.Key})
	switch {
	case perr == nil:
		if op == "reassert" {
			r.note("this I_T nexus is registered")
		}
	case errors.Is(perr, ErrReservationConflict):
		replaced = true
		r.note("this I_T nexus was not registered (session replaced): registering again")
		if err := o.reregister(ctx, r, op, own0, g0); err != nil {
			return replaced, err
		}
	default:
		return false, perr
	}
	if err := o.dropOrphans(ctx, r, r.Keys, r.Reservation); err != nil {
		if errors.Is(err, ErrReservationConflict) {
			// This nexus lost its registration after it was confirmed:
			// a peer fenced this node (or the session went again).
			return replaced, o.verdict(ctx, r, op, fmt.Errorf("PREEMPT of the orphans conflicted: %w", err))
		}
		return replaced, err
	}
	if err := o.readState(ctx, r); err != nil {
		return replaced, err
	}
	if n := countKey(r.Keys.Keys, o.cfg.Key); n != 1 {
		if n == 0 {
			return replaced, o.opErr(op, fmt.Errorf("%w (key %s): gone after the orphans were dropped: fenced by a peer", ErrNotRegistered, o.cfg.Key))
		}
		return replaced, o.unverified(op, "own key %s registered %d times, want 1", o.cfg.Key, n)
	}
	return replaced, nil
}

// reregister sends the REGISTER AND IGNORE EXISTING KEY of Reassert and
// settles it: on return without error this nexus is registered and it was
// the only change since READ KEYS showed generation g0 and own key own0
// times; otherwise the re-register was undone (or the Owner latched).
func (o *Owner) reregister(ctx context.Context, r *Result, op string, own0 int, g0 uint32) error {
	reason := fmt.Sprintf("re-register of key %s after a replaced session sent at %s and not settled", o.cfg.Key, time.Now().UTC().Format(time.RFC3339))
	if err := o.nx.latch(reason); err != nil {
		// Not persisted: send nothing. The latch is cleared again, as
		// nothing was sent; the nexus stays held.
		_ = o.nx.unlatch()
		return o.opErr(op, fmt.Errorf("persisting the fenced latch before re-registering failed, not re-registered: %w", err))
	}
	p := PROutParams{ServiceActionKey: o.cfg.Key, APTPL: o.cfg.APTPL && o.support.APTPL != Unsupported}
	err := o.dev.PROut(ctx, PROutRegisterAndIgnore, 0, p)
	if p.APTPL && IsUnsupported(err) {
		// Refused: nothing changed (no generation step); once more without.
		o.support.APTPL = Unsupported
		r.note("target refused APTPL (%v): registered without it", err)
		p.APTPL = false
		err = o.dev.PROut(ctx, PROutRegisterAndIgnore, 0, p)
	}
	var cause error
	if err != nil {
		cause = fmt.Errorf("REGISTER AND IGNORE EXISTING KEY: %w", err)
	} else {
		k, kerr := o.dev.ReadKeys(ctx)
		switch {
		case kerr != nil:
			cause = fmt.Errorf("READ KEYS after the re-register: %w", kerr)
		case k.Generation != g0+1 || countKey(k.Keys, o.cfg.Key) != own0+1:
			cause = fmt.Errorf("after the re-register PR generation %d and own key %s %d time(s), want %d and %d (only this command acting): a peer acted meanwhile", k.Generation, o.cfg.Key, countKey(k.Keys, o.cfg.Key), g0+1, own0+1)
		default:
			r.Keys = k
			if uerr := o.nx.unlatch(); uerr != nil {
				o.log.Warn("clearing the persisted fenced latch failed: the next start comes up latched", "err", uerr)
			}
			return nil
		}
	}
	o.log.Warn("re-register in doubt: undoing it", "cause", cause)
	if serr := o.settleUnregistered(ctx, r); serr != nil {
		o.log.Error("re-register in doubt and its undo not confirmed: latched fenced", "cause", cause, "undo", serr)
		return &LatchedError{Op: op, Device: o.cfg.Name, Key: o.cfg.Key, Reason: fmt.Sprintf("%s (%v); the undo was not confirmed: %v", reason, cause, serr)}
	}
	if uerr := o.nx.unlatch(); uerr != nil {
		o.log.Warn("clearing the persisted fenced latch failed: the next start comes up latched", "err", uerr)
	}
	r.note("re-register undone and this nexus confirmed unregistered: %v", cause)
	return o.verdict(ctx, r, op, cause)
}

// verdict reads the keys after this nexus was found, or made, unregistered:
// ErrNotRegistered when this node's key is gone, else
// ErrReassertUnconfirmed (the key is an orphan's; retry).
func (o *Owner) verdict(ctx context.Context, r *Result, op string, cause error) error {
	k, err := o.dev.ReadKeys(ctx)
	if err != nil {
		return o.opErr(op, fmt.Errorf("%w: %v; READ KEYS after it: %w", ErrReassertUnconfirmed, cause, err))
	}
	r.Keys = k
	if countKey(k.Keys, o.cfg.Key) == 0 {
		return o.opErr(op, fmt.Errorf("%w (key %s): fenced by a peer while re-registering (%v)", ErrNotRegistered, o.cfg.Key, cause))
	}
	return o.opErr(op, fmt.Errorf("%w: %v; own key %s still listed (the old session's orphan): retry", ErrReassertUnconfirmed, cause, o.cfg.Key))
}

// settleUnregistered makes sure this I_T nexus is not registered: REGISTER
// AND IGNORE EXISTING KEY with service-action key 0 (unregisters this
// nexus; a no-op on an unregistered one), then the REGISTER probe (own
// key as both keys), which conflicts only on an unregistered nexus. Both
// are resent until the probe conflicts or UndoTimeout passes. It runs on
// its own deadline: the end of the caller's context (a reconnect hook's
// time) must not leave the nexus registered.
func (o *Owner) settleUnregistered(ctx context.Context, r *Result) error {
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.cfg.UndoTimeout)
	defer cancel()
	wait := 20 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := o.unregisterOnce(uctx)
		if err == nil {
			if attempt > 1 {
				r.note("undo confirmed after %d attempts", attempt)
			}
			return nil
		}
		o.log.Warn("undo of the re-register not confirmed, resending", "attempt", attempt, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-uctx.Done():
			t.Stop()
			return fmt.Errorf("after %d attempts in %s: %w", attempt, o.cfg.UndoTimeout, err)
		case <-t.C:
		}
		wait = min(2*wait, time.Second)
	}
}

// unregisterOnce is one round of settleUnregistered: nil when the probe
// conflicted (this nexus is not registered).
func (o *Owner) unregisterOnce(ctx context.Context) error {
	uerr := o.dev.PROut(ctx, PROutRegisterAndIgnore, 0, PROutParams{})
	perr := o.dev.PROut(ctx, PROutRegister, 0, PROutParams{Key: o.cfg.Key, ServiceActionKey: o.cfg.Key})
	switch {
	case errors.Is(perr, ErrReservationConflict):
		return nil
	case perr == nil:
		return fmt.Errorf("probe REGISTER answered GOOD: this nexus is still registered (unregister: %v)", uerr)
	}
	return fmt.Errorf("unregister: %v; probe: %w", uerr, perr)
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
		case res.Held && res.Key == o.cfg.Key && res.Type == 0:
			// A reservation moved here by tgtd's REGISTER AND MOVE,
			// which loses the type: PREEMPT with own key as both keys
			// sets it without releasing (no instant without a
			// reservation).
			if err := o.onNexus(ctx, r, func() error {
				return o.prOut(ctx, PROutPreempt, o.cfg.Type, PROutParams{Key: o.cfg.Key, ServiceActionKey: o.cfg.Key})
			}); err != nil {
				return err
			}
			if err := o.readState(ctx, r); err != nil {
				return err
			}
			if !o.holds(r.Reservation, r.Keys) {
				return o.unverified("acquire", "reservation after PREEMPT of own typeless reservation: %s", describeReservation(r.Reservation))
			}
			r.note("held a reservation of type 0 (moved by tgtd's REGISTER AND MOVE): set to %s by PREEMPT of own key", o.cfg.Type)
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
	// Method is PREEMPT AND ABORT, or PREEMPT when the target refused it
	// and OwnerConfig.AllowPreemptWithoutAbort allowed the weaker fence.
	Method PROutAction `json:"-"`
	// MethodName is Method as text.
	MethodName string `json:"method"`
	// Fallback explains why PREEMPT was used, if it was: the peer's
	// queued and running commands were then not aborted.
	Fallback string `json:"fallback,omitempty"`
	// Reserved is true when Fence had to RESERVE because no reservation
	// remained after the preempt.
	Reserved bool `json:"reserved,omitempty"`
}

// Fence cuts the peer holding key peer off the logical unit: PREEMPT AND
// ABORT with this node's key as reservation key and peer as service-action
// key (SPC-4 5.12.11.4). When the target refuses PREEMPT AND ABORT with
// ILLEGAL REQUEST (tgtd does), Fence fails with ErrAbortRefused unless
// OwnerConfig.AllowPreemptWithoutAbort allows PREEMPT alone
// (FenceResult.Fallback then says so); the abort is asked for again at
// each Fence. If no reservation remains it reserves. It then reads the keys
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
	if _, l := o.nx.get(); l != "" {
		// A latched node acts as fenced: it fences nobody.
		return r, &LatchedError{Op: "fence", Device: o.cfg.Name, Key: o.cfg.Key, Reason: l}
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
	// PREEMPT AND ABORT is tried every time: one refusal (26/00 and 24/00
	// have other causes too) does not downgrade later fences.
	r.Method = PROutPreemptAndAbort
	preempt := func() error {
		r.Method = PROutPreemptAndAbort
		err := o.prOut(ctx, r.Method, o.cfg.Type, p)
		switch {
		case err == nil:
			o.support.PreemptAndAbort = Supported
		case IsUnsupported(err):
			o.support.PreemptAndAbort = Unsupported
			if !o.cfg.AllowPreemptWithoutAbort {
				return o.opErr("fence", fmt.Errorf("%w: PREEMPT alone would not abort the peer's queued and running writes, and fencing without the abort is not allowed (hwagent: allow_preempt_without_abort; disk: --allow-preempt-without-abort): %w", ErrAbortRefused, err))
			}
			r.Method = PROutPreempt
			r.Fallback = fmt.Sprintf("target refused PREEMPT AND ABORT (%v): used PREEMPT, as allowed by configuration; the peer's queued and running commands were not aborted", senseText(err))
			o.log.Warn("PREEMPT AND ABORT refused, using PREEMPT (allowed by configuration)", "err", err)
			err = o.prOut(ctx, r.Method, o.cfg.Type, p)
		}
		return err
	}
	err = o.onNexus(ctx, &r.Result, preempt)
	if IsTransportError(ctx, err) {
		// The answer was lost: whether the PREEMPT ran is read back below.
		r.note("the answer to %s was lost (%v): the result is judged by the read-back", r.Method, err)
		o.log.Warn("preempt answer lost, verifying by read-back", "err", err)
		err = nil
	}
	r.MethodName = r.Method.String()
	if errors.Is(err, ErrReservationConflict) {
		// Two causes (SPC-4 5.13.11.4): this node's registration is gone,
		// or the peer's key is no longer registered (another node removed
		// it between this node's READ KEYS and its PREEMPT). The keys say
		// which; only the first means this node is fenced.
		if rerr := o.readState(ctx, &r.Result); rerr == nil {
			own, pk := countKey(r.Keys.Keys, o.cfg.Key) > 0, countKey(r.Keys.Keys, peer) > 0
			switch {
			case own && !pk:
				return r, o.opErr("fence", fmt.Errorf("%w: peer key %s was removed by another node just before this %s (registered: %s; reservation: %s)", ErrKeyNotRegistered, peer, r.Method, keyList(r.Keys.Keys), describeReservation(r.Reservation)))
			case own && pk:
				return r, o.opErr("fence", fmt.Errorf("%s conflicted with this node's key %s and the peer's %s both registered (reservation: %s): %w", r.Method, o.cfg.Key, peer, describeReservation(r.Reservation), err))
			}
		}
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
		o.log.Warn("fenced, reservation held by a third key", "peer", peer, "holder", res.Key)
	}
	o.log.Info("fenced", "peer", peer, "method", r.MethodName)
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
