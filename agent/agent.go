package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/user"
	"strconv"
	"sync"
	"time"

	"github.com/hakit/hakit/scsi"
)

// Deps are the parts an Agent drives. Nil components are "not configured".
type Deps struct {
	Heartbeat Component[HeartbeatStatus]
	NICs      Component[NICStatus]
	RAID      Component[*RAIDStatus]
	Disks     []Disk
	// Mailbox is this node's SBD slot; nil when sbd.device is empty.
	Mailbox Mailbox
	// Logger receives the agent's log; nil discards.
	Logger *slog.Logger
	// Notifier reports readiness and watchdog pings to systemd; nil means
	// NotifierFromEnv.
	Notifier *Notifier
	// Watchdog is the hardware watchdog for self_fence.action watchdog;
	// nil means open the configured device at start.
	Watchdog Watchdog
	// SocketMode is the API socket's file mode; 0 means 0660. The
	// SO_PEERCRED check applies whatever the mode.
	SocketMode os.FileMode
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Limits bound the API and metrics clients; zero fields take their
	// defaults.
	Limits Limits
}

// ErrSelfFenced ends Run when self_fence.action is exit.
var ErrSelfFenced = errors.New("self-fence: this node's key is gone from a shared disk it held")

// Agent is one node's hwagent. Run it once; its API handlers are safe for
// concurrent use. Disk actions are serialised (one at a time, the guard
// sees every result).
type Agent struct {
	cfg     *Config
	deps    Deps
	log     *slog.Logger
	hub     *Hub
	access  Access
	started time.Time
	limits  Limits
	streams *slots // open event streams

	mu    sync.Mutex // guards guard, disks (last statuses), sbd
	guard *Guard
	last  map[string]DiskStatus
	sbd   sbdHealth  // the SBD device's last read
	act   sync.Mutex // serialises disk actions and watcher rounds

	selfFenced chan struct{}
	fenceOnce  sync.Once
	wd         Watchdog

	beat *diskBeat // the disk heartbeat's last round
	hand *handover // handover requests and answers on the disk heartbeat

	state    StateFile // the self-fence latch across restarts
	startLat *Latch    // the latch found at start, if any
}

