//go:build linux

package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hakit/hakit/internal/rig"
	"github.com/hakit/hakit/scsi"
	"github.com/hakit/hakit/tools/compare/report"
)

const heartbeatBin = "/usr/libexec/heartbeat/heartbeat"

// hbSetting is one keepalive/deadtime pair, given to both sides; warntime
// is deadtime/2 and initdead 2 x deadtime on both (Heartbeat's defaults).
type hbSetting struct {
	name                string
	keepalive, deadtime time.Duration
}

func (s hbSetting) warntime() time.Duration { return s.deadtime / 2 }
func (s hbSetting) initdead() time.Duration { return 2 * s.deadtime }

// defaultHBSettings: Heartbeat's default-like one (its sample ha.cf has
// keepalive 2 s, deadtime 30 s; 1 s and 10 s keeps trials short), and the
// smallest it holds on this cable (at keepalive 10 ms it never reaches a
// steady state; anchors.md).
const defaultHBSettings = "1s/10s,100ms/500ms"

// parseHBSettings reads "KEEPALIVE/DEADTIME,..." (Go durations); deadtime
// must exceed twice the keepalive, as Heartbeat requires.
func parseHBSettings(v string) ([]hbSetting, error) {
	var out []hbSetting
	for _, f := range strings.Split(v, ",") {
		ka, dt, ok := strings.Cut(strings.TrimSpace(f), "/")
		k, err1 := time.ParseDuration(ka)
		d, err2 := time.ParseDuration(dt)
		if !ok || err1 != nil || err2 != nil || k < time.Millisecond || d <= 2*k {
			return nil, fmt.Errorf("--hb-settings: %q: want KEEPALIVE/DEADTIME such as 100ms/500ms, deadtime more than twice the keepalive", f)
		}
		out = append(out, hbSetting{name: k.String() + "/" + d.String(), keepalive: k, deadtime: d})
	}
	return out, nil
}

// hbNoise is the injected noise: per byte, about one fault in a thousand.
var hbNoise = rig.Noise{Drop: 3e-4, Flip: 4e-4, Insert: 3e-4}

// daemon is one node's heartbeat process: the states it reports about its
// peer, its death count and its processes.
type daemon struct {
	events chan stamp
	deaths atomic.Int64
	last   atomic.Value // "dead" or "alive", the last reported
	pids   func() []int
	kill   func()
}

// hbPair is the two nodes of one side on the cable; a is the one timed.
type hbPair struct{ a, b *daemon }

func (p *hbPair) stop() {
	p.a.kill()
	p.b.kill()
}

func (p *hbPair) deaths() int64 { return p.a.deaths.Load() + p.b.deaths.Load() }

// hbSide starts one side's pair on the cable, returning once node A hears
// node B.
type hbSide struct {
	name   string
	config func(hbSetting) string
	start  func(ctx context.Context, e *env, c *rig.Cable, s hbSetting) (*hbPair, error)
}

func hakitSerial() hbSide {
	return hbSide{
		name: "hakit",
		config: func(s hbSetting) string {
			return fmt.Sprintf("hwagent hb run, keepalive %v, deadtime %v, warntime %v, initdead %v, 19200 baud, real-time priority 1 (the agent's default)", s.keepalive, s.deadtime, s.warntime(), s.initdead())
		},
		start: startHakitPair,
	}
}

func heartbeatSerial() hbSide {
	return hbSide{
		name: "Heartbeat 3.0.6",
		config: func(s hbSetting) string {
			return fmt.Sprintf("ha.cf serial, baud 19200, keepalive %v, deadtime %v, warntime %v, initdead %v, authkeys crc, realtime on (its default), crm no, each node in its own UTS and mount namespaces", s.keepalive, s.deadtime, s.warntime(), s.initdead())
		},
		start: startHeartbeatPair,
	}
}

func ms(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }

func startHakitPair(ctx context.Context, e *env, c *rig.Cable, s hbSetting) (*hbPair, error) {
	key := filepath.Join(e.dir, "hb.key")
	if _, err := os.Stat(key); err != nil {
		k := make([]byte, 32)
		_, _ = rand.Read(k)
		if err := os.WriteFile(key, k, 0o600); err != nil {
			return nil, err
		}
	}
	var ds [2]*daemon
	for i, side := range []rig.Side{rig.A, rig.B} {
		cmd := exec.Command(e.hwagent, "hb", "run", "--json", "--port", c.Path(side), "--key-file", key,
			"--node", strconv.Itoa(i+1), "--peer", strconv.Itoa(2-i),
			"--keepalive", ms(s.keepalive), "--deadtime", ms(s.deadtime), "--realtime", "1")
		out, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			if ds[0] != nil {
				ds[0].kill()
			}
			return nil, err
		}
		d := &daemon{events: make(chan stamp, 64)}
		d.pids = func() []int { return []int{cmd.Process.Pid} }
		var once sync.Once
		d.kill = func() { once.Do(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }) }
		e.track(d.kill)
		go watchLines(e.log, "hakit "+side.String(), out, hakitState, d.events, &d.deaths, &d.last)
		ds[i] = d
	}
	return joined(ctx, "hakit", &hbPair{ds[0], ds[1]}, s.initdead()+5*time.Second)
}

// joined returns p once its node A hears node B, or stops it.
func joined(ctx context.Context, name string, p *hbPair, within time.Duration) (*hbPair, error) {
	if _, err := waitKind(ctx, p.a.events, "alive", within); err != nil {
		p.stop()
		return nil, fmt.Errorf("%s: node A never heard node B: %w", name, err)
	}
	return p, nil
}

// hakitState reads one line of hwagent hb run --json.
func hakitState(line string) string {
	var ev struct{ Kind, To string }
	if json.Unmarshal([]byte(line), &ev) != nil || ev.Kind != "state" {
		return ""
	}
	if ev.To == "dead" || ev.To == "alive" {
		return ev.To
	}
	return ""
}

// heartbeatState reads one line of Heartbeat's log on the node whose peer
// is peer.
func heartbeatState(peer string) func(string) string {
	return func(line string) string {
		switch {
		case strings.Contains(line, "node "+peer+": is dead"):
			return "dead"
		case strings.Contains(line, "Link "+peer+":") && strings.HasSuffix(strings.TrimSpace(line), " up."),
			strings.Contains(line, "Status update for node "+peer+": status up"),
			strings.Contains(line, "Status update for node "+peer+": status active"):
			return "alive"
		}
		return ""
	}
}

// haCF is node me's ha.cf.
func haCF(log, port, me, peer string, s hbSetting) string {
	return fmt.Sprintf(`logfile %s
use_logd no
serial %s
baud 19200
keepalive %dms
warntime %dms
deadtime %dms
initdead %dms
auto_failback off
crm no
node %s
node %s
`, log, port, s.keepalive.Milliseconds(), s.warntime().Milliseconds(), s.deadtime.Milliseconds(), s.initdead().Milliseconds(), me, peer)
}

var hbLibDirs = []string{"api", "casual", "ccm", "ckpt", "cores/root", "crm", "pengine"}

