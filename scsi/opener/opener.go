// Package opener opens a SCSI device from the strings a configuration or a
// command line names it by (their grammar is scsi/opener/devname's):
// /dev/sdX and /dev/sgN through SG_IO (Linux only; elsewhere sgio's error
// wrapping errors.ErrUnsupported), and iscsi://host[:port]/target-iqn/lun
// through hakit's userspace initiator. It is the one place that opens
// them: the field commands (scsi/diskcli), hwcheck (through Sessions), SBD
// devices and the agent's wiring for /dev paths (its iSCSI LUNs go through
// its own session pool, with CHAP and reconnect hooks).
package opener

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/hakit/hakit/scsi"
	"github.com/hakit/hakit/scsi/iscsi"
	"github.com/hakit/hakit/scsi/opener/devname"
	"github.com/hakit/hakit/scsi/sgio"
)

// Options are what opening needs beyond the device string.
type Options struct {
	// Initiator is the iSCSI initiator name (iscsi:// devices).
	Initiator string
	// ISID is the iSCSI session's ISID; zero means a field tool's own
	// (iscsi.DerivedISID with iscsi.ISIDTool), so that it never ends the
	// running hwagent's session to the same target.
	ISID [6]byte
	// CommandTimeout bounds an iSCSI command whose context has no deadline
	// sooner (iscsi.Config.CommandTimeout); 0 means the initiator's
	// default (30 s). An SG_IO command's timeout comes from its context.
	CommandTimeout time.Duration
	// Logger; nil discards.
	Logger *slog.Logger
}

// Func is the signature of Open, for the callers that take an opener so
// that tests can hand in a double.
type Func func(ctx context.Context, device string, o Options) (scsi.Transport, io.Closer, error)

// Open opens device. The closer ends the iSCSI session or closes the
// file; only its owner may call it.
func Open(ctx context.Context, device string, o Options) (scsi.Transport, io.Closer, error) {
	switch devname.KindOf(device) {
	case devname.KindISCSI:
		u, err := iscsi.ParseURL(device)
		if err != nil {
			return nil, nil, err
		}
		s, err := dial(ctx, u, o)
		if err != nil {
			return nil, nil, err
		}
		return s, s, nil
	case devname.KindSGIO:
		d, err := sgio.Open(device)
		if err != nil {
			return nil, nil, err
		}
		return d, d, nil
	}
	return nil, nil, fmt.Errorf("%q: %w", iscsi.MaskURL(device), devname.ErrBadDevice)
}

func dial(ctx context.Context, u iscsi.URL, o Options) (*iscsi.Session, error) {
	isid := o.ISID
	if isid == ([6]byte{}) {
		isid = iscsi.DerivedISID(o.Initiator, iscsi.ISIDTool)
	}
	return iscsi.Dial(ctx, u, iscsi.Config{InitiatorName: o.Initiator, ISID: isid, CommandTimeout: o.CommandTimeout, Logger: o.Logger})
}

// Sessions opens devices as Open does, but logs in once per initiator port
// (initiator name and ISID) and target: the LUNs of one target opened
// through it share that session, since a second login from the same
// initiator port would end the first (session reinstatement, RFC 7143).
// Each Open's closer gives its LUN back; the session logs out when the
// last of its LUNs is given back. The zero value is ready; its methods are
// safe for concurrent use.
type Sessions struct {
	mu   sync.Mutex
	sess map[string]*shared
}

type shared struct {
	s    *iscsi.Session
	refs int
}

var _ Func = (*Sessions)(nil).Open

// Open opens device, sharing the session of an iSCSI target already
// logged in to from the same initiator port (the first Open's
// CommandTimeout and Logger hold for it).
func (p *Sessions) Open(ctx context.Context, device string, o Options) (scsi.Transport, io.Closer, error) {
	if !devname.IsISCSI(device) {
		return Open(ctx, device, o)
	}
	u, err := iscsi.ParseURL(device)
	if err != nil {
		return nil, nil, err
	}
	isid := o.ISID
	if isid == ([6]byte{}) {
		isid = iscsi.DerivedISID(o.Initiator, iscsi.ISIDTool)
	}
	id := fmt.Sprintf("%s|%x|%s:%d|%s", o.Initiator, isid, u.Host, u.Port, u.Target)
	p.mu.Lock()
	defer p.mu.Unlock()
	sh := p.sess[id]
	if sh == nil {
		s, err := dial(ctx, u, o)
		if err != nil {
			return nil, nil, err
		}
		sh = &shared{s: s}
		if p.sess == nil {
			p.sess = map[string]*shared{}
		}
		p.sess[id] = sh
	}
	lu, err := sh.s.LUN(u.LUN)
	if err != nil {
		if sh.refs == 0 {
			delete(p.sess, id)
			_ = sh.s.Close()
		}
		return nil, nil, err
	}
	sh.refs++
	var once sync.Once
	return lu, closerFunc(func() error {
		var err error
		once.Do(func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			if sh.refs--; sh.refs == 0 {
				delete(p.sess, id)
				err = sh.s.Close()
			}
		})
		return err
	}), nil
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }
