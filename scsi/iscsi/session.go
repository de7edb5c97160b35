package iscsi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hakit/hakit/scsi"
)

// Config configures a Session. The zero value of every field but
// InitiatorName has a documented default.
type Config struct {
	// InitiatorName is this node's iSCSI name (iqn., eui. or naa.);
	// required.
	InitiatorName string
	// ISID is the initiator session identifier. Keep it stable per node:
	// a login with the same initiator name and ISID replaces the node's old
	// session on the target. Zero means derived from InitiatorName (random
	// format, RFC 7143 11.12.5, bytes 1-5 from SHA-256 of the name).
	ISID [6]byte
	// CHAPUser and CHAPSecret authenticate this initiator with CHAP (MD5).
	// Empty means the URL's user and password; with no user at all the
	// login offers AuthMethod=None.
	CHAPUser, CHAPSecret string
	// MutualCHAPSecret, when set, makes the target authenticate itself
	// (mutual CHAP); MutualCHAPUser, when set, is the name it must give.
	MutualCHAPUser, MutualCHAPSecret string
	// HeaderDigest and DataDigest are the digest preferences; zero is None.
	HeaderDigest, DataDigest Digest
	// MaxRecvDataSegmentLength is the largest data segment this initiator
	// accepts, 512 to 16777215; 0 means 262144.
	MaxRecvDataSegmentLength int
	// FirstBurstLength and MaxBurstLength are offered to the target (it may
	// lower them); 0 means 262144 and 1048576.
	FirstBurstLength, MaxBurstLength int
	// NoImmediateData offers ImmediateData=No (default Yes).
	NoImmediateData bool
	// InitialR2T offers InitialR2T=Yes: no unsolicited Data-Out (default
	// No).
	InitialR2T bool
	// CommandTimeout bounds a command whose context has no deadline and
	// whose scsi.Command.Timeout is 0, and Close's logout; 0 means 30 s.
	CommandTimeout time.Duration
	// Reconnect is the policy after a connection is lost.
	Reconnect ReconnectPolicy
	// Keepalive, when positive, pings the target (NOP-Out) every
	// Keepalive/2 and gives each ping Keepalive/2 to be answered: a dead
	// path is found within Keepalive even when no command runs. The
	// connection is then closed (the next call logs in again), counted in
	// Stats.KeepaliveFailures and logged. 0 disables it.
	Keepalive time.Duration
	// OnReconnect, when set, is called after every successful reconnect
	// (not the first login), from the goroutine whose call triggered it,
	// with (a child of) that call's context. It may run commands on the
	// Session with that context (e.g. restore a persistent reservation
	// registration); every other call, on any LUN of the Session, waits
	// until it returns, so nothing but the hook reaches the new I_T nexus
	// first. A connection lost during the hook fails the hook's commands
	// with ErrConnectionLost; the next call after it logs in again and
	// runs the hook again.
	OnReconnect func(ctx context.Context, ev ReconnectEvent)
	// OnSCSIEvent, when set, receives the sense data of an asynchronous
	// SCSI event (event 0: e.g. a unit attention the target reports
	// without a command) and its LUN; it runs on the connection's reader
	// and must not block. The events are logged either way.
	OnSCSIEvent func(lun int, sense []byte)
	// Logger receives login, reconnect and protocol events; nil discards.
	Logger *slog.Logger
	// Dial opens the TCP connection to a portal ("host:port"); nil means a
	// net.Dialer.
	Dial func(ctx context.Context, addr string) (net.Conn, error)
	// Rand is the source of CHAP challenges; nil means crypto/rand.
	Rand io.Reader
}

// ReconnectPolicy says how a Session logs in again after its connection is
// lost. The backoff doubles from MinBackoff up to MaxBackoff, within the
// context of the call that found the connection down.
type ReconnectPolicy struct {
	// Disabled makes a lost connection permanent: every later call fails
	// with ErrConnectionLost.
	Disabled bool
	// MinBackoff is the first wait after a failed attempt; 0 means 50 ms.
	MinBackoff time.Duration
	// MaxBackoff caps the wait; 0 means 2 s.
	MaxBackoff time.Duration
}

// ReconnectEvent describes a reconnect.
type ReconnectEvent struct {
	// Count is the number of reconnects of this Session so far, this one
	// included.
	Count uint64
	// TSIH is the target's new session handle.
	TSIH uint16
	// Attempts is the number of logins tried for this reconnect.
	Attempts int
	// Downtime is the time from the end of the previous connection.
	Downtime time.Duration
	// Cause is why the previous connection ended.
	Cause error
	// Portal is where the new connection logged in (after redirections).
	Portal string
	// TPGT is the target portal group tag of the new connection, and
	// PrevTPGT the one of the previous connection (-1 when the target did
	// not say). When they differ, the I_T nexus changed: the session now
	// reaches the target through another target port, where this node's
	// persistent reservation registrations (held per I_T nexus) are not.
	TPGT, PrevTPGT int
}

// NexusChanged reports whether the reconnect landed on another target
// portal group.
func (e ReconnectEvent) NexusChanged() bool { return e.TPGT != e.PrevTPGT }

// Stats are counters of a Session.
type Stats struct {
	Commands   uint64 // Execute calls that got a SCSI status
	Failures   uint64 // Execute calls that failed (no status)
	Timeouts   uint64 // of which ended by the context or Command.Timeout
	Reconnects uint64
	// TargetPings counts NOP-In pings of the target answered.
	TargetPings uint64
	// KeepaliveFailures counts connections ended by an unanswered
	// keepalive ping (Config.Keepalive).
	KeepaliveFailures uint64
	// LastPingRTT is the round trip of the last Ping.
	LastPingRTT time.Duration
	// BytesIn and BytesOut count SCSI data moved.
	BytesIn, BytesOut uint64
	// Connected reports whether a connection is up, and TSIH and Params
	// describe it (or the last one).
	Connected bool
	TSIH      uint16
	Params    Params
}

// Session is an iSCSI session with one connection to one logical unit. It
// implements scsi.Transport and scsi.Resetter. All its methods are safe for
// concurrent use: commands from several goroutines are outstanding together,
// within the target's command window (MaxCmdSN).
type Session struct {
	cfg  Config
	url  URL
	log  *slog.Logger
	isid [6]byte
	lun  uint64

	itt    atomic.Uint32
	reconn chan struct{} // one reconnect at a time

	wg sync.WaitGroup // goroutines of every connection

	mu     sync.Mutex
	c      *conn
	closed bool
	stats  Stats
	// gate is open (non-nil) from the publication of a reconnected
	// connection until Config.OnReconnect returns: only calls with the
	// hook's context use the connection meanwhile.
	gate chan struct{}
	// notBefore holds the next login back (the target's Time2Wait).
	notBefore time.Time
	// portal is where logins start: the URL's, or where a permanent
	// redirection (login status 0x0102) moved the target.
	portal string
	// tpgt is the target portal group tag of the current connection.
	tpgt int
	// discovery marks a discovery session (Discover).
	discovery bool
}

// hookKey marks the context given to Config.OnReconnect; its value is the
// Session.
type hookKey struct{}

// inHook reports whether ctx is (derived from) the context of this
// Session's running reconnect hook.
func (s *Session) inHook(ctx context.Context) bool {
	v, _ := ctx.Value(hookKey{}).(*Session)
	return v == s
}

var (
	_ scsi.Transport = (*Session)(nil)
	_ scsi.Resetter  = (*Session)(nil)
)

// DefaultISID returns the ISID derived from an initiator name when
// Config.ISID is zero.
func DefaultISID(initiatorName string) [6]byte {
	sum := sha256.Sum256([]byte(initiatorName))
	var isid [6]byte
	isid[0] = 0x80 // T=10b: random format
	copy(isid[1:], sum[:5])
	return isid
}

