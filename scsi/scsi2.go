package scsi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// Clock is the time source of the SCSI-2 arbitration; tests inject one that
// does not really sleep.
type Clock interface {
	Now() time.Time
	// Sleep waits d or until ctx ends (then it returns ctx.Err()).
	Sleep(ctx context.Context, d time.Duration) error
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// Sleep waits d or until ctx is done.
func (SystemClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// SCSI-2 arbitration errors.
var (
	// ErrOwnerAlive: a challenge found the owner still renewing.
	ErrOwnerAlive = errors.New("owner is alive: reservation renewed during the challenge")
	// ErrReservationLost: the defender's renewal conflicted: another node
	// holds the reservation.
	ErrReservationLost = errors.New("reservation lost to another node")
)

// SCSI2Config configures SCSI-2 reserve/release arbitration. Transport is
// required; it must implement Resetter for Challenge.
type SCSI2Config struct {
	Transport Transport
	Name      string
	// Period is how often the owner renews its RESERVE; 0 means 3 s.
	// Renewals are due at fixed times (start + k x Period), not Period
	// after the previous one ended.
	Period time.Duration
	// CommandTimeout bounds each renewal (the RESERVE with its unit
	// attention and transport retries, and a reconnect of the session);
	// 0 means Period. It must be positive and at most Period, so that a
	// renewal ends before the next one is due.
	CommandTimeout time.Duration
	// Wait is how long a challenger waits after the reset before it
	// reserves. It must be at least MinWait(Period, CommandTimeout) =
	// 2 x Period + CommandTimeout: after a reset, the owner's next
	// renewal is due within one Period and lands within CommandTimeout;
	// if that one fails (a lost answer, a reconnect), the one after it
	// lands within 2 x Period + CommandTimeout. 0 means 3 x Period +
	// CommandTimeout (one period of margin for scheduling delays).
	Wait time.Duration
	// Reset is the reset level of a challenge; 0 means ResetLUN.
	Reset ResetLevel
	// Clock; nil means SystemClock.
	Clock Clock
	// Logger; nil discards.
	Logger *slog.Logger
}

// SCSI2 arbitrates a logical unit with SCSI-2 RESERVE(6)/RELEASE(6) by the
// challenge/defense pattern: the owner re-reserves every Period (Defend); a
// challenger resets the unit (which breaks the reservation), waits longer
// than Period, and reserves (Challenge). A live owner re-reserves during
// the wait and wins; a dead one does not and the challenger takes over.
// Methods may be called from several goroutines if the transport allows it.
type SCSI2 struct {
	cfg SCSI2Config
	dev *Device
	log *slog.Logger
}

// NewSCSI2 validates cfg. It does no I/O.
func NewSCSI2(cfg SCSI2Config) (*SCSI2, error) {
	if cfg.Transport == nil {
		return nil, errors.New("scsi: scsi-2: no transport")
	}
	if cfg.Period == 0 {
		cfg.Period = 3 * time.Second
	}
	if cfg.Period < 0 {
		return nil, fmt.Errorf("scsi: scsi-2: renewal period %v: want a positive duration", cfg.Period)
	}
	if cfg.CommandTimeout == 0 {
		cfg.CommandTimeout = cfg.Period
	}
	if cfg.CommandTimeout < 0 || cfg.CommandTimeout > cfg.Period {
		return nil, fmt.Errorf("scsi: scsi-2: command timeout %v: want more than 0 and at most the renewal period %v", cfg.CommandTimeout, cfg.Period)
	}
	if cfg.Wait == 0 {
		cfg.Wait = 3*cfg.Period + cfg.CommandTimeout
	}
	if min := MinWait(cfg.Period, cfg.CommandTimeout); cfg.Wait < min {
		return nil, fmt.Errorf("scsi: scsi-2: wait %v is too short: a live owner renewing every %v with a command timeout of %v may take up to %v (2 x period + command timeout) to renew after a reset", cfg.Wait, cfg.Period, cfg.CommandTimeout, min)
	}
	if cfg.Reset == 0 {
		cfg.Reset = ResetLUN
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	// Every line names the device once, here.
	log = log.With("device", cfg.Name)
	return &SCSI2{cfg: cfg, log: log, dev: &Device{Transport: cfg.Transport, Name: cfg.Name, UnitAttentionRetries: 8, TransportRetries: 2}}, nil
}

// MinWait is the shortest challenge wait that a live owner renewing every
// period, each renewal bounded by commandTimeout, always beats, even when one
// renewal after the reset fails: 2 x period + commandTimeout.
func MinWait(period, commandTimeout time.Duration) time.Duration {
	return 2*period + commandTimeout
}

// Config returns the configuration with its defaults filled in.
func (s *SCSI2) Config() SCSI2Config { return s.cfg }

// Reserve sends RESERVE(6); another node's reservation gives an error
// matching ErrReservationConflict.
func (s *SCSI2) Reserve(ctx context.Context) error { return s.dev.Reserve6(ctx) }

// Release sends RELEASE(6).
func (s *SCSI2) Release(ctx context.Context) error { return s.dev.Release6(ctx) }

// Renew is one defense step: RESERVE again, bounded by CommandTimeout. A
// conflict means another node took the unit: ErrReservationLost.
func (s *SCSI2) Renew(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CommandTimeout)
	defer cancel()
	err := s.dev.Reserve6(ctx)
	if errors.Is(err, ErrReservationConflict) {
		return fmt.Errorf("%w: %w", ErrReservationLost, err)
	}
	return err
}

// Defend renews every Period until ctx ends (returns nil) or the
// reservation is lost or a renewal fails (returns that error). Transient
// failures are not retried: the caller decides (DefendEach goes on).
func (s *SCSI2) Defend(ctx context.Context) error {
	var failed error
	err := s.DefendEach(ctx, func(err error) bool { failed = err; return err == nil })
	if err != nil {
		return err
	}
	return failed
}

// DefendEach renews at start + k x Period (each renewal bounded by
// CommandTimeout) and calls each with every renewal's result (nil when
// renewed) until each returns false or ctx ends (nil), or the reservation
// is lost (an error matching ErrReservationLost, after each saw it). A
// failed renewal does not move the schedule: the next one is still due at
// its time, which is what MinWait counts on.
func (s *SCSI2) DefendEach(ctx context.Context, each func(error) bool) error {
	next := s.cfg.Clock.Now()
	for {
		err := s.Renew(ctx)
		if ctx.Err() != nil {
			return nil
		}
		goOn := each(err)
		if errors.Is(err, ErrReservationLost) {
			return err
		}
		if !goOn {
			return nil
		}
		now := s.cfg.Clock.Now()
		for next = next.Add(s.cfg.Period); !next.After(now); next = next.Add(s.cfg.Period) {
			// A renewal that overran its slot: the missed slots are gone.
		}
		for d := next.Sub(now); d > 0; d = next.Sub(s.cfg.Clock.Now()) {
			if err := s.cfg.Clock.Sleep(ctx, d); err != nil {
				return nil
			}
		}
	}
}

// ChallengeResult reports a challenge.
type ChallengeResult struct {
	// Won is true when this node now holds the reservation.
	Won bool
	// Waited is the time between the reset and the RESERVE.
	Waited time.Duration
}

// Challenge tries to take the unit from an owner that may be dead: reset,
// wait Wait, RESERVE. Success means takeover; a conflict means the owner
// renewed during the wait (it is alive) and gives ErrOwnerAlive.
func (s *SCSI2) Challenge(ctx context.Context) (ChallengeResult, error) {
	var r ChallengeResult
	if err := s.dev.Reserve6(ctx); err == nil {
		r.Won = true
		return r, nil
	} else if !errors.Is(err, ErrReservationConflict) {
		return r, err
	}
	if err := s.dev.Reset(ctx, s.cfg.Reset); err != nil {
		return r, err
	}
	start := s.cfg.Clock.Now()
	s.log.Info("scsi-2 challenge: unit reset, waiting", "wait", s.cfg.Wait)
	// Wait by the clock, not by one Sleep: a sleep that ends early (a
	// timer woken before its time) must not let the challenger reserve
	// before a live owner had the chance to renew.
	for r.Waited = 0; r.Waited < s.cfg.Wait; r.Waited = s.cfg.Clock.Now().Sub(start) {
		if err := s.cfg.Clock.Sleep(ctx, s.cfg.Wait-r.Waited); err != nil {
			return r, err
		}
	}
	err := s.dev.Reserve6(ctx)
	if errors.Is(err, ErrReservationConflict) {
		return r, &OpError{Op: "scsi-2 challenge", Device: s.cfg.Name, Err: fmt.Errorf("%w: %w", ErrOwnerAlive, err)}
	}
	if err != nil {
		return r, err
	}
	r.Won = true
	return r, nil
}
