package hw

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/scsi"
	"github.com/hakit/hakit/scsi/iscsi"
	"github.com/hakit/hakit/scsi/opener"
	"github.com/hakit/hakit/scsi/opener/devname"
)

// scsi2State is what this node does with a scsi2 disk.
type scsi2State int

const (
	// scsi2Idle: this node neither holds nor defends the unit.
	scsi2Idle scsi2State = iota
	// scsi2Holding: this node reserved the unit and its defend loop runs.
	scsi2Holding
	// scsi2Lost: a renewal (or a status read) met a reservation conflict:
	// another node holds the unit now. The defend loop has ended.
	scsi2Lost
)

func (s scsi2State) String() string {
	switch s {
	case scsi2Holding:
		return "holding"
	case scsi2Lost:
		return "lost"
	}
	return "idle"
}

// SCSI2Disk is a shared disk owned with SCSI-2 RESERVE(6)/RELEASE(6)
// (agent.DiskConfig.Mode "scsi2"), for enclosures without persistent
// reservations. While this node holds the unit a goroutine renews the
// reservation on a fixed schedule (scsi.SCSI2.DefendEach); a fence is a
// challenge (LUN reset, wait, reserve), which a live owner wins by
// renewing during the wait. SCSI-2 has no keys: Register and Unfence do
// nothing, and Status reports Registered and Owner true only while this
// node holds the unit with its last renewal on time. Its methods are safe
// for concurrent use.
type SCSI2Disk struct {
	cfg agent.DiskConfig
	log *slog.Logger
	// chap are the disk's CHAP credentials, mutual CHAP included, read
	// from their files at start.
	chap chapCreds
	// s2cfg is the scsi.SCSI2 configuration without its transport.
	s2cfg scsi.SCSI2Config
	// open logs in (or opens the SG_IO device); tests replace it.
	open func(ctx context.Context) (scsi.Transport, io.Closer, error)
	// devOpen opens a device path; nil is opener.Open.
	devOpen opener.Func
	// pool shares one iSCSI session per target with the node's other
	// disks there (a second login with the same initiator name would
	// reinstate theirs); nil gives the disk a pool of its own.
	pool *Sessions

	mu   sync.Mutex
	sess io.Closer
	s2   *scsi.SCSI2
	dev  *scsi.Device
	// state, with the time and result of the last renewal.
	state     scsi2State
	lastOK    time.Time // the last renewal (or reserve) that succeeded
	lastTry   time.Time // the last renewal sent
	lastErr   error     // the last renewal's error, nil when it renewed
	lostErr   error     // why the unit was lost
	epoch     uint32    // bumped on every state change
	stop      context.CancelFunc
	done      chan struct{}
	lastFence string // how this node last took the unit by a fence
}

// NewSCSI2Disk checks the device and prepares the disk; the session logs in
// on first use.
func NewSCSI2Disk(c agent.DiskConfig, log *slog.Logger) (*SCSI2Disk, error) {
	if err := checkDiskDevice(c); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	period := time.Duration(c.SCSI2PeriodMS) * time.Millisecond
	if period <= 0 {
		period = time.Duration(agent.DefaultSCSI2PeriodMS) * time.Millisecond
	}
	chap, err := readCHAP(c)
	if err != nil {
		return nil, fmt.Errorf("disk %s: %w", agent.ShownDevice(c.Device), err)
	}
	d := &SCSI2Disk{cfg: c, chap: chap, log: log.With("device", agent.ShownDevice(c.Device), "mode", agent.ModeSCSI2)}
	// scsi.SCSI2 names the device on its own lines.
	d.s2cfg = scsi.SCSI2Config{Name: agent.ShownDevice(c.Device), Period: period, Logger: log.With("mode", agent.ModeSCSI2)}
	// Fill the defaults (CommandTimeout, Wait) and check them now.
	probe := d.s2cfg
	probe.Transport = nopTransport{}
	s2, err := scsi.NewSCSI2(probe)
	if err != nil {
		return nil, err
	}
	d.s2cfg = s2.Config()
	d.s2cfg.Transport = nil
	d.open = d.openDevice
	return d, nil
}

// nopTransport only lets NewSCSI2Disk validate the configuration.
type nopTransport struct{}

func (nopTransport) Execute(context.Context, *scsi.Command) (*scsi.Response, error) {
	return nil, errors.New("no transport")
}