// ISID purposes for DerivedISID: sessions of one node that must coexist
// with the node's own (DefaultISID) session, each with its own I_T nexus.
const (
	// ISIDHWCheck is hwcheck's test sessions.
	ISIDHWCheck byte = 0x5a
	// ISIDTool is the disk command line's sessions.
	ISIDTool byte = 0xa5
	// ISIDHWCheckPath is the second path of hwcheck's MPIO test: a second
	// initiator port of the node to the same LUN.
	ISIDHWCheckPath byte = 0x3c
)

// DerivedISID is DefaultISID with its last byte XORed with purpose: a
// stable ISID of its own for a session that must not reinstate (end) the
// node's session to the same target.
func DerivedISID(initiatorName string, purpose byte) [6]byte {
	isid := DefaultISID(initiatorName)
	isid[5] ^= purpose
	return isid
}

func (cfg *Config) resolve(u URL) error {
	name := strings.ToLower(cfg.InitiatorName)
	if !strings.HasPrefix(name, "iqn.") && !strings.HasPrefix(name, "eui.") && !strings.HasPrefix(name, "naa.") {
		return fmt.Errorf("iscsi: Config.InitiatorName %q: want an iqn., eui. or naa. name", cfg.InitiatorName)
	}
	if cfg.ISID == ([6]byte{}) {
		cfg.ISID = DefaultISID(cfg.InitiatorName)
	}
	if cfg.CHAPUser == "" {
		cfg.CHAPUser, cfg.CHAPSecret = u.User, u.Password
	}
	if cfg.CHAPUser != "" && cfg.CHAPSecret == "" {
		return fmt.Errorf("iscsi: CHAP user %q has no secret", cfg.CHAPUser)
	}
	if cfg.MutualCHAPSecret != "" && cfg.CHAPUser == "" {
		return errors.New("iscsi: mutual CHAP needs a CHAP user and secret too")
	}
	for _, d := range []Digest{cfg.HeaderDigest, cfg.DataDigest} {
		if d < DigestNone || d > DigestPreferCRC32C {
			return fmt.Errorf("iscsi: invalid digest preference %d", int(d))
		}
	}
	def := func(v *int, d, lo int, name string) error {
		if *v == 0 {
			*v = d
		}
		if *v < lo || *v > maxDataSegment {
			return fmt.Errorf("iscsi: Config.%s %d out of range %d-%d", name, *v, lo, maxDataSegment)
		}
		return nil
	}
	if err := errors.Join(
		def(&cfg.MaxRecvDataSegmentLength, 262144, 512, "MaxRecvDataSegmentLength"),
		def(&cfg.FirstBurstLength, 262144, 512, "FirstBurstLength"),
		def(&cfg.MaxBurstLength, 1048576, 512, "MaxBurstLength"),
	); err != nil {
		return err
	}
	if cfg.CommandTimeout == 0 {
		cfg.CommandTimeout = 30 * time.Second
	}
	if cfg.CommandTimeout < 0 || cfg.Reconnect.MinBackoff < 0 || cfg.Reconnect.MaxBackoff < 0 {
		return errors.New("iscsi: negative duration in Config")
	}
	if cfg.Reconnect.MinBackoff == 0 {
		cfg.Reconnect.MinBackoff = 50 * time.Millisecond
	}
	if cfg.Reconnect.MaxBackoff == 0 {
		cfg.Reconnect.MaxBackoff = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Dial == nil {
		cfg.Dial = func(ctx context.Context, addr string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", addr)
		}
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	return nil
}

// Dial connects to the portal of u and logs in to its target. The context
// bounds the connection and the login; it has no effect afterwards.
// A refused login is a *LoginError.
func Dial(ctx context.Context, u URL, cfg Config) (*Session, error) {
	if u.Target == "" || u.Host == "" || u.Port == 0 {
		return nil, fmt.Errorf("iscsi: incomplete URL %v: use ParseURL", u)
	}
	if err := cfg.resolve(u); err != nil {
		return nil, err
	}
	s := &Session{cfg: cfg, url: u, log: cfg.Logger.With("portal", u.Portal(), "target", u.Target), isid: cfg.ISID,
		lun: lunField(u.LUN), reconn: make(chan struct{}, 1)}
	s.itt.Store(uint32(time.Now().UnixNano()) & 0xffff)
	c, err := s.login(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.c, s.tpgt = c, c.params.TargetPortalGroupTag
	s.stats.Connected, s.stats.TSIH, s.stats.Params = true, c.tsih, c.params
	s.mu.Unlock()
	return s, nil
}

// URL returns the URL the Session was dialled with.
func (s *Session) URL() URL { return s.url }

// TransportID is the Session's initiator port as SPC-4 names it (format 1:
// the initiator name and the ISID): what a reservation holder needs to
// move the reservation to this session (scsi.Owner.Move). It stays the
// same across reconnects (the ISID is fixed per Session).
func (s *Session) TransportID() scsi.TransportID {
	return scsi.ISCSIPortID(s.cfg.InitiatorName, s.isid)
}

// Stats returns a snapshot of the Session's counters.
func (s *Session) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Connected = s.c != nil && s.c.alive()
	return st
}

func (s *Session) nextITT() uint32 {
	for {
		if v := s.itt.Add(1); v != reservedTag {
			return v
		}
	}
}

func (s *Session) count(f func(*Stats)) {
	s.mu.Lock()
	f(&s.stats)
	s.mu.Unlock()
}

// maxRedirects bounds the login redirections followed in one login.
const maxRedirects = 3

// login dials the portal and logs in, following login redirections.
func (s *Session) login(ctx context.Context) (*conn, error) {
	s.mu.Lock()
	portal := s.portal
	s.mu.Unlock()
	if portal == "" {
		portal = s.url.Portal()
	}
	for i := 0; ; i++ {
		c, err := s.loginAt(ctx, portal)
		var le *LoginError
		if err == nil || !errors.As(err, &le) || le.Redirect == "" || i == maxRedirects {
			return c, err
		}
		s.log.Info("iscsi login redirected", "from", portal, "to", le.Redirect, "status", fmt.Sprintf("0x%04x", le.Status()))
		portal = le.Redirect
		if le.Status() == 0x0102 {
			// Moved permanently: later logins start there.
			s.mu.Lock()
			s.portal = portal
			s.mu.Unlock()
			s.log.Warn("iscsi target moved permanently: later logins go to the new portal", "target", s.url.Target, "portal", portal)
		}
	}
}

// loginAt dials one portal and runs one login.
func (s *Session) loginAt(ctx context.Context, portal string) (*conn, error) {
	nc, err := s.cfg.Dial(ctx, portal)
	if err != nil {
		return nil, fmt.Errorf("iscsi: connect to %s: %w", portal, err)
	}
	c, err := runLogin(ctx, nc, loginConfig{
		InitiatorName: s.cfg.InitiatorName, TargetName: s.url.Target, ISID: s.isid, ITT: s.nextITT(), CmdSN: 1,
		User: s.cfg.CHAPUser, Secret: s.cfg.CHAPSecret, MutualUser: s.cfg.MutualCHAPUser, MutualSecret: s.cfg.MutualCHAPSecret,
		HeaderDigest: s.cfg.HeaderDigest, DataDigest: s.cfg.DataDigest,
		MaxRecvDataSegmentLength: s.cfg.MaxRecvDataSegmentLength, FirstBurstLength: s.cfg.FirstBurstLength,
		MaxBurstLength: s.cfg.MaxBurstLength, ImmediateData: !s.cfg.NoImmediateData, InitialR2T: s.cfg.InitialR2T,
		Rand: s.cfg.Rand, Portal: portal, Discovery: s.discovery,
	}, s)
	if err != nil {
		nc.Close()
		return nil, err
	}
	s.log.Info("iscsi login", "tsih", c.tsih, "isid", fmt.Sprintf("%x", s.isid), "initiator", s.cfg.InitiatorName,
		"header_digest", c.params.HeaderDigest, "data_digest", c.params.DataDigest,
		"max_xmit", c.params.MaxXmitDataSegmentLength, "first_burst", c.params.FirstBurstLength,
		"max_burst", c.params.MaxBurstLength, "immediate_data", c.params.ImmediateData, "initial_r2t", c.params.InitialR2T)
	c.start()
	return c, nil
}

// connection returns the live connection, logging in again when it was
// lost (unless reconnection is disabled). While Config.OnReconnect runs on
// a new connection, every other call waits here until it returns.
func (s *Session) connection(ctx context.Context) (*conn, error) {
	hook := s.inHook(ctx)
	for {
		s.mu.Lock()
		c, closed, gate := s.c, s.closed, s.gate
		s.mu.Unlock()
		if closed {
			return nil, ErrClosed
		}
		if gate != nil && !hook {
			select {
			case <-gate:
				continue
			case <-ctx.Done():
				return nil, ctxError(ctx, "wait for the reconnect hook on "+s.url.Portal())
			}
		}
		if c != nil && c.alive() && c.isDraining() {
			// The target asked for a logout: new commands wait for the
			// next connection (sent after the logout, never lost).
			select {
			case <-c.dead:
				continue
			case <-ctx.Done():
				return nil, ctxError(ctx, "wait for the logout the target asked for on "+s.url.Portal())
			}
		}
		if c != nil && c.alive() {
			return c, nil
		}
		if hook {
			// The reconnect lock is held by the hook's caller: no nested
			// reconnect; the next call after the hook logs in again.
			return nil, fmt.Errorf("%w: %s lost during the reconnect hook: %w", ErrConnectionLost, s.url.Portal(), c.cause())
		}
		if s.cfg.Reconnect.Disabled {
			return nil, fmt.Errorf("%w: %s (reconnect disabled): %w", ErrConnectionLost, s.url.Portal(), c.cause())
		}
		break
	}
	select {
	case s.reconn <- struct{}{}:
	case <-ctx.Done():
		return nil, ctxError(ctx, "wait for reconnect to "+s.url.Portal())
	}
	defer func() { <-s.reconn }()
	ev, nc, gate, err := s.reconnect(ctx)
	if err != nil || ev == nil {
		return nc, err
	}
	if gate != nil {
		s.cfg.OnReconnect(context.WithValue(ctx, hookKey{}, s), *ev)
		s.mu.Lock()
		s.gate = nil
		s.mu.Unlock()
		close(gate)
	}
	return nc, nil
}

// reconnect runs with s.reconn held. It returns a nil event when another
// goroutine reconnected meanwhile. With Config.OnReconnect set, it publishes
// the new connection with the gate closed to every call but the hook's,
// and returns the gate for the caller to open once the hook returned.
func (s *Session) reconnect(ctx context.Context) (*ReconnectEvent, *conn, chan struct{}, error) {
	s.mu.Lock()
	old, closed := s.c, s.closed
	s.mu.Unlock()
	if closed {
		return nil, nil, nil, ErrClosed
	}
	if old != nil && old.alive() {
		return nil, old, nil, nil
	}
	lostAt, cause := old.ended()
	s.mu.Lock()
	notBefore := s.notBefore
	s.mu.Unlock()
	if d := time.Until(notBefore); d > 0 {
		// The target's Time2Wait (a logout it asked for, a dropped
		// connection): do not log in before it.
		s.log.Info("iscsi reconnect waits for the target's Time2Wait", "wait", d)
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, nil, nil, fmt.Errorf("%w: reconnect to %s: %w", ErrConnectionLost, s.url.Portal(), ctxError(ctx, "wait for the target's Time2Wait"))
		}
	}
	wait := s.cfg.Reconnect.MinBackoff
	for attempt := 1; ; attempt++ {
		s.mu.Lock()
		closed := s.closed
		s.mu.Unlock()
		if closed {
			return nil, nil, nil, ErrClosed
		}
		c, err := s.login(ctx)
		if err == nil {
			s.mu.Lock()
			if s.closed {
				s.mu.Unlock()
				c.close(ErrClosed)
				return nil, nil, nil, ErrClosed
			}
			s.c = c
			var gate chan struct{}
			if s.cfg.OnReconnect != nil {
				gate = make(chan struct{})
				s.gate = gate
			}
			s.stats.Reconnects++
			s.stats.TSIH, s.stats.Params = c.tsih, c.params
			ev := &ReconnectEvent{Count: s.stats.Reconnects, TSIH: c.tsih, Attempts: attempt, Downtime: time.Since(lostAt), Cause: cause,
				Portal: c.portal, TPGT: c.params.TargetPortalGroupTag, PrevTPGT: s.tpgt}
			s.tpgt = c.params.TargetPortalGroupTag
			s.mu.Unlock()
			s.log.Warn("iscsi reconnected", "tsih", c.tsih, "count", ev.Count, "attempts", attempt, "downtime", ev.Downtime, "cause", cause, "portal", ev.Portal, "tpgt", ev.TPGT)
			if ev.NexusChanged() {
				s.log.Warn("iscsi reconnect landed on another target portal group: the I_T nexus changed", "tpgt", ev.TPGT, "was", ev.PrevTPGT)
			}
			return ev, c, gate, nil
		}
		s.log.Info("iscsi reconnect failed", "attempt", attempt, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, nil, nil, fmt.Errorf("%w: reconnect to %s: %d attempts, last: %w (%w)", ErrConnectionLost, s.url.Portal(), attempt, err, ctxError(ctx, "reconnect"))
		}
		wait = min(2*wait, s.cfg.Reconnect.MaxBackoff)
	}
}

// holdReconnect keeps the next login from starting before d from now
// (capped at 60 s).
func (s *Session) holdReconnect(d time.Duration) {
	d = min(d, time.Minute)
	s.mu.Lock()
	if t := time.Now().Add(d); t.After(s.notBefore) {
		s.notBefore = t
	}
	s.mu.Unlock()
}

// ctxError is the error of a call ended by its context. A deadline wraps
// os.ErrDeadlineExceeded as well as context.DeadlineExceeded.
func ctxError(ctx context.Context, what string) error {
	err := context.Cause(ctx)
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("iscsi: %s: %w (%w)", what, os.ErrDeadlineExceeded, err)
	}
	return fmt.Errorf("iscsi: %s: %w", what, err)
}

