package hw

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/hakit/hakit/agent"
)

// Direct acts on the shared disks without an agent: the fence agent's path
// when the local hwagent is not running. It logs in with the node's own
// initiator name and ISID, so it is the same I_T nexus as the agent (never
// use it while the agent runs: the login would replace the agent's
// session). Its actions go through agent.Agent.Do, as the API's do: the
// same target checks, the self-fence guard (a latch persisted in
// state_dir refuses register and acquire) and the unfence read-back. It
// offers the methods of agent.Client that the fence agent uses. Close
// ends the sessions.
type Direct struct {
	cfg   *agent.Config
	a     *agent.Agent
	close func() error
}

// ErrDirectSCSI2: the direct path refuses scsi2 disks.
var ErrDirectSCSI2 = errors.New("no direct path for scsi2 disks")

// NewDirect prepares the disks of cfg; nothing is opened until first use.
// It refuses a configuration with a scsi2 disk (ErrDirectSCSI2): a
// challenge won by this short-lived process would leave a reservation
// that nobody renews.
func NewDirect(cfg *agent.Config, log *slog.Logger) (*Direct, error) {
	return NewDirectWith(cfg, log, Options{})
}

// NewDirectWith is NewDirect with o.
func NewDirectWith(cfg *agent.Config, log *slog.Logger, o Options) (*Direct, error) {
	for i, dc := range cfg.Disks {
		if dc.Mode == agent.ModeSCSI2 {
			return nil, fmt.Errorf("%w: disks[%d] (%s) is a scsi2 disk: its reservation must be renewed by a running hwagent, and nothing would defend it after this process exits; start hwagent", ErrDirectSCSI2, i, dc.Device)
		}
	}
	deps, closeAll, err := buildDisks(cfg, log, o)
	if err != nil {
		return nil, err
	}
	return NewDirectDeps(cfg, deps, closeAll)
}

// NewDirectDeps is NewDirect over disks already made (tests pass
// doubles); closeAll ends them.
func NewDirectDeps(cfg *agent.Config, deps agent.Deps, closeAll func() error) (*Direct, error) {
	a, err := agent.New(cfg, deps)
	if err != nil {
		if closeAll != nil {
			_ = closeAll()
		}
		return nil, err
	}
	if closeAll == nil {
		closeAll = func() error { return nil }
	}
	return &Direct{cfg: cfg, a: a, close: closeAll}, nil
}

// Close ends the sessions.
func (d *Direct) Close() error { return d.close() }

// Ping answers for this process (no agent runs).
func (d *Direct) Ping(context.Context) (agent.Ping, error) {
	return agent.Ping{Node: d.cfg.Node.Name, PID: os.Getpid()}, nil
}

// Status reports the node names (no agent runs) and each member's keys as
// the disks read now.
func (d *Direct) Status(ctx context.Context) (agent.Status, error) {
	disks := d.a.ReadDisks(ctx)
	return agent.Status{Node: d.cfg.Node.Name, NodeID: d.cfg.Node.ID, Peer: d.cfg.Peer.Name, PeerID: d.cfg.Peer.ID, Cluster: d.cfg.Cluster.ID, PID: os.Getpid(), Disks: disks, Members: agent.MemberStatuses(d.cfg.Members(), disks, false, nil)}, nil
}

// Disks reads every disk now.
func (d *Direct) Disks(ctx context.Context) ([]agent.DiskStatus, error) {
	return d.a.ReadDisks(ctx), nil
}

// Fence removes the key of node (a member other than this node) from
// every disk.
func (d *Direct) Fence(ctx context.Context, node string) (agent.ActionResult, error) {
	return d.a.Do(ctx, agent.ActionFence, node)
}

// Action runs register, acquire, release or unfence for this node on
// every disk and reads each back.
func (d *Direct) Action(ctx context.Context, act agent.Action) (agent.ActionResult, error) {
	return d.a.Do(ctx, act, "")
}

// Hub is the event hub of the direct path's actions.
func (d *Direct) Hub() *agent.Hub { return d.a.Hub() }
