package fence

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/agent/hw"
	"github.com/hakit/hakit/blockio"
	"github.com/hakit/hakit/internal/exitcode"
	"github.com/hakit/hakit/internal/version"
)

// Exit codes of the fence-agent API.
const (
	ExitOK    = 0
	ExitError = 1
	ExitOff   = 2 // status: the node is off (fenced)
)

// Backend is what the agent needs from the local hwagent; *agent.Client
// implements it.
type Backend interface {
	// Ping is the cheap liveness call: it touches no device.
	Ping(ctx context.Context) (agent.Ping, error)
	Status(ctx context.Context) (agent.Status, error)
	Disks(ctx context.Context) ([]agent.DiskStatus, error)
	Fence(ctx context.Context, node string) (agent.ActionResult, error)
	Action(ctx context.Context, act agent.Action) (agent.ActionResult, error)
}

// Deps are the agent's dependencies; zero values are the real ones.
type Deps struct {
	// Dial returns the backend for a socket; nil means agent.NewClient.
	Dial func(socket string) Backend
	// LoadConfig reads the hwagent configuration; nil means agent.LoadConfig.
	LoadConfig func(path string) (*agent.Config, error)
	// Direct returns the backend acting on the disks itself, used when the
	// local agent does not answer; nil means no direct path (the agent is
	// required). cmd/fence_hwagent passes hw.NewDirect.
	Direct func(cfg *agent.Config) (Backend, func() error, error)
	// Running reports whether an agent holds the API socket's lock; nil
	// means agent.Running.
	Running func(socket string) (pid string, running bool, err error)
	// OpenSBD opens the SBD device of method=sbd; nil means sbd.Open.
	OpenSBD func(ctx context.Context, device, initiator string) (blockio.SectorCloser, error)
	// Sleep waits d or until ctx ends; nil means a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Logger receives the verbose log; nil writes it to stderr with -v only.
	Logger *slog.Logger
}

// Version is printed by --version.
const Version = "fence_hwagent 0.1 (hakit)"

// Run is fence_hwagent: it reads stdin only when args are empty (as the
// fence-agents library does) and returns the exit code.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, deps Deps) int {
	cmd, err := ParseArgs(args)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return ExitError
	}
	var in map[string]string
	var unknown []string
	if len(args) == 0 && stdin != nil {
		if in, unknown, err = ParseStdin(stdin); err != nil {
			fmt.Fprintln(stderr, err)
			return ExitError
		}
	}
	o, err := Resolve(in, cmd)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return ExitError
	}
	log := deps.Logger
	if log == nil {
		lvl := slog.LevelWarn
		if o.Verbose {
			lvl = slog.LevelDebug
		}
		log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))
	}
	for _, n := range unknown {
		fmt.Fprintf(stderr, "%s: warning: ignoring unknown stdin name %q (see -o metadata)\n", agentName, n)
	}
	switch {
	case o.Help:
		fmt.Fprintf(stdout, "Usage: %s [options]\n", agentName)
		for _, p := range params {
			fmt.Fprintf(stdout, "   %-32s %s\n", getopt(p), p.Desc)
		}
		fmt.Fprintf(stdout, "\nExamples:\n  %[1]s -o status -n node-b -c /etc/hakit/hwagent.yaml\n  %[1]s -o off -n node-b\n  printf 'action=off\\nplug=node-b\\n' | %[1]s    # as Pacemaker calls it\n\n%[2]s", agentName, exitcode.Help("fence_hwagent"))
		return ExitOK
	case o.Version:
		fmt.Fprintln(stdout, Version+", "+version.String("fence_hwagent"))
		return ExitOK
	case o.Action == "metadata":
		if err := WriteMetadata(stdout); err != nil {
			fmt.Fprintln(stderr, err)
			return ExitError
		}
		return ExitOK
	case o.Action == "manpage":
		_ = WriteManpage(stdout)
		return ExitOK
	}
	r := &runner{o: o, out: stdout, errOut: stderr, log: log, deps: deps}
	code, err := r.run(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %s: %v\n", agentName, o.Action, err)
		log.Debug("failed", "action", o.Action, "err", err)
	}
	return code
}

type runner struct {
	o      Options
	out    io.Writer
	errOut io.Writer
	log    *slog.Logger
	deps   Deps
	cfg    *agent.Config
	be     Backend
	// target is the member plug names (zero when no plug was given).
	target agent.Member
	// closers end what run opened (the direct path's sessions).
	closers []func() error
}

