package serialhb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"
)

// Config configures a Runner.
type Config struct {
	// Path is the serial port device, e.g. /dev/ttyS0.
	Path string
	Port PortConfig
	// Link configures the heartbeat; Link.Incarnation 0 means the start
	// time in Unix nanoseconds (it grows across restarts).
	Link LinkConfig
	// Open opens the port; nil means Open (go.bug.st/serial).
	Open func(ctx context.Context, path string, cfg PortConfig) (Port, error)
	// ReopenMin and ReopenMax bound the exponential backoff between attempts
	// to reopen a port that failed (a USB adapter unplugged); 0 means 50 ms
	// and 2 s.
	ReopenMin, ReopenMax time.Duration
	// WriteTimeout bounds one write of frames; 0 means the keepalive
	// interval. A write that times out is counted, not a port failure.
	WriteTimeout time.Duration
	// Realtime, when 1 to 99, runs every thread of the process with the
	// real-time round-robin policy at that priority while the runner runs
	// (as Heartbeat's `realtime on`), so that keepalives and the deadtime
	// check keep their pace on a loaded machine; programs the process
	// starts run at normal priority. Without the capability (root or
	// CAP_SYS_NICE) the runner logs a warning and runs at normal priority;
	// Status().Realtime says which. 0 is off.
	Realtime int
	// KworkerNice, when -20 to -1, sets the kernel's unbound workqueue
	// workers at nice 0 to that nice value while the runner runs (checked
	// every 200 ms, as the kernel starts and ends them), and puts those it
	// changed back to 0 when it stops. Received bytes reach the reader
	// through them: a serial driver (or a pty) pushes its flip buffer to
	// the line discipline as work on that queue (flush_to_ldisc), and at
	// nice 0 on a loaded machine that work waited up to 143 ms in a
	// measured minute, which no priority of the heartbeat's own threads
	// can shorten. The workers run other unbound work too (writeback,
	// among others): a negative nice gives them a larger share against the
	// busy processes, it does not starve them as a real-time policy would.
	// It needs root or CAP_SYS_NICE; Status().KworkerErr says why it was
	// refused. 0 is off.
	KworkerNice int
	// Clock is the runner's time source (see Clock); nil means the
	// system clock.
	Clock Clock
	// Logger receives the runner's log; nil discards.
	Logger *slog.Logger
}

// Status is a snapshot of a runner.
type Status struct {
	LinkStatus
	Path     string `json:"path"`
	PortOpen bool   `json:"port_open"`
	PortErr  string `json:"port_err,omitempty"` // the last port failure
	Reopens  uint64 `json:"reopens"`            // successful reopens after a failure
	// WriteTimeouts counts writes that did not finish within WriteTimeout
	// (Heartbeat's "TTY write timeout"); the port is kept.
	WriteTimeouts uint64     `json:"write_timeouts"`
	Modem         ModemLines `json:"modem"`
	Cable         Cable      `json:"cable"`
	// DroppedEvents counts events not delivered to a slow subscriber.
	DroppedEvents uint64 `json:"dropped_events"`
	// Realtime is the real-time priority the loop runs at, 0 when it
	// runs at normal priority (off, or refused: see RealtimeErr).
	Realtime    int    `json:"realtime"`
	RealtimeErr string `json:"realtime_err,omitempty"`
	// KworkerNice is the nice value given to the unbound kworkers, 0 when
	// off or refused (see KworkerErr).
	KworkerNice int    `json:"kworker_nice,omitempty"`
	KworkerErr  string `json:"kworker_err,omitempty"`
}