// withTimeout bounds ctx by d, or by the default command timeout when ctx
// has no deadline and d is 0.
func (s *Session) withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d == 0 {
		if _, ok := ctx.Deadline(); ok {
			return context.WithCancel(ctx)
		}
		d = s.cfg.CommandTimeout
	}
	return context.WithTimeout(ctx, d)
}

// Execute runs one SCSI command on the Session's LUN. A non-GOOD status is
// returned in the Response without an error; an error means the command did
// not complete: the context or cmd.Timeout ran out (the error wraps
// os.ErrDeadlineExceeded; the command is aborted with ABORT TASK), the
// connection was lost (ErrConnectionLost; the command may have run), or the
// target refused it (*RejectError, *ResponseError). A command that found
// the connection already lost is sent after a reconnect.
func (s *Session) Execute(ctx context.Context, cmd *scsi.Command) (*scsi.Response, error) {
	return s.executeOn(ctx, s.lun, cmd)
}

func (s *Session) executeOn(ctx context.Context, lun uint64, cmd *scsi.Command) (*scsi.Response, error) {
	if err := checkCommand(cmd); err != nil {
		return nil, err
	}
	ctx, cancel := s.withTimeout(ctx, cmd.Timeout)
	defer cancel()
	resp, err := s.execute(ctx, lun, cmd)
	s.count(func(st *Stats) {
		if err != nil {
			st.Failures++
			if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.Canceled) {
				st.Timeouts++
			}
			return
		}
		st.Commands++
		st.BytesIn += uint64(len(resp.Data))
		if cmd.Direction == scsi.ToDevice {
			st.BytesOut += uint64(len(cmd.Data))
		}
	})
	return resp, err
}