// New checks the configuration against the system (the API group exists)
// and returns an agent that has touched nothing yet.
func New(cfg *Config, deps Deps) (*Agent, error) {
	if cfg == nil {
		return nil, errors.New("hwagent: nil config")
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.SocketMode == 0 {
		deps.SocketMode = 0o660
	}
	a := &Agent{cfg: cfg, deps: deps, log: deps.Logger, hub: NewHub(512, deps.Now), guard: NewGuard(), last: map[string]DiskStatus{}, selfFenced: make(chan struct{}), beat: &diskBeat{},
		// Request numbers from the clock: a restarted agent's requests
		// are newer than those its peers answered before.
		hand: &handover{seq: uint64(deps.Now().UnixNano()), busy: map[scsi.Key]bool{}, done: map[scsi.Key]uint64{}}}
	a.limits = deps.Limits.withDefaults(fdBudget())
	a.streams = newSlots(a.limits.MaxStreams, 0, a.limits.MaxStreams/4)
	if cfg.StateDir != "" {
		a.state = SelfFenceState(cfg.StateDir)
	}
	l, ok, err := a.state.Load()
	if err != nil {
		return nil, fmt.Errorf("self-fence latch: %w", err)
	}
	if ok {
		// Fenced before this start: stay fenced until a verified unfence.
		a.guard.Latch()
		a.startLat = &l
	}
	if cfg.API.Group != "" {
		g, err := user.LookupGroup(cfg.API.Group)
		if err != nil {
			return nil, &ConfigError{Field: "api.group", Msg: fmt.Sprintf("%q: %v", cfg.API.Group, err), Err: err}
		}
		gid, _ := strconv.ParseUint(g.Gid, 10, 32)
		a.access = Access{GID: uint32(gid), HasGroup: true, Group: cfg.API.Group}
	}
	return a, nil
}

// Hub is the agent's event hub.
func (a *Agent) Hub() *Hub { return a.hub }

// emit logs and publishes an event.
func (a *Agent) emit(e Event) {
	e = a.hub.Emit(e)
	a.log.Info("event", "seq", e.Seq, "source", e.Source, "kind", e.Kind, "msg", e.Msg)
}

// Run takes the socket lock, listens, starts every component and the disk
// watcher, reports READY to systemd and serves until ctx ends. A second
// agent on the same socket fails with ErrAgentRunning before starting
// anything. On return every goroutine has ended, the socket is removed and
// no disk was released: registrations and reservations stay as they were.
func (a *Agent) Run(ctx context.Context) (err error) {
	lock, err := lockSocket(a.cfg.API.Socket)
	if err != nil {
		return err
	}
	defer lock.Close()
	ln, err := listenSocket(a.cfg.API.Socket, a.access, a.deps.SocketMode)
	if err != nil {
		return err
	}
	defer ln.Close()
	ln = &limitListener{Listener: ln, slots: newSlots(a.limits.MaxConns, a.limits.PerUID, a.limits.RootReserved), cred: peerCred, name: "api socket", log: a.log}
	var mln net.Listener
	if a.cfg.Metrics.Listen != "" {
		if mln, err = net.Listen("tcp", a.cfg.Metrics.Listen); err != nil {
			return fmt.Errorf("metrics listener: %w", err)
		}
		defer mln.Close()
		mln = &limitListener{Listener: mln, slots: newSlots(a.limits.MetricsConns, 0, 0), name: "metrics listener", log: a.log}
	}
	if a.cfg.SelfFence.Action == "watchdog" {
		// A node latched fenced at start does not arm the watchdog: it
		// would reset the machine again and again before an unfence could
		// come. keepalive arms it after a verified unfence.
		if !a.guardFenced() {
			if err := a.armWatchdog(); err != nil {
				return err
			}
		}
		// A clean stop disarms it; a self-fence never gets here with it
		// armed, because the watchdog is left to expire.
		defer func() {
			if a.wd != nil && !a.guardFenced() {
				if cerr := a.wd.Disarm(); cerr != nil {
					a.log.Warn("watchdog disarm", "err", cerr)
				}
			}
		}()
	}
	a.started = a.deps.Now()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	start := func(name string, fn func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(ctx); err != nil && ctx.Err() == nil {
				errc <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	srv := newServer(a.Handler(), a.limits, a.log)
	srv.ConnContext = connContext
	start("api", func(context.Context) error { return serve(srv, ln) })
	var msrv *http.Server
	if mln != nil {
		msrv = newServer(a.MetricsHandler(), a.limits, a.log)
		start("metrics", func(context.Context) error { return serve(msrv, mln) })
	}
	for name, c := range map[string]Runner{"heartbeat": a.deps.Heartbeat, "nic": a.deps.NICs, "raid": a.deps.RAID} {
		if c != nil {
			start(name, func(ctx context.Context) error { return c.Run(ctx, a.emit) })
		}
	}
	for _, d := range a.deps.Disks {
		start("disk "+d.Device(), func(ctx context.Context) error { return a.watchDisk(ctx, d) })
	}
	if mb := a.deps.Mailbox; mb != nil {
		start("sbd", func(ctx context.Context) error { return a.watchMailbox(ctx, mb) })
		if a.cfg.SBD.HeartbeatMS > 0 {
			start("disk heartbeat", func(ctx context.Context) error { return a.watchDiskBeat(ctx, mb) })
		}
	}
	n := a.deps.Notifier
	if n == nil {
		n = NotifierFromEnv()
	}
	start("notify", func(ctx context.Context) error { return a.keepalive(ctx, n) })
	a.emit(Event{Source: "agent", Kind: "started", Msg: fmt.Sprintf("hwagent %s (node %d) serving %s", a.cfg.Node.Name, a.cfg.Node.ID, a.cfg.API.Socket)})
	if l := a.startLat; l != nil {
		a.emit(Event{Source: "guard", Kind: "fenced", Msg: fmt.Sprintf("fenced since %s (latched in %s: %s): claiming nothing until a verified unfence", l.Since.Format(time.RFC3339), a.state.Path, l.Reason), Data: map[string]any{"latched": true, "since": l.Since, "action": a.cfg.SelfFence.Action}})
	}

	select {
	case <-ctx.Done():
	case err = <-errc:
	case <-a.selfFenced:
		if a.cfg.SelfFence.Action == "exit" {
			err = ErrSelfFenced
		} else {
			<-ctx.Done()
		}
	}
	_ = n.Notify("STOPPING=1")
	cancel()
	sctx, scancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer scancel()
	_ = srv.Shutdown(sctx)
	if msrv != nil {
		_ = msrv.Shutdown(sctx)
	}
	wg.Wait()
	a.log.Info("hwagent stopped", "err", err)
	return err
}

func serve(s *http.Server, l net.Listener) error {
	if err := s.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// keepalive sends READY=1 and then pets the systemd watchdog and the
// hardware watchdog until ctx ends. A self-fenced node stops petting the
// hardware watchdog, so it resets the machine.
func (a *Agent) keepalive(ctx context.Context, n *Notifier) error {
	if err := n.Notify("READY=1\nSTATUS=serving " + a.cfg.API.Socket); err != nil {
		a.log.Warn("sd_notify READY", "err", err)
	}
	period := n.WatchdogPeriod()
	if a.cfg.SelfFence.Action == "watchdog" {
		wt := time.Duration(a.cfg.SelfFence.WatchdogTimeoutS) * time.Second
		if a.wd != nil {
			wt = a.wd.Timeout()
		}
		if period == 0 || period > wt/3 {
			period = wt / 3
		}
	}
	if period <= 0 {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if n.WatchdogPeriod() > 0 {
			_ = n.Notify("WATCHDOG=1")
		}
		if a.cfg.SelfFence.Action == "watchdog" && !a.guardFenced() {
			if a.wd == nil {
				// Unfenced after a start latched fenced: arm now.
				if err := a.armWatchdog(); err != nil {
					a.log.Error("self-fence watchdog not armed", "err", err)
					continue
				}
			}
			if err := a.wd.Pet(); err != nil {
				a.log.Warn("watchdog pet", "err", err)
			}
		}
	}
}

// armWatchdog opens the self-fence watchdog (the injected one in tests).
func (a *Agent) armWatchdog() error {
	if a.deps.Watchdog != nil {
		a.wd = a.deps.Watchdog
		return nil
	}
	wd, err := OpenWatchdog(a.cfg.SelfFence.WatchdogDevice, time.Duration(a.cfg.SelfFence.WatchdogTimeoutS)*time.Second)
	if err != nil {
		return fmt.Errorf("self-fence watchdog: %w", err)
	}
	a.wd = wd
	return nil
}

func (a *Agent) guardFenced() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.guard.Fenced()
}

// diskTimeout bounds one disk call of the watcher.
func (a *Agent) diskTimeout() time.Duration {
	return max(2*time.Duration(a.cfg.Timers.DiskStatusMS)*time.Millisecond, 2*time.Second)
}

// watchDisk reads the PR generation once per period and the full status
// only when it changed (or the last read failed): one small PR IN per
// period, no busy loop.
func (a *Agent) watchDisk(ctx context.Context, d Disk) error {
	period := time.Duration(a.cfg.Timers.DiskStatusMS) * time.Millisecond
	var gen uint32
	stale := true
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		// Under the action lock: an action and its read-back are never
		// interleaved with a watcher round, so the guard judges each state
		// in order.
		a.act.Lock()
		if !stale {
			cctx, cancel := context.WithTimeout(ctx, a.diskTimeout())
			g, err := d.Generation(cctx)
			cancel()
			stale = err != nil || g != gen
		}
		if stale {
			s := a.refresh(ctx, d)
			stale, gen = s.Error != "", s.Generation
			if s.Error == "" && s.Lockout && s.PeerRegistered {
				a.releaseLockout(ctx, d)
				stale = true
			}
		}
		a.act.Unlock()
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// releaseLockout releases a reservation kept for lockout now that the
// peer's key is registered again (its unfence): nothing claims it.
func (a *Agent) releaseLockout(ctx context.Context, d Disk) {
	cctx, cancel := context.WithTimeout(ctx, 2*a.diskTimeout())
	err := d.Release(cctx)
	cancel()
	if err != nil {
		a.emit(Event{Source: "disk", Kind: "release-failed", Msg: fmt.Sprintf("%s: the reservation kept for lockout could not be released: %v", d.Device(), err), Data: map[string]any{"device": d.Device()}})
		return
	}
	a.emit(Event{Source: "disk", Kind: "release", Msg: d.Device() + ": the peer is registered again: the reservation kept for lockout is released", Data: map[string]any{"device": d.Device()}})
}

// refresh reads one disk's status and lets the guard judge it.
func (a *Agent) refresh(ctx context.Context, d Disk) DiskStatus {
	cctx, cancel := context.WithTimeout(ctx, a.diskTimeout())
	defer cancel()
	s, err := d.Status(cctx)
	s.Device = d.Device()
	if err != nil {
		s.Error = err.Error()
	}
	s.AsOf = a.deps.Now()
	a.observe(s)
	return s
}

// observe records a status and acts on the guard's verdict.
func (a *Agent) observe(s DiskStatus) {
	a.mu.Lock()
	prev, had := a.last[s.Device]
	a.last[s.Device] = s
	v := a.guard.Observe(s)
	a.mu.Unlock()
	if had && prev.Error == "" && s.Error != "" {
		a.emit(Event{Source: "disk", Kind: "unreachable", Msg: s.Device + ": " + s.Error, Data: map[string]any{"device": s.Device}})
	}
	if had && prev.Generation != s.Generation && s.Error == "" {
		a.emit(Event{Source: "disk", Kind: "changed", Msg: fmt.Sprintf("%s: PR generation %d -> %d, keys %v, holder %q", s.Device, prev.Generation, s.Generation, s.Keys, s.Holder), Data: map[string]any{"device": s.Device, "generation": s.Generation, "keys": s.Keys, "holder": s.Holder}})
	}
	switch v {
	case Claimed:
		a.emit(Event{Source: "guard", Kind: "claimed", Msg: s.Device + ": this node's key " + s.OwnKey + " is registered", Data: map[string]any{"device": s.Device}})
	case SelfFenced:
		a.selfFence(s)
	}
}

func (a *Agent) selfFence(s DiskStatus) {
	// Persist first: a restart (exit, a crash, the unit restarting) must
	// come up fenced.
	reason := fmt.Sprintf("this node's key %s is gone from %s", s.OwnKey, s.Device)
	if s.Latched != "" {
		reason = fmt.Sprintf("%s: %s", s.Device, s.Latched)
	}
	if err := a.state.Store(Latch{Reason: reason, Since: a.deps.Now().UTC(), Device: s.Device}); err != nil {
		a.log.Error("self-fence latch not persisted: a restart would come up unfenced", "path", a.state.Path, "err", err)
	}
	msg := fmt.Sprintf("%s: this node's key %s is gone: fenced by the peer; claiming nothing (action %s)", s.Device, s.OwnKey, a.cfg.SelfFence.Action)
	if s.OwnKey == "" && s.Latched != "" {
		msg = fmt.Sprintf("%s: %s; claiming nothing (action %s)", s.Device, s.Latched, a.cfg.SelfFence.Action)
	}
	a.emit(Event{Source: "guard", Kind: "fenced", Msg: msg, Data: map[string]any{"device": s.Device, "action": a.cfg.SelfFence.Action}})
	switch a.cfg.SelfFence.Action {
	case "none":
	case "watchdog":
		if a.wd == nil {
			// Not armed (fence_hwagent's direct path runs no agent): the
			// latch stored above keeps the next agent start fenced.
			a.log.Error("self-fence: no watchdog armed in this process; the latch keeps the node fenced", "device", s.Device, "latch", a.state.Path)
			break
		}
		a.log.Error("self-fence: watchdog petting stopped; the machine resets when it expires", "device", s.Device, "timeout", a.wd.Timeout())
	case "exit":
		a.fenceOnce.Do(func() { close(a.selfFenced) })
	}
}

// clearLatch removes the persisted self-fence latch after a verified
// unfence.
func (a *Agent) clearLatch() error {
	return a.state.Store(Latch{})
}
