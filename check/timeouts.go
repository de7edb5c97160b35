package check

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hakit/hakit/agent"
)

// Corosync's defaults (corosync.conf(5), corosync 3): token 3000 ms, plus
// token_coefficient 650 ms per node beyond two with a nodelist of three or
// more; consensus 1.2 x token.
const (
	defaultToken            = 3000 * time.Millisecond
	defaultTokenCoefficient = 650 * time.Millisecond
)

// nicDetection is how long the agent takes to find a silent peer on the
// heartbeat NIC: its probe sends 2 echoes, each waiting 200 ms (a lost
// carrier is seen at once, from netlink).
const nicDetection = 2 * 200 * time.Millisecond

// Totem is corosync's token and consensus, as configured or running.
type Totem struct {
	Token, Consensus time.Duration
	// Source says where they were read ("the running cmap", a file).
	Source string
}

// CorosyncFunc reads corosync's totem timers; found is false when corosync
// is not configured on this node.
type CorosyncFunc func(ctx context.Context) (t Totem, found bool, err error)

// ErrCorosyncConf is a corosync.conf hwcheck cannot read the totem timers
// from.
var ErrCorosyncConf = errors.New("corosync.conf")

// ParseCorosyncTotem reads token, consensus, token_coefficient and the
// nodelist's node count from corosync.conf text and applies corosync's
// defaults for what is not set.
func ParseCorosyncTotem(conf []byte) (Totem, error) {
	var stack []string
	vals := map[string]string{}
	nodes := 0
	sc := bufio.NewScanner(bytes.NewReader(conf))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		switch {
		case line == "":
		case strings.HasSuffix(line, "{"):
			name := strings.TrimSpace(strings.TrimSuffix(line, "{"))
			stack = append(stack, name)
			if len(stack) == 2 && stack[0] == "nodelist" && name == "node" {
				nodes++
			}
		case line == "}":
			if len(stack) == 0 {
				return Totem{}, fmt.Errorf("%w: line %d: '}' without a section", ErrCorosyncConf, n)
			}
			stack = stack[:len(stack)-1]
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				return Totem{}, fmt.Errorf("%w: line %d: %q is neither key: value nor a section", ErrCorosyncConf, n, line)
			}
			if len(stack) == 1 && stack[0] == "totem" {
				vals[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
		}
	}
	if len(stack) > 0 {
		return Totem{}, fmt.Errorf("%w: section %s not closed", ErrCorosyncConf, stack[len(stack)-1])
	}
	ms := func(key string, def time.Duration) (time.Duration, error) {
		v, ok := vals[key]
		if !ok {
			return def, nil
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return 0, fmt.Errorf("%w: totem.%s %q: want milliseconds", ErrCorosyncConf, key, v)
		}
		return time.Duration(n) * time.Millisecond, nil
	}
	token, err := ms("token", defaultToken)
	if err != nil {
		return Totem{}, err
	}
	coef, err := ms("token_coefficient", defaultTokenCoefficient)
	if err != nil {
		return Totem{}, err
	}
	if nodes >= 3 {
		extra := uint64(nodes-2) * uint64(coef/time.Millisecond)
		if extra > 1<<32 {
			return Totem{}, fmt.Errorf("%w: token_coefficient %v x %d nodes: out of range", ErrCorosyncConf, coef, nodes)
		}
		token += time.Duration(extra) * time.Millisecond
	}
	cons, err := ms("consensus", token*12/10)
	if err != nil {
		return Totem{}, err
	}
	return Totem{Token: token, Consensus: cons}, nil
}

// parseCmap reads `corosync-cmapctl -g KEY` output: "KEY (u32) = 3000".
func parseCmap(out string) (time.Duration, error) {
	_, v, ok := strings.Cut(out, "=")
	n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
	if !ok || err != nil {
		return 0, fmt.Errorf("corosync-cmapctl: %q: want KEY (u32) = N", strings.TrimSpace(out))
	}
	return time.Duration(n) * time.Millisecond, nil
}

// CorosyncFrom reads the running cmap with corosync-cmapctl (run by
// command) when corosync runs, else the file at path.
func CorosyncFrom(path string, command func(ctx context.Context, name string, args ...string) *exec.Cmd) CorosyncFunc {
	return func(ctx context.Context) (Totem, bool, error) {
		if _, err := exec.LookPath("corosync-cmapctl"); err == nil {
			ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			var t Totem
			var errs []error
			for _, kv := range []struct {
				key string
				to  *time.Duration
			}{{"runtime.config.totem.token", &t.Token}, {"runtime.config.totem.consensus", &t.Consensus}} {
				out, err := command(ctx, "corosync-cmapctl", "-g", kv.key).Output()
				if err == nil {
					*kv.to, err = parseCmap(string(out))
				}
				errs = append(errs, err)
			}
			if errors.Join(errs...) == nil {
				t.Source = "the running cmap (corosync-cmapctl)"
				return t, true, nil
			}
		}
		b, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			return Totem{}, false, nil
		}
		if err != nil {
			return Totem{}, false, err
		}
		t, err := ParseCorosyncTotem(b)
		t.Source = path
		return t, err == nil, err
	}
}

// timeoutFacts are the timers the audit compares, for one node.
type timeoutFacts struct {
	Node string
	// Cable is the member at the other end of the serial cable the
	// silence was measured on ("" in a pair: the one cable).
	Cable string
	// Deadtime is the serial heartbeat's (0: no serial heartbeat).
	Deadtime time.Duration
	// Keepalive is the serial heartbeat's; Silence the longest gap between
	// two of the peer's frames the node's agent measured, and SilenceLate
	// how late the peer sent across that gap (its own timestamps); Silence
	// 0 with SilenceWhy saying why it is unknown.
	Keepalive, Silence, SilenceLate time.Duration
	SilenceWhy                      string
	// NIC is the NIC detection time (0: no heartbeat NIC).
	NIC time.Duration
	// Totem is corosync's (TotemKnown false: not read).
	Totem      Totem
	TotemKnown bool
	// Stonith is Pacemaker's stonith-timeout and where it came from.
	Stonith       time.Duration
	StonithSource string
	// StonithKnown is false when Stonith is Pacemaker's default because
	// the cluster's could not be read: a pair that fits it is a skip.
	StonithKnown bool
	// SelfFence is self_fence.action; Watchdog its timeout; DiskStatus
	// the disk watcher's period (how soon a fenced node notices).
	SelfFence  string
	Watchdog   time.Duration
	DiskStatus time.Duration
}

func ms(d time.Duration) int64 { return d.Milliseconds() }

// auditTimeouts compares each pair of timers, one result per pair: a
// pair that cannot work together fails with the fix; a pair missing a
// side is a skip saying which.
func auditTimeouts(f timeoutFacts) []Result {
	n := " (" + f.Node + ")"
	var out []Result
	tt := f.Totem
	if !f.TotemKnown {
		out = append(out, res("corosync token and consensus", Skip, "corosync's configuration was not found on this node", "run hwcheck on a cluster node, or give --corosync-conf"))
	} else {
		m := fmt.Sprintf("token %v, consensus %v (%s)", tt.Token, tt.Consensus, tt.Source)
		if tt.Consensus < tt.Token*12/10 {
			out = append(out, res("corosync token and consensus", Fail, m+": consensus below 1.2 x token",
				fmt.Sprintf("set totem.consensus to at least %d (1.2 x token), or remove it for corosync's default", ms(tt.Token*12/10))))
		} else {
			out = append(out, res("corosync token and consensus", Pass, m+": consensus at least 1.2 x token", ""))
		}
	}
	lost := tt.Token + tt.Consensus
	switch {
	case f.Deadtime == 0:
		out = append(out, res("serial deadtime vs corosync"+n, Skip, "no serial heartbeat configured", "configure serial: in hwagent.yaml"))
	case !f.TotemKnown:
		out = append(out, res("serial deadtime vs corosync"+n, Skip, fmt.Sprintf("deadtime %v; corosync's token unknown", f.Deadtime), "run hwcheck on a cluster node, or give --corosync-conf"))
	case f.Deadtime > lost:
		// Not a safety fault (Pacemaker decides from corosync; the fence
		// is what protects the disk), but rules on hakit-serial would act
		// on a stale fact.
		out = append(out, res("serial deadtime vs corosync"+n, Warn, fmt.Sprintf("deadtime %v, corosync drops a silent member after token + consensus = %v", f.Deadtime, lost),
			fmt.Sprintf("Pacemaker would fence while hakit's serial heartbeat still calls the peer alive (a rule on hakit-serial acts late): lower timers.deadtime_ms to at most %d, or raise totem.token to at least %d", ms(lost), ms(f.Deadtime*10/22+time.Millisecond))))
	default:
		out = append(out, res("serial deadtime vs corosync"+n, Pass, fmt.Sprintf("deadtime %v within token + consensus %v", f.Deadtime, lost), ""))
	}
	out = append(out, silenceAudit(f))
	switch {
	case f.NIC == 0:
		out = append(out, res("NIC detection vs corosync"+n, Skip, "no heartbeat NIC configured", "configure nic: in hwagent.yaml"))
	case !f.TotemKnown:
		out = append(out, res("NIC detection vs corosync"+n, Skip, fmt.Sprintf("NIC detection %v; corosync's token unknown", f.NIC), "run hwcheck on a cluster node, or give --corosync-conf"))
	case f.NIC >= tt.Token:
		out = append(out, res("NIC detection vs corosync"+n, Fail, fmt.Sprintf("the heartbeat NIC finds a silent peer in %v, corosync's token is %v", f.NIC, tt.Token),
			fmt.Sprintf("corosync would lose the token before hakit sees the link fail: raise totem.token above %d", ms(f.NIC))))
	default:
		out = append(out, res("NIC detection vs corosync"+n, Pass, fmt.Sprintf("NIC detection %v (2 echoes x 200 ms) under the token %v", f.NIC, tt.Token), ""))
	}
	// A fenced node stops what runs on it besides the disk (addresses,
	// applications) only when its watchdog resets it: disk_status to see
	// its key gone, then the watchdog timeout. sbd's rule for watchdog
	// fencing (stonith-watchdog-timeout at least twice the watchdog
	// timeout) is applied to that path: the cluster's fencing timeout must
	// cover it twice.
	if f.SelfFence != "watchdog" {
		out = append(out, res("watchdog vs self-fence path"+n, Skip, "self_fence.action "+f.SelfFence+": no watchdog resets a fenced node",
			"with action watchdog a fenced node resets itself: its services stop; set it where resources other than the disk (addresses, applications) must not run twice"))
	} else {
		path := f.DiskStatus + f.Watchdog
		wm := fmt.Sprintf("a fenced node notices within disk_status %v and resets after watchdog %v: %v; stonith-timeout %v (%s)", f.DiskStatus, f.Watchdog, path, f.Stonith, f.StonithSource)
		switch {
		case 2*path > f.Stonith:
			out = append(out, res("watchdog vs self-fence path"+n, Fail, wm+": less than twice the path",
				fmt.Sprintf("the cluster may recover the fenced node's resources while it still runs them: lower self_fence.watchdog_timeout_s to at most %d, or raise stonith-timeout to at least %ds", max(1, int((f.Stonith/2-f.DiskStatus)/time.Second)), (2*path+time.Second-1)/time.Second)))
		case !f.StonithKnown:
			out = append(out, res("watchdog vs self-fence path"+n, Skip, wm, "run hwcheck on a cluster node with Pacemaker running to compare with the cluster's own stonith-timeout"))
		default:
			out = append(out, res("watchdog vs self-fence path"+n, Pass, wm+": at least twice the path", ""))
		}
	}
	return out
}

// safeDeadtime is the smallest deadtime that covers a measured worst
// silence: twice it (the silence seen in hours of running is not the worst
// the node will ever see), at least three keepalives, rounded up to 10 ms.
func safeDeadtime(worst, keepalive time.Duration) time.Duration {
	d := max(2*worst, 3*keepalive)
	return (d + 10*time.Millisecond - 1).Truncate(10 * time.Millisecond)
}

// silenceAudit compares the serial deadtime with the worst silence the
// node's agent measured between two of the peer's frames: a deadtime
// below twice that silence is a warning (a stall of that length declares a
// live peer dead), with the smallest safe deadtime and where the silence
// came from.
func silenceAudit(f timeoutFacts) Result {
	name := "serial deadtime vs worst silence (" + cableLabel(f.Node, f.Cable) + ")"
	switch {
	case f.Deadtime == 0:
		return res(name, Skip, "no serial heartbeat configured", "configure serial: in hwagent.yaml")
	case f.Silence <= 0:
		why := f.SilenceWhy
		if why == "" {
			why = "no silence measured yet (the peer not heard twice)"
		}
		return res(name, Skip, fmt.Sprintf("deadtime %v; %s", f.Deadtime, why), "run hwcheck again once the pair has run for a while under its usual load (hours give a figure worth trusting)")
	}
	worst := f.Silence.Round(time.Millisecond)
	// The peer's gap is read from its own clock: it may come out a little
	// longer than the silence here, which means nothing was added.
	where := fmt.Sprintf("the peer sent %v apart, the line and this node's kernel and reader added %v", f.SilenceLate.Round(time.Millisecond), max(f.Silence-f.SilenceLate, 0).Round(time.Millisecond))
	safe := safeDeadtime(f.Silence, f.Keepalive)
	m := fmt.Sprintf("the agent's longest silence between the peer's frames %v (%s); keepalive %v, deadtime %v; smallest safe deadtime %v (twice that silence, at least 3 keepalives, rounded up to 10 ms)",
		worst, where, f.Keepalive, f.Deadtime, safe)
	switch {
	case f.Silence >= f.Deadtime:
		return res(name, Skip, m+": that silence reached the deadtime (a cable pull, a dead peer, or a false death), so it cannot size the deadtime",
			fmt.Sprintf("if nothing was pulled or restarted, a false death happened: set timers.deadtime_ms to at least %d, keep serial.realtime_priority on, and run hwcheck again after a quiet day", safe.Milliseconds()))
	case f.Deadtime < safe:
		return res(name, Warn, m, fmt.Sprintf("a stall like the one measured, slightly longer, declares a live peer dead: set timers.deadtime_ms to at least %d", safe.Milliseconds()))
	}
	return res(name, Pass, m, "")
}

// silencesFrom reads the worst silence of each of a node's serial cables
// from its agent's heartbeat status: one copy of f per cable (f alone,
// with SilenceWhy, when the agent or its status is not there).
func silencesFrom(ctx context.Context, c Agent, f timeoutFacts) []timeoutFacts {
	if f.Deadtime == 0 {
		return []timeoutFacts{f}
	}
	if c == nil {
		f.SilenceWhy = "its agent is not reachable from here"
		return []timeoutFacts{f}
	}
	links, err := c.HeartbeatLinks(ctx)
	if err != nil {
		f.SilenceWhy = "its agent's heartbeat status: " + err.Error()
		return []timeoutFacts{f}
	}
	if len(links) == 0 {
		f.SilenceWhy = "its agent runs no serial cable"
		return []timeoutFacts{f}
	}
	out := make([]timeoutFacts, 0, len(links))
	for _, l := range links {
		g := f
		g.Cable, g.Silence, g.SilenceLate = l.Member, l.Status.MaxSilence, l.Status.MaxSilencePeerGap
		if l.Status.Timers.Keepalive > 0 {
			g.Keepalive = l.Status.Timers.Keepalive
		}
		out = append(out, g)
	}
	return out
}

// factsFor gathers one node's timers from its configuration.
func factsFor(c *agent.Config, t Totem, known bool, stonith time.Duration, source string, stonithKnown bool) timeoutFacts {
	f := timeoutFacts{Node: c.Node.Name, Totem: t, TotemKnown: known, Stonith: stonith, StonithSource: source, StonithKnown: stonithKnown,
		SelfFence: c.SelfFence.Action, Watchdog: time.Duration(c.SelfFence.WatchdogTimeoutS) * time.Second,
		DiskStatus: time.Duration(c.Timers.DiskStatusMS) * time.Millisecond}
	if c.Serial.Port != "" || len(c.SerialLinks()) > 0 {
		f.Deadtime = time.Duration(c.Timers.DeadtimeMS) * time.Millisecond
		f.Keepalive = time.Duration(c.Timers.KeepaliveMS) * time.Millisecond
	}
	if c.NIC.Interface != "" {
		f.NIC = nicDetection
	}
	return f
}

// Timeouts is the timeout audit: corosync's token and consensus against
// each other and against the serial and NIC detection, the serial deadtime
// against the worst silence each node's agent measured, and the watchdog's
// self-fence path against Pacemaker's stonith-timeout, for each node whose
// configuration is readable. The fence delay against stonith-timeout is
// the fencing probe's.
func Timeouts(ctx context.Context, env Env) []Result {
	if env.LocalConfig == nil {
		return skip("timeout audit", "no configuration", "pass --config")
	}
	read := env.Corosync
	if read == nil {
		read = CorosyncFrom("/etc/corosync/corosync.conf", exec.CommandContext)
	}
	var out []Result
	t, known, err := read(ctx)
	if err != nil {
		out = append(out, res("corosync configuration", Fail, err.Error(), "fix corosync.conf (corosync would not start with it either)"))
		known = false
	}
	rs := env.StonithTimeout
	if rs == nil {
		rs = StonithTimeoutFrom(exec.CommandContext)
	}
	limit, found, serr := rs(ctx)
	source := "the cluster's"
	switch {
	case serr != nil:
		limit, source = defaultStonithTimeout, "Pacemaker's default; the cluster's could not be read"
	case !found:
		source = "Pacemaker's default, the property not set"
	}
	for i, c := range []*agent.Config{env.LocalConfig, env.PeerConfig} {
		if c == nil {
			continue
		}
		cables := silencesFrom(ctx, []Agent{env.Local, env.Peer}[i], factsFor(c, t, known, limit, source, serr == nil))
		rs := auditTimeouts(cables[0])
		if i == 1 {
			rs = rs[1:] // corosync's own pair is the cluster's, said once
		}
		// Every other cable's silence audit beside the first one's.
		at := slices.IndexFunc(rs, func(r Result) bool { return strings.HasPrefix(r.Name, "serial deadtime vs worst silence") }) + 1
		var more []Result
		for _, f := range cables[1:] {
			more = append(more, silenceAudit(f))
		}
		out = append(out, slices.Insert(rs, at, more...)...)
	}
	// The other members' configurations are not read here (nor the
	// peer's without --peer-config): each of their cables' silence is
	// audited against the deadtime its agent runs with.
	var unread []Member
	if env.PeerConfig == nil && env.Peer != nil && len(env.LocalConfig.PeerList()) > 1 {
		unread = append(unread, Member{Name: env.LocalConfig.Peer.Name, Client: env.Peer})
	}
	for _, m := range append(unread, env.Others...) {
		links, err := m.Client.HeartbeatLinks(ctx)
		if err != nil {
			out = append(out, res("serial deadtime vs worst silence ("+m.Name+")", Skip, "its agent's heartbeat status: "+err.Error(), "configure serial: in "+m.Name+"'s hwagent.yaml"))
			continue
		}
		for _, l := range links {
			f := timeoutFacts{Node: m.Name, Cable: l.Member, Deadtime: l.Status.Timers.Deadtime, Keepalive: l.Status.Timers.Keepalive, Silence: l.Status.MaxSilence, SilenceLate: l.Status.MaxSilencePeerGap}
			out = append(out, silenceAudit(f))
		}
	}
	if env.PeerConfig == nil && env.Peer != nil && env.LocalConfig.Peer.Name != "" {
		out = append(out, peerSilence(ctx, env.LocalConfig.Peer.Name, env.Peer)...)
	}
	return out
}

// peerSilence is the peer's deadtime against its worst silence when only
// its agent is reachable (not its configuration): its timers as its
// heartbeat runs them.
func peerSilence(ctx context.Context, name string, c Agent) []Result {
	st, err := c.Heartbeat(ctx)
	if err != nil || st.Timers.Deadtime <= 0 {
		return nil // no serial heartbeat there, or said by the serial probe
	}
	return []Result{silenceAudit(timeoutFacts{Node: name, Deadtime: st.Timers.Deadtime, Keepalive: st.Timers.Keepalive, Silence: st.MaxSilence, SilenceLate: st.MaxSilencePeerGap})}
}