func (r *runner) run(ctx context.Context) (int, error) {
	defer func() {
		for _, c := range r.closers {
			_ = c()
		}
	}()
	load := r.deps.LoadConfig
	if load == nil {
		load = agent.LoadConfig
	}
	cfg, err := load(r.o.Config)
	if err != nil {
		return ExitError, err
	}
	r.cfg = cfg
	sock := r.o.Socket
	if sock == "" {
		sock = cfg.API.Socket
	}
	r.log.Debug("configuration loaded", "config", r.o.Config, "node", cfg.Node.Name, "peer", cfg.Peer.Name, "cluster", cfg.Cluster.ID, "socket", sock, "disks", len(cfg.Disks))
	if err := r.checkKey(); err != nil {
		return ExitError, err
	}
	delay, prio := r.fenceDelay()
	if r.o.Action == "off" || r.o.Action == "reboot" || r.o.Action == "validate-all" {
		if err := r.checkDelay(delay, prio); err != nil {
			return ExitError, err
		}
	}
	if r.o.Method == "sbd" && cfg.SBD.Device == "" {
		return ExitError, fmt.Errorf("%w: method=sbd needs sbd.device in %s", ErrUsage, r.o.Config)
	}
	dial := r.deps.Dial
	if dial == nil {
		dial = func(s string) Backend { return agent.NewClient(s) }
	}
	r.be = dial(sock)
	if needsDisks(r.o.Action) && r.o.Method != "sbd" {
		if err := r.reach(ctx, sock); err != nil {
			return ExitError, err
		}
	}
	self := false
	if needsPlug(r.o.Action) || (r.o.Action == "validate-all" && r.o.Plug != "") {
		if r.o.Plug == "" {
			return ExitError, fmt.Errorf("%w: plug (-n) is required: the node to act on (%s)", ErrUsage, r.memberList(" or "))
		}
		var ok bool
		if r.target, ok = cfg.Member(r.o.Plug); !ok && r.o.Action == "validate-all" {
			// Pacemaker's fencer and pcs validate with a placeholder target
			// (node1): validate-all checks the options, not the target.
			fmt.Fprintf(r.errOut, "%s: warning: plug %q is not a node of this %s (%s); the options are valid\n", agentName, r.o.Plug, r.clusterWord(), r.memberList(", "))
			return ExitOK, nil
		} else if !ok {
			return ExitError, fmt.Errorf("plug %q: %w: this %s is %s", r.o.Plug, agent.ErrUnknownNode, r.clusterWord(), r.memberIDs())
		}
		self = r.target.Self
	}
	if r.o.Method == "sbd" && r.o.Action != "validate-all" && r.o.Action != "list" {
		return r.runSBD(ctx, self, delay, prio)
	}
	timeout := time.Duration(r.o.PowerTimeout * float64(time.Second))
	switch r.o.Action {
	case "validate-all":
		return ExitOK, nil
	case "list":
		for _, m := range cfg.Members() {
			fmt.Fprintf(r.out, "%s,\n", m.Name)
		}
		return ExitOK, nil
	case "monitor", "list-status":
		disks, err := r.healthy(ctx, timeout)
		if err != nil {
			return ExitError, err
		}
		if r.o.Action == "list-status" {
			for _, m := range cfg.Members() {
				fmt.Fprintf(r.out, "%s,,%s\n", m.Name, onOff(memberOn(disks, m)))
			}
		}
		return ExitOK, nil
	case "status":
		disks, err := r.healthy(ctx, timeout)
		if err != nil {
			return ExitError, err
		}
		on := memberOn(disks, r.target)
		fmt.Fprintf(r.out, "Status: %s\n", strings.ToUpper(onOff(on)))
		if on {
			return ExitOK, nil
		}
		return ExitOff, nil
	case "on":
		if !self {
			return ExitError, fmt.Errorf("on unfences the node it runs on (on_target): run it on %s, not for it", r.o.Plug)
		}
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		r.log.Debug("unfencing", "node", cfg.Node.Name, "timeout", timeout)
		res, err := r.be.Action(ctx, agent.ActionUnfence)
		if err != nil {
			return ExitError, err
		}
		r.logDisks("read back after unfence", r.only(res.Disks))
		if disks := r.only(res.Disks); len(disks) == 0 || !allOn(disks, true) {
			return ExitError, fmt.Errorf("after unfence this node's key is still missing: %s", describe(disks))
		}
		fmt.Fprintln(r.out, "Success: Powered ON")
		return ExitOK, nil
	case "off", "reboot":
		if self {
			return ExitError, fmt.Errorf("%w: %s is this node", agent.ErrSelfFence, r.o.Plug)
		}
		if len(r.o.Devices) > 0 {
			cctx, cancel := context.WithTimeout(ctx, timeout)
			_, err := r.disks(cctx)
			cancel()
			if err != nil {
				return ExitError, err
			}
		}
		if err := r.waitDelay(ctx, delay, prio); err != nil {
			return ExitError, err
		}
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		r.log.Debug("fencing", "target", r.target.Name, "timeout", timeout)
		res, err := r.be.Fence(ctx, r.target.Name)
		if err != nil {
			return ExitError, err
		}
		disks := r.only(res.Disks)
		r.logDisks("read back after fence", disks)
		if len(disks) == 0 {
			return ExitError, errors.New("no shared disk fenced")
		}
		if err := fencedMember(disks, r.target); err != nil {
			return ExitError, err
		}
		for _, d := range disks {
			if d.FenceFallback != "" {
				// Pacemaker logs a fence agent's stderr.
				fmt.Fprintf(r.errOut, "%s: warning: %s: fenced with %s, without abort: %s\n", agentName, d.Device, d.FenceMethod, d.FenceFallback)
			}
		}
		fmt.Fprintln(r.out, "Success: Powered OFF")
		return ExitOK, nil
	}
	return ExitError, fmt.Errorf("%w: action %q", ErrUsage, r.o.Action)
}