func (s *Session) execute(ctx context.Context, lun uint64, cmd *scsi.Command) (*scsi.Response, error) {
	for {
		c, err := s.connection(ctx)
		if err != nil {
			return nil, fmt.Errorf("iscsi: command 0x%02x: %w", cmd.CDB[0], err)
		}
		resp, err := c.command(ctx, lun, cmd)
		if errors.Is(err, errNotSent) && ctx.Err() == nil {
			continue // the connection died before the command left
		}
		return resp, err
	}
}

func checkCommand(cmd *scsi.Command) error {
	switch {
	case cmd == nil:
		return errors.New("iscsi: nil command")
	case len(cmd.CDB) == 0 || len(cmd.CDB) > 260:
		return fmt.Errorf("iscsi: CDB of %d bytes (want 1 to 260)", len(cmd.CDB))
	case cmd.AllocLen < 0 || cmd.AllocLen > 1<<30:
		return fmt.Errorf("iscsi: command 0x%02x: AllocLen %d out of range", cmd.CDB[0], cmd.AllocLen)
	case cmd.Timeout < 0:
		return fmt.Errorf("iscsi: command 0x%02x: negative timeout", cmd.CDB[0])
	case cmd.Direction == scsi.ToDevice && len(cmd.Data) > 1<<30:
		return fmt.Errorf("iscsi: command 0x%02x: %d bytes of data out", cmd.CDB[0], len(cmd.Data))
	case cmd.Direction != scsi.ToDevice && len(cmd.Data) > 0:
		return fmt.Errorf("iscsi: command 0x%02x: Data set with direction %v", cmd.CDB[0], cmd.Direction)
	case cmd.Direction != scsi.FromDevice && cmd.AllocLen > 0:
		return fmt.Errorf("iscsi: command 0x%02x: AllocLen set with direction %v", cmd.CDB[0], cmd.Direction)
	case cmd.Direction < scsi.NoData || cmd.Direction > scsi.ToDevice:
		return fmt.Errorf("iscsi: command 0x%02x: invalid direction %d", cmd.CDB[0], int(cmd.Direction))
	}
	return nil
}