// Runner ties one port to one peer: it owns the port, the Link and the
// goroutines that drive them, and reopens the port with backoff when it
// fails. Its methods are safe for concurrent use.
type Runner struct {
	cfg   Config
	log   *slog.Logger
	clock Clock
	open  func(ctx context.Context, path string, cfg PortConfig) (Port, error)

	mu      sync.Mutex
	status  Status
	subs    map[int]chan Event
	nextSub int
	pongs   chan Pong
	started bool
	cancel  context.CancelFunc
	done    chan struct{}

	cmds chan func(*loopState)

	rtPrio int    // the real-time priority in force, 0 when none
	rtErr  string // why real-time scheduling was refused
	kwNice int    // the kworkers' nice value in force, 0 when none
	kwErr  string // why renicing the kworkers was refused
}

// NewRunner validates cfg and returns a runner; Start runs it.
func NewRunner(cfg Config) (*Runner, error) {
	if cfg.Path == "" {
		return nil, fmt.Errorf("%w: no port path", ErrBadConfig)
	}
	if _, err := cfg.Port.baud(); err != nil {
		return nil, err
	}
	if cfg.Realtime < 0 || cfg.Realtime > 99 {
		return nil, fmt.Errorf("%w: real-time priority %d (use 1..99, or 0 for off)", ErrBadConfig, cfg.Realtime)
	}
	if cfg.KworkerNice < -20 || cfg.KworkerNice > 0 {
		return nil, fmt.Errorf("%w: kworker nice %d (use -20..-1, or 0 for off)", ErrBadConfig, cfg.KworkerNice)
	}
	clock := cfg.Clock
	if clock == nil {
		clock = systemClock{}
	}
	if cfg.Link.Incarnation == 0 {
		cfg.Link.Incarnation = uint64(clock.Now().UnixNano())
	}
	if err := cfg.Link.validate(); err != nil {
		return nil, err
	}
	if cfg.ReopenMin <= 0 {
		cfg.ReopenMin = 50 * time.Millisecond
	}
	if cfg.ReopenMax < cfg.ReopenMin {
		cfg.ReopenMax = max(2*time.Second, cfg.ReopenMin)
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = cfg.Link.Timers.WithDefaults().Keepalive
	}
	r := &Runner{cfg: cfg, log: cfg.Logger, clock: clock, open: cfg.Open, subs: map[int]chan Event{}, cmds: make(chan func(*loopState))}
	if r.log == nil {
		r.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if r.open == nil {
		r.open = Open
	}
	return r, nil
}

// Incarnation returns this node's incarnation.
func (r *Runner) Incarnation() uint64 { return r.cfg.Link.Incarnation }

// Start opens the port and starts the heartbeat. It returns the open error
// (not a tty, busy, missing, ...) at once; later port failures are retried
// with backoff. The runner stops when ctx is done or Stop is called.
func (r *Runner) Start(ctx context.Context) error {
	r.mu.Lock()
	if r.started {
		r.mu.Unlock()
		return fmt.Errorf("serialhb: runner already started")
	}
	r.started = true
	r.mu.Unlock()
	port, err := r.open(ctx, r.cfg.Path, r.cfg.Port)
	if err != nil {
		return err
	}
	now := r.clock.Now()
	link, err := NewLink(r.cfg.Link, now)
	if err != nil {
		port.Close()
		return err
	}
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, cancel)
	done := make(chan struct{})
	r.mu.Lock()
	r.cancel, r.done = cancel, done
	r.mu.Unlock()
	st := &loopState{r: r, link: link, backoff: r.cfg.ReopenMin}
	st.attach(lctx, port, now)
	r.realtime(lctx)
	r.log.Info("serialhb started", "path", r.cfg.Path, "node", r.cfg.Link.Node, "incarnation", link.Incarnation(), "timers", link.timers.String())
	go func() {
		defer close(done)
		defer stop()
		st.run(lctx)
	}()
	return nil
}

