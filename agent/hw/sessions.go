package hw

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hakit/hakit/scsi/iscsi"
)

// Sessions shares one iSCSI session per target among the disks of that
// target: a node has one session (one initiator name, one ISID) per target,
// whatever number of LUNs it uses there. Two logins with the same initiator
// name and ISID would reinstate each other (RFC 7143 session
// reinstatement), and each reinstatement leaves the other session's
// persistent reservation registration behind as an orphan. The ISID is the
// initiator name's (iscsi.DefaultISID), stable across reconnects, so the
// session that carries the node's registrations keeps its I_T nexus. Safe
// for concurrent use.
type Sessions struct {
	log *slog.Logger
	// Keepalive is the sessions' iSCSI keepalive (iscsi.Config.Keepalive).
	Keepalive time.Duration

	mu sync.Mutex
	m  map[string]*sharedSession
}

// NewSessions returns an empty pool.
func NewSessions(log *slog.Logger) *Sessions {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sessions{log: log, m: map[string]*sharedSession{}}
}

// sharedSession is one session and the reconnect hooks of its LUNs.
type sharedSession struct {
	sess *iscsi.Session
	refs int

	mu    sync.Mutex
	hooks map[int]func(context.Context) // by LUN
}

// onReconnect runs every LUN's hook, in LUN order, with the reconnect's
// context: no other command reaches the new I_T nexus until they return.
func (s *sharedSession) onReconnect(ctx context.Context) {
	s.mu.Lock()
	hooks := make([]func(context.Context), 0, len(s.hooks))
	for lun := 0; len(hooks) < len(s.hooks) && lun <= 16383; lun++ {
		if h, ok := s.hooks[lun]; ok {
			hooks = append(hooks, h)
		}
	}
	s.mu.Unlock()
	for _, h := range hooks {
		h(ctx)
	}
}

// sessionKey names the I_T nexus a login makes: the same portal, target and
// initiator, with the same credentials (this initiator's and the target's
// for mutual CHAP), share one session. A disk that asks for mutual CHAP
// never rides on a session that did not authenticate the target, nor one
// logged in with other secrets.
func sessionKey(u iscsi.URL, initiator string, c chapCreds) string {
	h := sha256.Sum256([]byte(c.User + "\x00" + c.Secret + "\x00" + c.TargetUser + "\x00" + c.TargetSecret))
	return fmt.Sprintf("%s|%s|%s|%x", u.Portal(), u.Target, initiator, h[:8])
}

// LUN returns logical unit u.LUN on the pool's session to u's target for
// initiator with credentials chap (completed from u's user%password when
// chap has no user), logging in when it is the first. release gives the
// LUN back (the session logs out with its last LUN). SetHook installs the
// LUN's reconnect hook.
func (p *Sessions) LUN(ctx context.Context, u iscsi.URL, initiator string, chap chapCreds) (lu *iscsi.LogicalUnit, release func() error, err error) {
	chap = chap.forURL(u)
	key := sessionKey(u, initiator, chap)
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.m[key]
	if s == nil {
		s = &sharedSession{hooks: map[int]func(context.Context){}}
		cfg := iscsi.Config{
			InitiatorName:  initiator,
			CommandTimeout: 5 * time.Second,
			Keepalive:      p.Keepalive,
			Logger:         p.log.With("target", u.Target, "portal", u.Portal()),
			// A new session after a reconnect has no registrations: each
			// LUN's hook puts this node's key back (scsi.Owner.Reassert).
			OnReconnect: func(ctx context.Context, _ iscsi.ReconnectEvent) { s.onReconnect(ctx) },
		}
		chap.apply(&cfg)
		s.sess, err = iscsi.Dial(ctx, u, cfg)
		if err != nil {
			return nil, nil, err
		}
		p.m[key] = s
	}
	lu, err = s.sess.LUN(u.LUN)
	if err != nil {
		if s.refs == 0 {
			delete(p.m, key)
			_ = s.sess.Close()
		}
		return nil, nil, err
	}
	s.refs++
	var once sync.Once
	release = func() error {
		var cerr error
		once.Do(func() {
			s.mu.Lock()
			delete(s.hooks, u.LUN)
			s.mu.Unlock()
			p.mu.Lock()
			defer p.mu.Unlock()
			s.refs--
			if s.refs == 0 {
				delete(p.m, key)
				cerr = s.sess.Close()
			}
		})
		return cerr
	}
	return lu, release, nil
}

// SetHook installs the reconnect hook of lu (replacing an earlier one).
func (p *Sessions) SetHook(lu *iscsi.LogicalUnit, hook func(context.Context)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.m {
		if s.sess == lu.Session() {
			s.mu.Lock()
			s.hooks[lu.Number()] = hook
			s.mu.Unlock()
			return
		}
	}
}
