package hw

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/hakit/hakit/agent"
)

// Direct acts on the shared disks without an agent: the fence agent's path
// when the local hwagent is not running. It logs in with the node's own
// initiator name and ISID, so it is the same I_T nexus as the agent (never
// use it while the agent runs: the login would replace the agent's
// session). It offers the methods of agent.Client that the fence agent
// uses. Close ends the sessions.
type Direct struct {
	cfg   *agent.Config
	disks []agent.Disk
	close func() error
}

// ErrDirectSCSI2: the direct path refuses scsi2 disks.
var ErrDirectSCSI2 = errors.New("no direct path for scsi2 disks")

// NewDirect prepares the disks of cfg; nothing is opened until first use.
// It refuses a configuration with a scsi2 disk (ErrDirectSCSI2): a
// challenge won by this short-lived process would leave a reservation
// that nobody renews.
func NewDirect(cfg *agent.Config, log *slog.Logger) (*Direct, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	own, peer, err := Keys(cfg)
	if err != nil {
		return nil, err
	}
	d := &Direct{cfg: cfg}
	var ds []*Disk
	pool := NewSessions(log)
	pool.Keepalive = time.Duration(max(cfg.Timers.ISCSIKeepaliveMS, 0)) * time.Millisecond
	for i, dc := range cfg.Disks {
		if dc.Mode == agent.ModeSCSI2 {
			return nil, fmt.Errorf("%w: disks[%d] (%s) is a scsi2 disk: its reservation must be renewed by a running hwagent, and nothing would defend it after this process exits; start hwagent", ErrDirectSCSI2, i, dc.Device)
		}
		disk, err := NewDisk(dc, own, peer, cfg.StateDir, log)
		if err != nil {
			return nil, err
		}
		disk.pool = pool
		ds = append(ds, disk)
		d.disks = append(d.disks, disk)
	}
	d.close = func() error {
		var errs []error
		for _, x := range ds {
			errs = append(errs, x.Close())
		}
		return errors.Join(errs...)
	}
	return d, nil
}

// Close ends the sessions.
func (d *Direct) Close() error { return d.close() }

// Ping answers for this process (no agent runs).
func (d *Direct) Ping(context.Context) (agent.Ping, error) {
	return agent.Ping{Node: d.cfg.Node.Name, PID: os.Getpid()}, nil
}

// Status reports the node names (no agent runs).
func (d *Direct) Status(context.Context) (agent.Status, error) {
	return agent.Status{Node: d.cfg.Node.Name, NodeID: d.cfg.Node.ID, Peer: d.cfg.Peer.Name, PeerID: d.cfg.Peer.ID, Cluster: d.cfg.Cluster.ID, PID: os.Getpid()}, nil
}

// Disks reads every disk now.
func (d *Direct) Disks(ctx context.Context) ([]agent.DiskStatus, error) {
	out := make([]agent.DiskStatus, 0, len(d.disks))
	for _, disk := range d.disks {
		s, err := disk.Status(ctx)
		s.Device, s.AsOf = disk.Device(), time.Now()
		if err != nil {
			s.Error = err.Error()
		}
		out = append(out, s)
	}
	return out, nil
}

// Fence removes the peer's key from every disk; node must be the peer.
func (d *Direct) Fence(ctx context.Context, node string) (agent.ActionResult, error) {
	if node != d.cfg.Peer.Name {
		return agent.ActionResult{}, fmt.Errorf("%w %q: the peer is %s", agent.ErrUnknownNode, node, d.cfg.Peer.Name)
	}
	return d.Action(ctx, "fence")
}

// Action runs register, acquire, release, unfence or fence on every disk
// and reads each back.
func (d *Direct) Action(ctx context.Context, name string) (agent.ActionResult, error) {
	res := agent.ActionResult{Action: name}
	var errs []error
	for _, disk := range d.disks {
		var err error
		switch name {
		case "register":
			err = disk.Register(ctx)
		case "acquire":
			err = disk.Acquire(ctx)
		case "release":
			err = disk.Release(ctx)
		case "unfence":
			err = disk.Unfence(ctx)
		case "fence":
			err = disk.Fence(ctx)
		default:
			return res, fmt.Errorf("unknown action %q", name)
		}
		if err != nil {
			errs = append(errs, agent.DeviceErr(disk.Device(), err))
		}
	}
	res.Disks, _ = d.Disks(ctx)
	if err := errors.Join(errs...); err != nil {
		res.Error = err.Error()
		return res, err
	}
	return res, nil
}