func startHeartbeatPair(ctx context.Context, e *env, c *rig.Cable, s hbSetting) (*hbPair, error) {
	names := [2]string{"hakit-cmp-a", "hakit-cmp-b"}
	var ds [2]*daemon
	fail := func(err error) (*hbPair, error) {
		for _, d := range ds {
			if d != nil {
				d.kill()
			}
		}
		return nil, err
	}
	for i, side := range []rig.Side{rig.A, rig.B} {
		me, peer := names[i], names[1-i]
		nd := filepath.Join(e.dir, "heartbeat-"+side.String())
		etc, lib := filepath.Join(nd, "etc"), filepath.Join(nd, "lib")
		logPath := filepath.Join(nd, "ha.log")
		_ = os.RemoveAll(nd)
		for _, sub := range hbLibDirs {
			if err := os.MkdirAll(filepath.Join(lib, sub), 0o755); err != nil {
				return fail(err)
			}
		}
		// Its scripts (harc, rc.d, resource.d) as installed.
		if out, err := exec.Command("cp", "-a", "/etc/ha.d/.", etc).CombinedOutput(); err != nil {
			return fail(fmt.Errorf("copy /etc/ha.d: %v: %s", err, out))
		}
		if err := errorsJoin(
			writeFile(filepath.Join(etc, "ha.cf"), haCF(logPath, c.Path(side), me, peer, s), 0o644),
			writeFile(filepath.Join(etc, "authkeys"), "auth 1\n1 crc\n", 0o600),
			writeFile(filepath.Join(etc, "haresources"), "", 0o644),
		); err != nil {
			return fail(err)
		}
		fifo, err := mkfifo(logPath)
		if err != nil {
			return fail(err)
		}
		// Its own UTS namespace (Heartbeat's node name is uname -n) and
		// mount namespace (its own /etc/ha.d, /var/lib/heartbeat and /run,
		// where its pid file, sockets and the UUCP lock live).
		script := fmt.Sprintf("hostname %s && mount -t tmpfs none /run && mkdir -p /run/heartbeat /run/lock && mount --bind %s /etc/ha.d && mount --bind %s /var/lib/heartbeat && %s && for i in $(seq 200); do [ -s /run/heartbeat.pid ] && break; sleep 0.05; done && cat /run/heartbeat.pid",
			me, etc, lib, heartbeatBin)
		// The daemon leaves before its master writes the pid file: the
		// script waits for it. A start that failed half-way may leave
		// heartbeat processes on the cable: sweep them.
		// The processes of the node are found by its directory in their
		// mount table (nsProcs), which also finds the children Heartbeat
		// leaves reparented to init.
		cmd := exec.CommandContext(ctx, "unshare", "--uts", "--mount", "--propagation", "private", "sh", "-c", script)
		out, err := cmd.Output()
		if err != nil {
			sweepNode(nd)
			fifo.Close()
			return fail(fmt.Errorf("heartbeat on %s: %w (%s)", me, err, strings.TrimSpace(string(out))))
		}
		if err := heartbeatMaster(nd, 5*time.Second); err != nil {
			sweepNode(nd)
			fifo.Close()
			return fail(fmt.Errorf("heartbeat on %s: %w", me, err))
		}
		d := &daemon{events: make(chan stamp, 64)}
		// Every process of the node, read anew at each window: after a
		// replug Heartbeat restarts itself ("Performing heartbeat restart
		// exec"), and the master found at start then idles while a new
		// master and its media children do the work.
		d.pids = func() []int { return nsProcs(nd) }
		var once sync.Once
		d.kill = func() {
			once.Do(func() {
				sweepNode(nd)
				fifo.Close()
			})
		}
		e.track(d.kill)
		go watchLines(e.log, me, fifo, heartbeatState(peer), d.events, &d.deaths, &d.last)
		ds[i] = d
	}
	return joined(ctx, "heartbeat", &hbPair{ds[0], ds[1]}, s.initdead()+10*time.Second)
}

// nsProcs lists the processes whose mount namespace has marker (a node's
// own directory, bind-mounted there): a Heartbeat node's daemon and every
// process it forked, also those it left behind reparented to init.
func nsProcs(marker string) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile("/proc/" + ent.Name() + "/mountinfo")
		if err == nil && strings.Contains(string(b), marker) {
			out = append(out, pid)
		}
	}
	return out
}