// realtime applies Config.Realtime and Config.KworkerNice. Go runs a
// goroutine, its timers and its wake-ups on whichever OS thread holds a
// scheduler slot, so a real-time heartbeat needs every thread of the
// process at that priority: the threads there now, and (re-applied every
// 200 ms until ctx ends) those the runtime starts later, which
// SCHED_RESET_ON_FORK starts at normal priority, as it does the programs
// the process runs. The kernel's unbound workers come and go as well.
func (r *Runner) realtime(ctx context.Context) {
	p, nice := r.cfg.Realtime, r.cfg.KworkerNice
	if p <= 0 && nice >= 0 {
		return
	}
	changed := map[int]kthread{}
	var kwErr error
	ticks := 0
	apply := func() bool {
		var rtErr error
		if p > 0 {
			rtErr = processRealtime(p)
		}
		// The kworkers are rescanned every 5th tick (1 s): new workers
		// appear seldom, and a scan reads a file per kernel thread.
		if nice < 0 && ticks%5 == 0 {
			kwErr = reniceKworkers(nice, changed)
		}
		ticks++
		r.mu.Lock()
		defer r.mu.Unlock()
		// record keeps the setting in force, or why it was refused (logged
		// the first time).
		record := func(on bool, err error, inForce *int, why *string, want int, warning string) bool {
			switch {
			case !on:
				return false
			case err == nil:
				*inForce, *why = want, ""
				return true
			case *why == "":
				r.log.Warn(warning, "err", err)
			}
			*inForce, *why = 0, err.Error()
			return false
		}
		rt := record(p > 0, rtErr, &r.rtPrio, &r.rtErr, p, "serialhb: real-time scheduling refused: the heartbeat runs at normal priority and may miss its pace on a loaded machine")
		kw := record(nice < 0, kwErr, &r.kwNice, &r.kwErr, nice, "serialhb: renicing the kernel's unbound workers refused: received bytes may wait behind busy processes")
		return rt || kw
	}
	if !apply() {
		restoreKworkers(nice, changed)
		return
	}
	go func() {
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		defer restoreKworkers(nice, changed)
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				apply()
			}
		}
	}()
}

// Stop stops the runner and closes the port; it waits for the goroutines
// until ctx is done.
func (r *Runner) Stop(ctx context.Context) error {
	r.mu.Lock()
	cancel, done := r.cancel, r.done
	r.mu.Unlock()
	if cancel == nil {
		return ErrNotRunning
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("serialhb: stop: %w", ctx.Err())
	}
}

// Done is closed when the runner has stopped (nil before Start).
func (r *Runner) Done() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.done
}

// Subscribe returns a channel of events with room for buf of them, and a
// function that ends the subscription. Events that do not fit are dropped
// and counted in Status.DroppedEvents.
func (r *Runner) Subscribe(buf int) (<-chan Event, func()) {
	ch := make(chan Event, max(buf, 1))
	r.mu.Lock()
	id := r.nextSub
	r.nextSub++
	r.subs[id] = ch
	r.mu.Unlock()
	return ch, func() {
		r.mu.Lock()
		delete(r.subs, id)
		r.mu.Unlock()
	}
}

// Status returns the latest snapshot.
func (r *Runner) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.status
	s.Path = r.cfg.Path
	now := r.clock.Now()
	s.Silence = now.Sub(s.LastHeard)
	if s.LastHeard.IsZero() {
		s.Silence = now.Sub(s.Since)
	}
	s.Cable = Diagnose(s.State, s.PortOpen, s.Modem)
	s.Realtime, s.RealtimeErr = r.rtPrio, r.rtErr
	s.KworkerNice, s.KworkerErr = r.kwNice, r.kwErr
	return s
}

// SetState sets the node state sent to the peer.
func (r *Runner) SetState(ctx context.Context, s NodeState) error {
	return r.do(ctx, func(st *loopState) { st.link.SetState(s) })
}

// do runs fn in the loop goroutine.
func (r *Runner) do(ctx context.Context, fn func(*loopState)) error {
	r.mu.Lock()
	done := r.done
	r.mu.Unlock()
	if done == nil {
		return ErrNotRunning
	}
	ran := make(chan struct{})
	select {
	case r.cmds <- func(st *loopState) { fn(st); close(ran) }:
	case <-done:
		return ErrNotRunning
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-ran:
		return nil
	case <-done:
		return ErrNotRunning
	}
}