// Ping sends a NOP-Out and returns the time until the target's NOP-In.
func (s *Session) Ping(ctx context.Context) (time.Duration, error) {
	ctx, cancel := s.withTimeout(ctx, 0)
	defer cancel()
	for {
		c, err := s.connection(ctx)
		if err != nil {
			return 0, fmt.Errorf("iscsi: ping: %w", err)
		}
		rtt, err := c.ping(ctx)
		if errors.Is(err, errNotSent) && ctx.Err() == nil {
			continue
		}
		if err == nil {
			s.count(func(st *Stats) { st.LastPingRTT = rtt })
		}
		return rtt, err
	}
}

// Reset resets the LUN (scsi.ResetLUN: LOGICAL UNIT RESET) or the target
// (scsi.ResetTarget: TARGET WARM RESET). iSCSI has no bus: scsi.ResetBus
// fails with an error wrapping errors.ErrUnsupported. A function the target
// refuses is a *TMFError.
func (s *Session) Reset(ctx context.Context, level scsi.ResetLevel) error {
	return s.resetOn(ctx, s.lun, level)
}

func (s *Session) resetOn(ctx context.Context, lun uint64, level scsi.ResetLevel) error {
	switch level {
	case scsi.ResetLUN:
		return s.taskManagementOn(ctx, lun, TMFLogicalUnitReset)
	case scsi.ResetTarget:
		return s.taskManagementOn(ctx, lun, TMFTargetWarmReset)
	case scsi.ResetBus:
		return fmt.Errorf("iscsi: reset %v: iSCSI has no bus, use ResetLUN or ResetTarget: %w", level, errors.ErrUnsupported)
	}
	return fmt.Errorf("iscsi: invalid reset level %d", int(level))
}