// reach checks that the local hwagent answers its cheap liveness call
// within 2 s. Only when no agent runs at all (the socket's lock is free) and
// the configured socket was used does it switch to the direct path: acting
// on the disks beside a live agent would replace its iSCSI sessions, so a
// slow or wedged agent, or a wrong socket=, is an error.
func (r *runner) reach(ctx context.Context, sock string) error {
	sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	_, err := r.be.Ping(sctx)
	cancel()
	if err == nil {
		r.log.Debug("the local hwagent answers", "socket", sock)
		return nil
	}
	if !errors.Is(err, agent.ErrUnreachable) {
		return err
	}
	if sock != r.cfg.API.Socket {
		return fmt.Errorf("%w; socket=%s is not the configuration's (%s): not acting on the disks directly", err, sock, r.cfg.API.Socket)
	}
	running := r.deps.Running
	if running == nil {
		running = agent.Running
	}
	pid, up, lerr := running(r.cfg.API.Socket)
	switch {
	case lerr != nil:
		return fmt.Errorf("%w; whether an agent runs is unknown (%v): not acting on the disks directly", err, lerr)
	case up:
		return fmt.Errorf("%w; the local hwagent (pid %s) holds %s.lock but did not answer within 2 s: not acting on the disks beside it (that would replace its iSCSI sessions)", err, pid, r.cfg.API.Socket)
	case r.deps.Direct == nil:
		return err
	}
	fmt.Fprintf(r.errOut, "%s: warning: no hwagent runs (%v): acting on the disks directly\n", agentName, err)
	r.log.Info("the local hwagent does not run: acting on the disks directly", "socket", sock, "err", err)
	be, closeDirect, derr := r.deps.Direct(r.cfg)
	if derr != nil {
		return fmt.Errorf("%w; direct: %w", err, derr)
	}
	r.closers = append(r.closers, closeDirect)
	r.be = be
	return nil
}

func (r *runner) sleep(ctx context.Context, d time.Duration) error {
	if r.deps.Sleep != nil {
		return r.deps.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// clusterWord is "pair" for two members, "cluster" otherwise.
func (r *runner) clusterWord() string {
	if len(r.cfg.Members()) == 2 {
		return "pair"
	}
	return "cluster"
}

// memberList joins the members' names with sep.
func (r *runner) memberList(sep string) string {
	return strings.Join(r.cfg.MemberNames(), sep)
}

// memberIDs names each member with its id: "a (id 1) and b (id 2)".
func (r *runner) memberIDs() string {
	var parts []string
	for _, m := range r.cfg.Members() {
		parts = append(parts, fmt.Sprintf("%s (id %d)", m.Name, m.ID))
	}
	if len(parts) == 2 {
		return parts[0] + " and " + parts[1]
	}
	return strings.Join(parts, ", ")
}

// fenceDelay is the wait before off: delay= plus priority x
// fence.delay_step_ms, the priority from priority= or the configuration.
func (r *runner) fenceDelay() (time.Duration, int) {
	prio := r.o.Priority
	if prio < 0 {
		prio = r.cfg.Fence.Priority
	}
	d := time.Duration(r.o.Delay*float64(time.Second)) + time.Duration(prio*r.cfg.Fence.DelayStepMS)*time.Millisecond
	return d, prio
}

// waitDelay waits the fence delay, unless the local agent's disk
// heartbeat says the victim is dead on the disk path: a node whose status
// block stood still is not racing to fence this one (it writes nothing,
// so it cannot preempt either), and waiting for it only keeps its
// services down longer. The fence itself is never skipped: a frozen node
// looks the same and may wake. An agent that does not answer, or a state
// other than dead, keeps the delay.
func (r *runner) waitDelay(ctx context.Context, delay time.Duration, prio int) error {
	if delay <= 0 {
		return nil
	}
	sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	st, err := r.be.Status(sctx)
	cancel()
	if err == nil {
		if p, ok := st.DiskPeer(r.target.Name); ok && p.State == agent.PeerDead {
			since := ""
			if p.Changed != nil {
				since = " since " + p.Changed.UTC().Format(time.RFC3339Nano)
			}
			// Pacemaker logs a fence agent's stderr.
			fmt.Fprintf(r.errOut, "%s: fence delay %v skipped: %s is dead on the disk path (its status block on %s stood still%s)\n", agentName, delay, r.target.Name, st.DiskHeartbeat.Device, since)
			return nil
		}
	} else {
		r.log.Debug("disk heartbeat not read; keeping the fence delay", "err", err)
	}
	r.log.Debug("fence delay", "delay", delay, "priority", prio)
	if err := r.sleep(ctx, delay); err != nil {
		return fmt.Errorf("fence delay: %w", err)
	}
	return nil
}

// checkDelay refuses a fence delay that, with power_timeout, does not fit
// in the fencer's timeout: Pacemaker would kill the agent mid-delay and
// count the fence as failed, without saying why.
func (r *runner) checkDelay(delay time.Duration, prio int) error {
	power := time.Duration(r.o.PowerTimeout * float64(time.Second))
	limit := time.Duration(r.o.StonithTimeout * float64(time.Second))
	if delay+power <= limit {
		return nil
	}
	return fmt.Errorf("%w: the fence delay %v (delay=%gs + priority %d x fence.delay_step_ms %d) and power_timeout %v add up to %v, more than stonith_timeout %v: the fencer would time off out. Lower fence.priority or fence.delay_step_ms in %s, or raise the cluster's stonith-timeout and set stonith_timeout= to match, or leave the race to Pacemaker (pcmk_delay_base, priority-fencing-delay) with fence.delay_step_ms: 0",
		ErrUsage, delay, r.o.Delay, prio, r.cfg.Fence.DelayStepMS, power, delay+power, limit, r.o.Config)
}

// checkKey refuses a key= that is not this node's key: fence_scsi's key is
// the key of the node running the agent; hwagent derives it from cluster.id
// and node.id, so a different one names another node or cluster.
func (r *runner) checkKey() error {
	if r.o.Key == "" {
		return nil
	}
	own, _, err := hw.Keys(r.cfg)
	if err != nil {
		return err
	}
	k, _ := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(r.o.Key), "0x"), 16, 64)
	if k != uint64(own) {
		return fmt.Errorf("%w: key=%s is not this node's key %#x (hwagent derives it from cluster.id %d and node.id %d of %s): leave key= unset, or fix the configuration", ErrUsage, r.o.Key, uint64(own), r.cfg.Cluster.ID, r.cfg.Node.ID, r.o.Config)
	}
	r.log.Debug("key= matches this node's key", "key", fmt.Sprintf("%#x", uint64(own)))
	return nil
}

// logDisks logs each disk's read-back state (verbose).
func (r *runner) logDisks(msg string, disks []agent.DiskStatus) {
	for _, d := range disks {
		r.log.Debug(msg, "device", d.Device, "keys", d.Keys, "holder", d.Holder, "own_registered", d.Registered, "peer_registered", d.PeerRegistered, "method", d.FenceMethod, "error", d.Error)
	}
}