func (r *Runner) publish(evs []Event) {
	if len(evs) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range evs {
		for _, ch := range r.subs {
			select {
			case ch <- e:
			default:
				r.status.DroppedEvents++
			}
		}
	}
}

// loopState belongs to the loop goroutine.
type loopState struct {
	r             *Runner
	link          *Link
	port          Port
	rx            chan rxChunk
	stopRead      context.CancelFunc
	openAt        time.Time
	backoff       time.Duration
	portErr       string
	reopens       uint64
	writeTimeouts uint64
	modem         ModemLines
	modemAt       time.Time
	buf           []byte
}

type rxChunk struct {
	b   []byte
	err error
}

func (st *loopState) attach(ctx context.Context, p Port, now time.Time) {
	st.port = p
	st.rx = make(chan rxChunk, 64)
	rctx, cancel := context.WithCancel(ctx)
	st.stopRead = cancel
	go reader(rctx, p, st.rx)
	st.backoff = st.r.cfg.ReopenMin
	st.pollModem(now)
}

func reader(ctx context.Context, p Port, out chan<- rxChunk) {
	buf := make([]byte, 512)
	for {
		n, err := p.Read(ctx, buf)
		if ctx.Err() != nil {
			return
		}
		var c rxChunk
		if n > 0 {
			c.b = slices.Clone(buf[:n])
		} else if err != nil {
			c.err = err
		} else {
			continue
		}
		select {
		case out <- c:
		case <-ctx.Done():
			return
		}
		if c.err != nil {
			return
		}
	}
}

func (st *loopState) detach(now time.Time, err error) {
	if st.port == nil {
		return
	}
	st.stopRead()
	st.port.Close()
	st.port, st.rx = nil, nil
	st.portErr = err.Error()
	st.openAt = now.Add(st.backoff)
	st.modem = ModemLines{}
	st.r.log.Warn("serialhb port lost", "path", st.r.cfg.Path, "err", err)
	st.snapshot(now)
	st.r.publish([]Event{{Time: now, Kind: EventPortLost, From: st.link.State(), To: st.link.State(), Err: err.Error()}})
}

func (st *loopState) tryReopen(ctx context.Context, now time.Time) {
	octx, cancel := context.WithTimeout(ctx, time.Second)
	p, err := st.r.open(octx, st.r.cfg.Path, st.r.cfg.Port)
	cancel()
	if err != nil {
		st.portErr = err.Error()
		st.backoff = min(2*st.backoff, st.r.cfg.ReopenMax)
		st.openAt = now.Add(st.backoff)
		st.r.log.Debug("serialhb reopen failed", "path", st.r.cfg.Path, "err", err, "retry", st.backoff)
		return
	}
	st.reopens++
	st.attach(ctx, p, now)
	st.r.log.Info("serialhb port reopened", "path", st.r.cfg.Path)
	st.snapshot(now)
	st.r.publish([]Event{{Time: now, Kind: EventPortOpened, From: st.link.State(), To: st.link.State()}})
}

// pollModem reads the modem lines at most every keepalive (they are only
// for diagnostics).
func (st *loopState) pollModem(now time.Time) {
	if st.port == nil || now.Sub(st.modemAt) < st.link.timers.Keepalive {
		return
	}
	st.modemAt = now
	if m, err := st.port.ModemLines(); err == nil {
		st.modem = m
	}
}