// TaskManagement runs a task management function that names no task:
// TMFAbortTaskSet, TMFClearACA, TMFClearTaskSet, TMFLogicalUnitReset,
// TMFTargetWarmReset or TMFTargetColdReset, on the Session's LUN. (ABORT
// TASK is sent by Execute for a command whose context ends.)
func (s *Session) TaskManagement(ctx context.Context, function uint8) error {
	return s.taskManagementOn(ctx, s.lun, function)
}

func (s *Session) taskManagementOn(ctx context.Context, lun uint64, function uint8) error {
	if function < TMFAbortTaskSet || function > TMFTargetColdReset {
		return fmt.Errorf("iscsi: task management function %d: want 2 to 7", function)
	}
	ctx, cancel := s.withTimeout(ctx, 0)
	defer cancel()
	for {
		c, err := s.connection(ctx)
		if err != nil {
			return fmt.Errorf("iscsi: %s: %w", tmfName(function), err)
		}
		err = c.taskManagement(ctx, function, lun, reservedTag, 0)
		if errors.Is(err, errNotSent) && ctx.Err() == nil {
			continue
		}
		return err
	}
}

// Logout closes the session with a Logout Request and closes the
// connection. The Session is unusable afterwards.
func (s *Session) Logout(ctx context.Context) error {
	s.mu.Lock()
	c, closed := s.c, s.closed
	s.closed = true
	s.mu.Unlock()
	if closed {
		return nil
	}
	if c == nil || !c.alive() {
		if c != nil {
			c.close(ErrClosed)
		}
		s.wg.Wait()
		return nil
	}
	err := c.logout(ctx)
	c.close(ErrClosed)
	s.wg.Wait()
	return err
}