// openDevice logs in to the iSCSI target or opens the SG_IO device.
func (d *SCSI2Disk) openDevice(ctx context.Context) (scsi.Transport, io.Closer, error) {
	if !devname.IsISCSI(d.cfg.Device) {
		open := d.devOpen
		if open == nil {
			open = opener.Open
		}
		return open(ctx, d.cfg.Device, opener.Options{Logger: d.log})
	}
	u, err := iscsi.ParseURL(d.cfg.Device)
	if err != nil {
		return nil, nil, err
	}
	// Each renewal is bounded by CommandTimeout through its context. A
	// lost session drops the reservation on tgtd; the next renewal on the
	// new session reserves again unless another node took the unit (then
	// it conflicts: lost).
	pool := d.pool
	if pool == nil {
		pool = NewSessions(d.log)
	}
	lu, release, err := pool.LUN(ctx, u, d.cfg.Initiator, d.chap)
	if err != nil {
		return nil, nil, err
	}
	return lu, closerFunc(release), nil
}

// session opens the device on first use.
func (d *SCSI2Disk) session(ctx context.Context) (*scsi.SCSI2, *scsi.Device, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.s2 != nil {
		return d.s2, d.dev, nil
	}
	t, c, err := d.open(ctx)
	if err != nil {
		return nil, nil, err
	}
	cfg := d.s2cfg
	cfg.Transport = t
	s2, err := scsi.NewSCSI2(cfg)
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	d.sess, d.s2 = c, s2
	d.dev = &scsi.Device{Transport: t, Name: agent.ShownDevice(d.cfg.Device), UnitAttentionRetries: 8, TransportRetries: 2}
	return s2, d.dev, nil
}

// Device implements agent.Disk.
func (d *SCSI2Disk) Device() string { return agent.ShownDevice(d.cfg.Device) }

// Mode is agent.ModeSCSI2.
func (d *SCSI2Disk) Mode() string { return agent.ModeSCSI2 }

// Config is the SCSI-2 arbitration's configuration (period, command
// timeout, challenge wait) with its defaults filled in.
func (d *SCSI2Disk) Config() scsi.SCSI2Config { return d.s2cfg }

// ActionTimeout implements agent.ActionTimer: a fence's challenge waits
// Wait after the reset, plus a reserve before and after and the read-back,
// each bounded by the command timeout, plus a second of margin.
func (d *SCSI2Disk) ActionTimeout() time.Duration {
	return d.s2cfg.Wait + 3*d.s2cfg.CommandTimeout + time.Second
}

// late reports whether no renewal succeeded for longer than
// scsi.MinWait (2 x period + the command timeout) while this node holds
// the unit. One failed renewal never makes it late (the one after lands
// within that time); two in a row do, and a challenger that reset the unit
// just after the last good renewal may then reserve once its wait (3 x
// period + the command timeout by default) ends, so the node cannot claim
// the unit. d.mu must be held.
func (d *SCSI2Disk) late(now time.Time) bool {
	return d.state == scsi2Holding && now.Sub(d.lastOK) > scsi.MinWait(d.s2cfg.Period, d.s2cfg.CommandTimeout)
}

// Generation implements agent.Disk: TEST UNIT READY and the state counter,
// so the watcher reads the full status when the state changes, when a
// renewal becomes overdue, or when another node starts or stops holding the
// unit.
func (d *SCSI2Disk) Generation(ctx context.Context) (uint32, error) {
	_, dev, err := d.session(ctx)
	if err != nil {
		return 0, err
	}
	err = dev.TestUnitReady(ctx)
	conflict := errors.Is(err, scsi.ErrReservationConflict)
	if err != nil && !conflict {
		return 0, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	g := d.epoch << 2
	if d.late(time.Now()) {
		g |= 2
	}
	if conflict {
		g |= 1
	}
	return g, nil
}

// Status implements agent.Disk. TEST UNIT READY answers RESERVATION
// CONFLICT while another initiator holds the unit, GOOD when it is free or
// this node's. Registered and Owner are true only while this node holds the
// unit, the device answers GOOD and the last renewal is on time.
func (d *SCSI2Disk) Status(ctx context.Context) (agent.DiskStatus, error) {
	s := agent.DiskStatus{Device: agent.ShownDevice(d.cfg.Device), Mode: agent.ModeSCSI2, Keys: []string{}}
	_, dev, err := d.session(ctx)
	if err != nil {
		return s, err
	}
	turErr := dev.TestUnitReady(ctx)
	conflict := errors.Is(turErr, scsi.ErrReservationConflict)
	now := time.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	if conflict && d.state == scsi2Holding {
		d.setLostLocked(fmt.Errorf("%w: TEST UNIT READY: %w", scsi.ErrReservationLost, turErr))
	}
	late := d.late(now)
	s.Notes = append(s.Notes, fmt.Sprintf("scsi2: state %s, renewal every %v, challenge wait %v", d.state, d.s2cfg.Period, d.s2cfg.Wait))
	if d.state == scsi2Holding {
		n := fmt.Sprintf("scsi2: last renewal %s ago", now.Sub(d.lastOK).Round(time.Millisecond))
		if d.lastErr != nil {
			n += fmt.Sprintf("; the last attempt (%s ago) failed: %v", now.Sub(d.lastTry).Round(time.Millisecond), d.lastErr)
		}
		s.Notes = append(s.Notes, n)
	}
	if d.lastFence != "" {
		s.FenceMethod = d.lastFence
	}
	g := d.epoch << 2
	if late {
		g |= 2
	}
	if conflict {
		g |= 1
	}
	s.Generation = g
	switch {
	case late:
		// Known from this node's own renewals: it cannot claim the unit,
		// whatever TEST UNIT READY said (a challenger may have reset it).
		s.Notes = append(s.Notes, fmt.Sprintf("registered=false, owner=false: no renewal succeeded for %s (more than 2 x the period + the command timeout): a challenger may have taken the unit", now.Sub(d.lastOK).Round(time.Millisecond)))
		if turErr != nil && !conflict {
			s.Notes = append(s.Notes, "test unit ready: "+turErr.Error())
		}
		return s, nil
	case conflict:
		s.Holder, s.PeerRegistered = "other", true
	case turErr != nil:
		return s, turErr
	case d.state == scsi2Holding:
		s.Holder, s.Registered, s.Owner = "this node", true, true
	}
	if d.state == scsi2Lost {
		s.Notes = append(s.Notes, fmt.Sprintf("registered=false, owner=false: reservation lost: %v", d.lostErr))
	}
	return s, nil
}

// setLostLocked records that another node took the unit; d.mu held.
func (d *SCSI2Disk) setLostLocked(err error) {
	if d.state == scsi2Lost {
		return
	}
	d.state, d.lostErr = scsi2Lost, err
	d.epoch++
	d.log.Error("scsi2: reservation lost to another node", "err", err)
}

// renewed records one renewal's result (the defend loop's callback).
func (d *SCSI2Disk) renewed(gen uint32, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.epoch != gen || d.state != scsi2Holding {
		return // a loop that was stopped
	}
	now := time.Now()
	d.lastTry, d.lastErr = now, err
	switch {
	case err == nil:
		d.lastOK = now
	case errors.Is(err, scsi.ErrReservationLost):
		d.setLostLocked(err)
	default:
		d.log.Warn("scsi2: renewal failed; the next is due on schedule", "err", err, "since_last_renewal", now.Sub(d.lastOK))
	}
}

// startDefendLocked marks the unit held (just reserved) and starts the
// defend loop; d.mu held, no loop running.
func (d *SCSI2Disk) startDefendLocked(s2 *scsi.SCSI2) {
	d.state = scsi2Holding
	d.lastOK, d.lastTry, d.lastErr, d.lostErr = time.Now(), time.Now(), nil, nil
	d.epoch++
	gen := d.epoch
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	d.stop, d.done = cancel, done
	go func() {
		defer close(done)
		err := s2.DefendEach(ctx, func(err error) bool { d.renewed(gen, err); return true })
		if err != nil {
			d.log.Info("scsi2: defend loop ended", "err", err)
		}
	}()
}

// stopDefend ends the defend loop, if any, and waits for it.
func (d *SCSI2Disk) stopDefend() {
	d.mu.Lock()
	stop, done := d.stop, d.done
	d.stop, d.done = nil, nil
	d.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

// StopDefending ends the defend loop and keeps the session and the
// reservation: what a hung or killed agent leaves behind on an array that
// keeps the reservation. For tests of the challenge.
func (d *SCSI2Disk) StopDefending() { d.stopDefend() }

// Register implements agent.Disk: SCSI-2 has no registration; nothing to
// do.
func (d *SCSI2Disk) Register(context.Context) error { return nil }

// Unfence implements agent.Disk: SCSI-2 has no key to put back. The node
// holds nothing after a lost reservation and takes the unit again only by
// an acquire or a fence.
func (d *SCSI2Disk) Unfence(context.Context) error { return nil }

// Acquire implements agent.Disk: RESERVE(6), verified by TEST UNIT READY,
// then the defend loop. Another node's reservation is an error: take the
// unit from a dead owner with a fence (challenge).
func (d *SCSI2Disk) Acquire(ctx context.Context) error {
	s2, dev, err := d.session(ctx)
	if err != nil {
		return err
	}
	if held, err := d.heldNow(ctx, dev, "acquire"); held || err != nil {
		return err
	}
	d.stopDefend()
	if err := s2.Reserve(ctx); err != nil {
		if errors.Is(err, scsi.ErrReservationConflict) {
			return fmt.Errorf("scsi2: acquire: another node holds the unit (fence it to challenge a dead owner): %w", err)
		}
		return fmt.Errorf("scsi2: acquire: %w", err)
	}
	return d.verifyAndDefend(ctx, s2, dev, "acquire")
}

// heldNow reports whether this node holds the unit with its renewals on
// time, read back by TEST UNIT READY (op names the action): acquire and
// fence are then idempotent successes.
func (d *SCSI2Disk) heldNow(ctx context.Context, dev *scsi.Device, op string) (bool, error) {
	d.mu.Lock()
	holding := d.state == scsi2Holding && !d.late(time.Now())
	d.mu.Unlock()
	if !holding {
		return false, nil
	}
	if err := dev.TestUnitReady(ctx); err != nil {
		return false, fmt.Errorf("scsi2: %s: this node holds the unit, but the read-back failed: %w", op, err)
	}
	d.log.Info("scsi2: this node holds the unit already (idempotent success)", "action", op)
	return true, nil
}

// verifyAndDefend reads a fresh reservation back and starts defending it.
func (d *SCSI2Disk) verifyAndDefend(ctx context.Context, s2 *scsi.SCSI2, dev *scsi.Device, op string) error {
	if err := dev.TestUnitReady(ctx); err != nil {
		if errors.Is(err, scsi.ErrReservationConflict) {
			return fmt.Errorf("scsi2: %s: reserved, but the read-back shows another holder: %w", op, err)
		}
		// The reservation may be ours: defend it rather than leave it
		// to lapse, but report the failed read-back.
		d.mu.Lock()
		d.startDefendLocked(s2)
		d.mu.Unlock()
		return fmt.Errorf("scsi2: %s: reserved, but the read-back failed (defending it): %w", op, err)
	}
	d.mu.Lock()
	d.startDefendLocked(s2)
	d.mu.Unlock()
	return nil
}

// Release implements agent.Disk: the defend loop stops first, then
// RELEASE(6), read back by TEST UNIT READY.
func (d *SCSI2Disk) Release(ctx context.Context) error {
	s2, dev, err := d.session(ctx)
	if err != nil {
		return err
	}
	d.stopDefend()
	d.mu.Lock()
	d.state = scsi2Idle
	d.epoch++
	d.mu.Unlock()
	if err := s2.Release(ctx); err != nil {
		return fmt.Errorf("scsi2: release: %w", err)
	}
	// GOOD: free. A conflict: another node reserved it since; either way
	// this node holds nothing.
	if err := dev.TestUnitReady(ctx); err != nil && !errors.Is(err, scsi.ErrReservationConflict) {
		return fmt.Errorf("scsi2: release: read-back: %w", err)
	}
	return nil
}

// Fence implements agent.Disk: a challenge (LUN reset, wait, RESERVE),
// then the defend loop. A peer that renews during the wait is alive and
// keeps the unit: the fence fails. When this node already holds the unit
// with its renewals on time, the peer cannot write: success.
func (d *SCSI2Disk) Fence(ctx context.Context) error {
	s2, dev, err := d.session(ctx)
	if err != nil {
		return err
	}
	if held, err := d.heldNow(ctx, dev, "fence"); held || err != nil {
		return err
	}
	d.stopDefend()
	r, err := s2.Challenge(ctx)
	if errors.Is(err, scsi.ErrOwnerAlive) {
		return fmt.Errorf("scsi2: fence failed: the peer renewed its reservation during the %v wait after the LUN reset: it is alive and keeps the disk: %w", d.s2cfg.Wait, err)
	}
	if err != nil {
		return fmt.Errorf("scsi2: fence (challenge): %w", err)
	}
	method := "scsi2 reserve (the unit was free)"
	if r.Waited > 0 {
		method = fmt.Sprintf("scsi2 challenge (LUN reset, waited %v, reserve)", r.Waited.Round(time.Millisecond))
	}
	d.mu.Lock()
	d.lastFence = method
	d.mu.Unlock()
	d.log.Info("scsi2: fence: this node holds the unit", "method", method)
	return d.verifyAndDefend(ctx, s2, dev, "fence")
}

// Close stops the defend loop and closes the session. The reservation is
// not released: tgtd drops it with the session, an array that keeps it
// leaves it to a challenge.
func (d *SCSI2Disk) Close() error {
	d.stopDefend()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.sess == nil {
		return nil
	}
	err := d.sess.Close()
	d.sess, d.s2, d.dev = nil, nil, nil
	d.state = scsi2Idle
	d.epoch++
	return err
}