func (st *loopState) run(ctx context.Context) {
	defer func() {
		if st.port != nil {
			st.stopRead()
			st.port.Close()
		}
		st.r.mu.Lock()
		st.r.status.PortOpen = false
		st.r.mu.Unlock()
	}()
	clock := st.r.clock
	timer := clock.NewTimer(0)
	defer timer.Stop()
	for {
		now := clock.Now()
		if st.port == nil && !now.Before(st.openAt) {
			st.tryReopen(ctx, now)
		}
		st.link.Tick(now)
		st.flush(ctx, now)
		st.pollModem(now)
		st.snapshot(now)
		next := st.link.NextTick()
		if st.port == nil && st.openAt.Before(next) {
			next = st.openAt
		}
		timer.Reset(next.Sub(clock.Now())) // after the tick and the flush, as time.Until
		select {
		case <-ctx.Done():
			return
		case <-timer.C():
		case c := <-st.rx:
			now := clock.Now()
			if c.err != nil {
				st.detach(now, c.err)
				continue
			}
			st.link.Feed(now, c.b)
			// Drain what else is queued before ticking.
			for more := true; more; {
				select {
				case c := <-st.rx:
					if c.err != nil {
						st.detach(now, c.err)
						more = false
						continue
					}
					st.link.Feed(now, c.b)
				default:
					more = false
				}
			}
		case fn := <-st.r.cmds:
			fn(st)
		}
	}
}

func (st *loopState) flush(ctx context.Context, now time.Time) {
	rd := st.link.Ready()
	if st.port != nil && len(rd.Frames) > 0 {
		st.buf = st.buf[:0]
		for _, f := range rd.Frames {
			st.buf = append(st.buf, f...)
		}
		wctx, cancel := context.WithTimeout(ctx, st.r.cfg.WriteTimeout)
		_, err := st.port.Write(wctx, st.buf)
		cancel()
		switch {
		case err == nil || ctx.Err() != nil:
		case errors.Is(err, os.ErrDeadlineExceeded):
			// The line does not drain (flow control, a stalled
			// reader): the port is still there. Count it; a frame cut
			// short is resynchronised by the receiver.
			st.writeTimeouts++
			st.r.log.Debug("serialhb write timeout", "path", st.r.cfg.Path, "err", err)
		default:
			st.detach(now, err)
		}
	}
	for _, e := range rd.Events {
		st.r.log.Info("serialhb event", "event", e.String())
	}
	// The snapshot goes first, so that a subscriber reading Status on an
	// event sees the state the event reports.
	st.snapshot(now)
	st.r.publish(rd.Events)
	if len(rd.Pongs) > 0 {
		st.r.mu.Lock()
		ch := st.r.pongs
		st.r.mu.Unlock()
		for _, p := range rd.Pongs {
			if ch != nil {
				select {
				case ch <- p:
				default:
				}
			}
		}
	}
}

func (st *loopState) snapshot(now time.Time) {
	ls := st.link.Status(now)
	st.r.mu.Lock()
	st.r.status.LinkStatus = ls
	st.r.status.PortOpen = st.port != nil
	st.r.status.PortErr = st.portErr
	st.r.status.Reopens = st.reopens
	st.r.status.WriteTimeouts = st.writeTimeouts
	st.r.status.Modem = st.modem
	st.r.mu.Unlock()
}

// CableTestConfig configures a cable test.
type CableTestConfig struct {
	Count    int           // pings to send; 0 means 100
	Interval time.Duration // between pings; 0 means 10 ms
	Timeout  time.Duration // wait for the last pong; 0 means 1 s
}

// CableReport is the result of a cable test.
type CableReport struct {
	// Port is the cable's device, the runner's port.
	Port string `json:"port"`
	// Member is the node at the other end, where the caller runs a cable
	// per neighbour and names it (hwagent's Heartbeats); omitted otherwise.
	Member    string        `json:"member,omitempty"`
	Sent      int           `json:"sent"`
	Received  int           `json:"received"`
	Loss      float64       `json:"loss"`      // fraction of pings without a pong
	Corrupted uint64        `json:"corrupted"` // frames received damaged (CRC, COBS, malformed, oversize)
	AuthFail  uint64        `json:"auth_failures"`
	RTTMin    time.Duration `json:"rtt_min_ns"`
	RTTMedian time.Duration `json:"rtt_median_ns"`
	RTTMax    time.Duration `json:"rtt_max_ns"`
	Modem     ModemLines    `json:"modem"`
	Cable     Cable         `json:"cable"`
}