// Close logs out (within Config.CommandTimeout, at most 5 s) and closes the
// connection. Calls after the first return nil.
func (s *Session) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), min(s.cfg.CommandTimeout, 5*time.Second))
	defer cancel()
	return s.Logout(ctx)
}

// LogicalUnit is one logical unit reached through a Session: several
// LogicalUnits of one target share its session, its ISID and its
// reconnects (one I_T nexus, so no login of one evicts another). It
// implements scsi.Transport and scsi.Resetter and is safe for concurrent
// use; closing the Session ends it.
type LogicalUnit struct {
	s   *Session
	lun uint64
	n   int
}

var (
	_ scsi.Transport = (*LogicalUnit)(nil)
	_ scsi.Resetter  = (*LogicalUnit)(nil)
)

// LUN returns logical unit n (0 to 16383) of the Session's target, on the
// Session's connection.
func (s *Session) LUN(n int) (*LogicalUnit, error) {
	if n < 0 || n > maxLUN {
		return nil, fmt.Errorf("iscsi: LUN %d out of range 0-%d", n, maxLUN)
	}
	return &LogicalUnit{s: s, lun: lunField(n), n: n}, nil
}

// Number is the logical unit's number.
func (l *LogicalUnit) Number() int { return l.n }

// Session is the session the logical unit is reached through.
func (l *LogicalUnit) Session() *Session { return l.s }

// Execute runs one SCSI command on the logical unit, as Session.Execute.
func (l *LogicalUnit) Execute(ctx context.Context, cmd *scsi.Command) (*scsi.Response, error) {
	return l.s.executeOn(ctx, l.lun, cmd)
}

// Reset resets the logical unit or the target, as Session.Reset.
func (l *LogicalUnit) Reset(ctx context.Context, level scsi.ResetLevel) error {
	return l.s.resetOn(ctx, l.lun, level)
}

// TaskManagement runs a task management function on the logical unit, as
// Session.TaskManagement.
func (l *LogicalUnit) TaskManagement(ctx context.Context, function uint8) error {
	return l.s.taskManagementOn(ctx, l.lun, function)
}