// heartbeatMaster waits for the node's master control process (the pid
// file may name a process of the start-up that exits): the one with that
// title whose parent is outside the node (init, after it daemonized); a
// fork of the master carries the same title until it renames itself.
func heartbeatMaster(marker string, within time.Duration) error {
	end := time.Now().Add(within)
	for {
		ps := nsProcs(marker)
		for _, pid := range ps {
			b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
			if err != nil || !strings.HasPrefix(string(b), "heartbeat: master control process") {
				continue
			}
			if ppid, err := parentOf(pid); err == nil && !contains(ps, ppid) {
				return nil
			}
		}
		if time.Now().After(end) {
			return fmt.Errorf("no heartbeat master control process after %v", within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sweepNode SIGKILLs every process of the node's mount namespace until
// none is left (or 5 s passed).
func sweepNode(marker string) {
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); {
		ps := nsProcs(marker)
		if len(ps) == 0 {
			return
		}
		for _, p := range ps {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func errorsJoin(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// settle is how long a pair runs after node A first hears node B before a
// trial: Heartbeat runs its resource scripts for the first seconds after
// the peer joins, and a cut then is detected seconds late (a start-up
// cost, not its steady state). Both sides get the same.
const settle = 5 * time.Second

// cutTrial cuts the cable between two live nodes, times node A's dead
// report, reconnects and times its alive report.
func cutTrial(ctx context.Context, c *rig.Cable, p *hbPair, s hbSetting) (detect, alive time.Duration, err error) {
	if err := sleepCtx(ctx, settle); err != nil {
		return 0, 0, err
	}
	drain(p.a.events)
	cut := time.Now()
	c.Cut()
	d, err := waitKind(ctx, p.a.events, "dead", 3*s.deadtime+5*time.Second)
	if err != nil {
		c.Reconnect()
		return 0, 0, fmt.Errorf("after the cut: %w", err)
	}
	drain(p.a.events)
	plug := time.Now()
	c.Reconnect()
	a, err := waitKind(ctx, p.a.events, "alive", s.deadtime+10*time.Second)
	if err != nil {
		return 0, 0, fmt.Errorf("after the replug: %w", err)
	}
	return d.at.Sub(cut), a.at.Sub(plug), nil
}

// serialWindows runs the quiet, loaded and noisy windows on a live pair:
// CPU per daemon over the quiet one (% of one core), and false deaths in
// each.
type windowResult struct {
	cpu                  []float64
	quiet, loaded, noisy float64
	deadAfterNoise       float64
}

func serialWindows(ctx context.Context, c *rig.Cable, p *hbPair, s hbSetting, w time.Duration) (windowResult, error) {
	var r windowResult
	if err := sleepCtx(ctx, settle); err != nil {
		return r, err
	}
	ta, tb := cpuOf(p.a.pids()), cpuOf(p.b.pids())
	d0, t0 := p.deaths(), time.Now()
	if err := sleepCtx(ctx, w); err != nil {
		return r, err
	}
	el := time.Since(t0)
	for i, before := range []map[int]time.Duration{ta, tb} {
		d := []*daemon{p.a, p.b}[i]
		used, ok := cpuSince(before, d.pids())
		if !ok {
			return r, fmt.Errorf("CPU: none of the daemon's processes could be read at the window's end")
		}
		r.cpu = append(r.cpu, 100*float64(used)/float64(el))
	}
	r.quiet = float64(p.deaths() - d0)

	stop, err := load(2 * runtime.NumCPU())
	if err != nil {
		return r, err
	}
	d0 = p.deaths()
	err = sleepCtx(ctx, w)
	stop()
	r.loaded = float64(p.deaths() - d0)
	if err != nil {
		return r, err
	}

	if err := c.SetNoise(hbNoise); err != nil {
		return r, err
	}
	d0 = p.deaths()
	err = sleepCtx(ctx, w)
	_ = c.SetNoise(rig.Noise{})
	r.noisy = float64(p.deaths() - d0)
	if err != nil {
		return r, err
	}
	// Alive again after the noise: node A's last report, a deadtime
	// after the noise stopped.
	if err := sleepCtx(ctx, s.deadtime+3*s.keepalive); err != nil {
		return r, err
	}
	if p.a.last.Load() != "alive" {
		r.deadAfterNoise = 1
	}
	return r, nil
}

// sleepCtx waits d or until ctx ends.
var sleepCtx = scsi.SystemClock{}.Sleep

func serialRow(ctx context.Context, e *env) (report.Row, error) {
	sides := [2]hbSide{hakitSerial(), heartbeatSerial()}
	row := report.Row{ID: "1", Title: "Serial heartbeat on one relayed pty cable", Peer: sides[1].name}
	var hc, pc []string
	for _, s := range e.hbSettings {
		hc = append(hc, s.name+": "+sides[0].config(s))
		pc = append(pc, s.name+": "+sides[1].config(s))
	}
	window := 15 * time.Second
	if e.short {
		window = 3 * time.Second
	}
	row.HakitConfig = strings.Join(hc, "; ") + "; the same cable and relay for both sides"
	row.PeerConfig = strings.Join(pc, "; ")
	if err := need(heartbeatBin, "unshare"); err != nil {
		row.Missing = err.Error()
		return row, nil
	}
	c, err := rig.NewCable(rig.CableConfig{Realtime: 2, Logger: e.log})
	if err != nil {
		return row, err
	}
	defer c.Close()
	defer sweepNode(filepath.Join(e.dir, "heartbeat-B"))
	defer sweepNode(filepath.Join(e.dir, "heartbeat-A"))
	for _, s := range e.hbSettings {
		// A setting with a deadtime of seconds takes that and more a
		// trial: a third as many; the windows (quiet, loaded, noisy) run
		// in the first trials only.
		trials, windows := e.trials, 2
		if s.deadtime >= 5*time.Second {
			trials, windows = max(1, e.trials/3), 1
		}
		if e.short {
			windows = 1
		}
		detect := report.Metric{Name: s.name + ": detection after the cut", Unit: "ms"}
		late := report.Metric{Name: s.name + ": lateness past deadtime " + s.deadtime.String(), Unit: "ms"}
		alive := report.Metric{Name: s.name + ": alive after the replug", Unit: "ms"}
		cpu := report.Metric{Name: s.name + ": CPU per daemon, quiet", Unit: "% of a core"}
		quiet := report.Metric{Name: s.name + ": false deaths, quiet " + window.String(), Agg: report.Total}
		loaded := report.Metric{Name: s.name + ": false deaths, CPU load " + window.String(), Agg: report.Total}
		noisy := report.Metric{Name: s.name + ": false deaths, noise " + window.String(), Agg: report.Total}
		stuck := report.Metric{Name: s.name + ": not alive a deadtime after the noise", Agg: report.Total}
		var failures [2]int
		var lastErr [2]error
		for t := range trials {
			for i, side := range sides {
				e.say("row 1 %s: %s trial %d/%d", s.name, side.name, t+1, trials)
				p, err := side.start(ctx, e, c, s)
				if err != nil {
					if ctx.Err() != nil {
						return row, ctx.Err()
					}
					failures[i]++
					lastErr[i] = err
					continue
				}
				add := func(m *report.Metric, v float64) {
					if i == 0 {
						m.Hakit = append(m.Hakit, v)
					} else {
						m.Peer = append(m.Peer, v)
					}
				}
				// The windows run on the freshly joined pair, before the
				// cut: after a replug Heartbeat restarts itself (a "restart
				// exec" some seconds later), which is not its steady state.
				if t < windows {
					w, err := serialWindows(ctx, c, p, s, window)
					if err != nil {
						p.stop()
						return row, err
					}
					for _, v := range w.cpu {
						add(&cpu, v)
					}
					add(&quiet, w.quiet)
					add(&loaded, w.loaded)
					add(&noisy, w.noisy)
					add(&stuck, w.deadAfterNoise)
				}
				d, a, err := cutTrial(ctx, c, p, s)
				if err != nil {
					p.stop()
					if ctx.Err() != nil {
						return row, ctx.Err()
					}
					failures[i]++
					lastErr[i] = err
					continue
				}
				add(&detect, msf(d))
				add(&late, msf(d-s.deadtime))
				add(&alive, msf(a))
				p.stop()
			}
		}
		for i, n := range failures {
			if n > 0 {
				note := fmt.Sprintf("%s: %d of %d trials failed (last: %v)", sides[i].name, n, trials, lastErr[i])
				detect.Note = strings.TrimPrefix(detect.Note+"; "+note, "; ")
			}
		}
		row.Metrics = append(row.Metrics, detect, late, alive, cpu, quiet, loaded, noisy, stuck)
	}
	return row, nil
}

func msf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