func (c CableReport) String() string {
	return fmt.Sprintf("%s: sent %d received %d loss %.1f%% corrupted %d auth-failures %d rtt min/median/max %v/%v/%v modem dsr=%s cts=%s dcd=%s: %s",
		c.Name(), c.Sent, c.Received, 100*c.Loss, c.Corrupted, c.AuthFail, c.RTTMin, c.RTTMedian, c.RTTMax, c.Modem.DSR, c.Modem.CTS, c.Modem.DCD, c.Cable)
}

// Name names the cable tested: its port, and the member at its other end
// when the report has one.
func (c CableReport) Name() string {
	s := c.Port
	if s == "" {
		s = "cable"
	}
	if c.Member != "" {
		s += " to " + c.Member
	}
	return s
}

// ErrCableTestBusy: a cable test is already running on this runner.
var ErrCableTestBusy = errors.New("serialhb: a cable test is already running")

// CableTest sends a burst of pings to the peer (which answers with pongs
// while its runner runs) and reports loss, damaged frames and RTT. The
// heartbeat goes on meanwhile.
func (r *Runner) CableTest(ctx context.Context, cfg CableTestConfig) (CableReport, error) {
	if cfg.Count <= 0 {
		cfg.Count = 100
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 10 * time.Millisecond
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = time.Second
	}
	pongs := make(chan Pong, cfg.Count)
	r.mu.Lock()
	if r.pongs != nil {
		r.mu.Unlock()
		return CableReport{}, ErrCableTestBusy
	}
	r.pongs = pongs
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.pongs = nil
		r.mu.Unlock()
	}()
	before := r.Status().Counters
	sent := map[uint64]bool{}
	var rtts []time.Duration
	collect := func(p Pong) {
		if sent[p.Seq] {
			delete(sent, p.Seq)
			rtts = append(rtts, p.RTT)
		}
	}
	tick := r.clock.NewTimer(cfg.Interval)
	defer tick.Stop()
	for i := 0; i < cfg.Count; i++ {
		err := r.do(ctx, func(st *loopState) {
			now := r.clock.Now()
			sent[st.link.Ping(now)] = true
			st.flush(ctx, now)
		})
		if err != nil {
			return CableReport{}, err
		}
	wait:
		for {
			select {
			case p := <-pongs:
				collect(p)
			case <-tick.C():
				tick.Reset(cfg.Interval)
				break wait
			case <-ctx.Done():
				return CableReport{}, ctx.Err()
			}
		}
	}
	deadline := r.clock.NewTimer(cfg.Timeout)
	defer deadline.Stop()
	for len(sent) > 0 {
		select {
		case p := <-pongs:
			collect(p)
		case <-deadline.C():
			goto done
		case <-ctx.Done():
			return CableReport{}, ctx.Err()
		}
	}
done:
	st := r.Status()
	after := st.Counters
	rep := CableReport{
		Port: st.Path, Sent: cfg.Count, Received: len(rtts), Modem: st.Modem, Cable: st.Cable,
		Corrupted: (after.CRCErrors + after.COBSErrors + after.Malformed + after.Oversize) - (before.CRCErrors + before.COBSErrors + before.Malformed + before.Oversize),
		AuthFail:  after.AuthFailures - before.AuthFailures,
	}
	rep.Loss = float64(rep.Sent-rep.Received) / float64(rep.Sent)
	if len(rtts) > 0 {
		slices.Sort(rtts)
		rep.RTTMin, rep.RTTMedian, rep.RTTMax = rtts[0], rtts[len(rtts)/2], rtts[len(rtts)-1]
	}
	return rep, nil
}