// disks reads the disks now and keeps those named by --devices, which must
// all be managed by the agent.
func (r *runner) disks(ctx context.Context) ([]agent.DiskStatus, error) {
	all, err := r.be.Disks(ctx)
	if err != nil {
		return nil, err
	}
	for _, want := range r.o.Devices {
		if !slices.ContainsFunc(all, func(d agent.DiskStatus) bool { return d.Device == want }) {
			var have []string
			for _, d := range all {
				have = append(have, d.Device)
			}
			return nil, fmt.Errorf("device %q is not managed by the local hwagent (it has %v)", want, have)
		}
	}
	if d := r.only(all); len(d) > 0 {
		return d, nil
	}
	return nil, errors.New("the local hwagent manages no shared disk")
}

// healthy reads the disks and fails when any of them could not be read:
// unknown is not off.
func (r *runner) healthy(ctx context.Context, timeout time.Duration) ([]agent.DiskStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	disks, err := r.disks(ctx)
	if err != nil {
		return nil, err
	}
	r.logDisks("read", disks)
	for _, d := range disks {
		if d.Error != "" {
			return nil, fmt.Errorf("%s: %s", d.Device, d.Error)
		}
	}
	return disks, nil
}

func (r *runner) only(all []agent.DiskStatus) []agent.DiskStatus {
	if len(r.o.Devices) == 0 {
		return all
	}
	var out []agent.DiskStatus
	for _, d := range all {
		if slices.Contains(r.o.Devices, d.Device) {
			out = append(out, d)
		}
	}
	return out
}

// fenced verifies the disks read back after off, as fence_scsi does: the
// victim's key is gone, and a reservation still exists so the
// unregistered victim cannot write; this node's key is still registered
// (else the victim fenced it first). A disk that could not be read is a
// failure.
func fencedMember(disks []agent.DiskStatus, victim agent.Member) error {
	for _, d := range disks {
		key, on := memberKey(d, victim)
		switch {
		case d.Error != "":
			return fmt.Errorf("verification failed: %s: %s", d.Device, d.Error)
		case on:
			return fmt.Errorf("verification failed: %s's key %s is still registered: %s", victim.Name, key, describe(disks))
		case !d.Registered:
			return fmt.Errorf("verification failed: this node's key %s is gone from %s (fenced by the peer?): %s", d.OwnKey, d.Device, describe(disks))
		case d.Holder == "":
			return fmt.Errorf("verification failed: no reservation on %s: the peer can still write: %s", d.Device, describe(disks))
		}
	}
	return nil
}

// fenced is fencedMember for a pair's peer.
func fenced(disks []agent.DiskStatus) error {
	return fencedMember(disks, agent.Member{Name: "the peer"})
}

// memberKey is member m's key on disk d and whether it is registered: from
// the disk's member list, or for a pair (a disk that lists no members)
// the peer's.
func memberKey(d agent.DiskStatus, m agent.Member) (string, bool) {
	if m.Self {
		return d.OwnKey, d.Registered
	}
	for _, k := range d.Members {
		if k.ID == m.ID {
			return k.Key, k.Registered
		}
	}
	return d.PeerKey, d.PeerRegistered
}

// memberOn: member m's key is on every disk (allOn's rule per member).
func memberOn(disks []agent.DiskStatus, m agent.Member) bool {
	if m.Self || len(disks) == 0 {
		return allOn(disks, m.Self)
	}
	for _, d := range disks {
		if d.Mode == agent.ModeSCSI2 {
			if d.Owner {
				return false
			}
			continue
		}
		if _, on := memberKey(d, m); !on {
			return false
		}
	}
	return true
}

// allOn: the node's key is on every disk (fence_scsi's rule). A scsi2
// disk has no keys: this node is on when the disk reads without error (it
// may acquire again; an unfence has nothing to put back), and the peer is
// on unless this node holds the reservation (an unreserved SCSI-2 unit
// takes anyone's writes).
func allOn(disks []agent.DiskStatus, self bool) bool {
	if len(disks) == 0 {
		return false
	}
	for _, d := range disks {
		scsi2 := d.Mode == agent.ModeSCSI2
		switch {
		case self && scsi2 && d.Error != "":
			return false
		case self && !scsi2 && !d.Registered:
			return false
		case !self && scsi2 && d.Owner:
			return false
		case !self && !scsi2 && !d.PeerRegistered:
			return false
		}
	}
	return true
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

func describe(disks []agent.DiskStatus) string {
	var parts []string
	for _, d := range disks {
		s := fmt.Sprintf("%s keys %v", d.Device, d.Keys)
		if d.Error != "" {
			s = d.Device + ": " + d.Error
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}
