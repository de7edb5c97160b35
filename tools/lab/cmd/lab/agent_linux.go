package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/agent/hw"
	"github.com/hakit/hakit/tools/lab"
)

// Guest files and commands of the agent scenario.
const (
	agentLog     = "/tmp/hwagent.log"
	eventsLog    = "/tmp/hwagent-events.log"
	relayLog     = "/tmp/relay.log"
	agentRun     = "hakit hwagent run"
	agentEvents  = "hakit hwagent events"
	agentRelay   = "hakit relay"
	peerSocket   = "/run/hakit/peer.sock"
	relayPort    = "7070"
	pollInterval = 100 * time.Millisecond
)

// running reports whether a process whose command line holds phrase runs on
// n.
func running(ctx context.Context, n *lab.Node, phrase string) bool {
	r, err := n.Run(ctx, append([]string{"hakit", "pgrep"}, strings.Fields(phrase)...)...)
	return err == nil && r.Code == 0
}

func stop(ctx context.Context, n *lab.Node, phrase string) error {
	_, err := do(ctx, n, 0, append([]string{"hakit", "pkill"}, strings.Fields(phrase)...)...)
	return err
}

func hwagentCmd(cmd string, flags ...string) []string {
	return append([]string{"hakit", "hwagent", cmd, "--config", agentConfigPath}, flags...)
}

// agentStatus reads hwagent status --json on n.
func agentStatus(ctx context.Context, n *lab.Node) (agent.Status, error) {
	out, err := do(ctx, n, 0, hwagentCmd("status", "--json")...)
	if err != nil {
		return agent.Status{}, err
	}
	var s agent.Status
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		return s, fmt.Errorf("node %s: hwagent status --json: %w: %s", n.Name(), err, out)
	}
	return s, nil
}

// peerHolds checks, with hwagent disks on n, that both keys are registered
// and the peer holds the reservation, and describes it.
func peerHolds(ctx context.Context, n *lab.Node) (string, error) {
	out, err := do(ctx, n, 0, hwagentCmd("disks", "--json")...)
	if err != nil {
		return "", err
	}
	var doc struct {
		Disks []agent.DiskStatus `json:"disks"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		return "", fmt.Errorf("node %s: hwagent disks --json: %w: %s", n.Name(), err, out)
	}
	ds := doc.Disks
	if len(ds) != 1 || !ds[0].Registered || !ds[0].PeerRegistered || ds[0].Owner || ds[0].Holder != ds[0].PeerKey {
		return "", fmt.Errorf("node %s: hwagent disks: want both keys registered and the peer holding: %s", n.Name(), out)
	}
	d := ds[0]
	return fmt.Sprintf("keys %v, holder %s (%s, the peer)", d.Keys, d.Holder, d.Type), nil
}

// heartbeatState is the serial heartbeat's state in a status.
func heartbeatState(s agent.Status) string {
	var hb struct {
		State string `json:"state"`
	}
	_ = json.Unmarshal(s.Heartbeat, &hb)
	return hb.State
}

// waitStatus polls hwagent status on n until ok holds, and returns how long
// it took.
func waitStatus(ctx context.Context, n *lab.Node, what string, ok func(agent.Status) bool, bound time.Duration) (time.Duration, error) {
	t := time.Now()
	for {
		s, err := agentStatus(ctx, n)
		if err == nil && ok(s) {
			return time.Since(t), nil
		}
		if time.Since(t) > bound {
			r, _ := n.Run(ctx, "cat", agentLog)
			return 0, fmt.Errorf("node %s: %s not seen in hwagent status within %v (last: %v, heartbeat %s, fenced %v); agent log:\n%s", n.Name(), what, bound, err, heartbeatState(s), s.Fenced, lastLines(r.Stdout, 20))
		}
		time.Sleep(pollInterval)
	}
}

// eventWatch waits for a new event of one kind on several nodes at once.
type eventWatch struct {
	source, kind string
	nodes        []*lab.Node
	before       []int
}

// watchEvents notes how many such events each node has logged so far; call
// it before the action that should raise them.
func watchEvents(ctx context.Context, source, kind string, nodes ...*lab.Node) *eventWatch {
	w := &eventWatch{source: source, kind: kind, nodes: nodes}
	for _, n := range nodes {
		r, _ := n.Run(ctx, "cat", eventsLog)
		w.before = append(w.before, countEvents(r.Stdout, source, kind))
	}
	return w
}

// wait returns, per node, how long after since (the action) its new event
// showed up; it gives up bound after since.
func (w *eventWatch) wait(ctx context.Context, since time.Time, bound time.Duration) ([]time.Duration, error) {
	took := make([]time.Duration, len(w.nodes))
	for i, n := range w.nodes {
		_, _, err := waitCount(ctx, n, eventsLog, fmt.Sprintf("%s %s event", w.source, w.kind),
			func(s string) int { return countEvents(s, w.source, w.kind) }, w.before[i], bound-time.Since(since))
		if err != nil {
			return nil, err
		}
		took[i] = time.Since(since)
	}
	return took, nil
}

// fenceAgent runs fence_hwagent on n with its options on stdin, as
// Pacemaker does, and wants exit 0 and the line want; it returns the output.
func fenceAgent(ctx context.Context, n *lab.Node, action, plug, want string) (string, error) {
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	r, err := n.RunInput(c, []byte(fenceStdin(action, plug)), "hakit", "fence_hwagent")
	if err != nil {
		return "", err
	}
	if r.Code != 0 || !strings.Contains(r.Stdout, want) {
		return "", fmt.Errorf("node %s: fence_hwagent action=%s plug=%s: exit %d, want %q: %s%s", n.Name(), action, plug, r.Code, want, r.Stdout, r.Stderr)
	}
	return strings.TrimSpace(r.Stdout), nil
}

// expect runs action and waits for a new event of source and kind on each
// node; it returns, per node, how long after the action the event showed.
func expect(ctx context.Context, source, kind string, nodes []*lab.Node, bound time.Duration, action func() error) ([]time.Duration, error) {
	w := watchEvents(ctx, source, kind, nodes...)
	t := time.Now()
	if err := action(); err != nil {
		return nil, err
	}
	return w.wait(ctx, t, bound)
}

func fmtPair(ds []time.Duration) string {
	return fmt.Sprintf("A %v, B %v", ds[0].Round(time.Millisecond), ds[1].Round(time.Millisecond))
}

// agentScenario runs hwagent on both nodes against the real UART, NIC and
// SG_IO disk, fences A from B through fence_hwagent and runs hwcheck on B,
// reaching A's agent over the heartbeat link. It leaves no agent running
// and the LUN without registrations.
func agentScenario(ctx context.Context, e *env) (string, error) {
	msgs, err := agentSteps(ctx, e)
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if cerr := agentCleanup(cctx, e); cerr != nil && err == nil {
		err = cerr
	}
	return strings.Join(msgs, "; "), err
}

func agentCleanup(ctx context.Context, e *env) error {
	var errs []error
	for _, n := range []*lab.Node{e.a, e.b} {
		for _, p := range []string{agentRelay, agentEvents, agentRun} {
			errs = append(errs, stop(ctx, n, p))
		}
	}
	// Registrations outlive the agents: clear them with whichever key is
	// still on the LUN (B's after the fence).
	for i, n := range []*lab.Node{e.b, e.a} {
		cfg, err := agent.ParseConfig("lab", []byte(nodeConfig(1-i, "")))
		if err != nil {
			return err
		}
		own, _, err := hw.Keys(cfg)
		if err != nil {
			return err
		}
		keys, err := do(ctx, n, 0, disk("keys")...)
		if err != nil {
			errs = append(errs, err)
			break
		}
		if strings.Contains(keys, own.String()) {
			_, err := do(ctx, n, 0, disk("clear", "--key", own.String(), "--yes")...)
			errs = append(errs, err)
			break
		}
	}
	return errors.Join(errs...)
}

func agentSteps(ctx context.Context, e *env) ([]string, error) {
	var msgs []string
	nodes := []*lab.Node{e.a, e.b}
	// The serial scenarios' hb run would share ttyS1 with the agent.
	for _, n := range nodes {
		if err := stop(ctx, n, hbRun); err != nil {
			return nil, err
		}
	}
	out, err := do(ctx, e.a, 0, disk("identify")...)
	if err != nil {
		return nil, err
	}
	id := parseIdentity(out)
	for i, n := range nodes {
		cfg := nodeConfig(i, id)
		if r, err := n.RunInput(ctx, []byte(cfg), "hakit", "put", agentConfigPath); err != nil || r.Code != 0 {
			return nil, fmt.Errorf("node %s: write %s: %v %s", n.Name(), agentConfigPath, err, r.Stderr)
		}
		if _, err := do(ctx, n, 0, "hakit", "hwagent", "check-config", "--config", agentConfigPath); err != nil {
			return nil, err
		}
	}
	t := time.Now()
	for _, n := range nodes {
		if _, err := n.StartBackground(ctx, agentLog, hwagentCmd("run")...); err != nil {
			return nil, err
		}
	}
	var alive [2]time.Duration
	for i, n := range nodes {
		if _, err := waitStatus(ctx, n, "serial heartbeat alive", func(s agent.Status) bool { return heartbeatState(s) == "alive" }, 30*time.Second); err != nil {
			return nil, err
		}
		alive[i] = time.Since(t)
		if _, err := n.StartBackground(ctx, eventsLog, hwagentCmd("events", "--since", "0", "--json")...); err != nil {
			return nil, err
		}
	}
	msgs = append(msgs, fmt.Sprintf("hwagent on both (ttyS1, eth0, %s over SG_IO %s): heartbeat alive after %s", agentDisk, id, fmtPair(alive[:])))

	worst, err := steps(ctx, []step{
		{e.a, 0, sg("tur")}, {e.b, 0, sg("tur")}, // absorb unit attentions left by other scenarios
		{e.a, 0, hwagentCmd("register")},
		{e.b, 0, hwagentCmd("register")},
		{e.a, 0, hwagentCmd("acquire")},
		{e.a, 0, sg("write")},
	})
	if err != nil {
		return msgs, err
	}
	// Write Exclusive, Registrants Only (as fence_scsi): B, registered, may
	// write too; what keeps A's writes out later is the fence.
	held, err := peerHolds(ctx, e.b)
	if err != nil {
		return msgs, err
	}
	msgs = append(msgs, fmt.Sprintf("register both, acquire from A: B reads %s (slowest call %v)", held, worst.Round(time.Millisecond)))

	// Serial cable pulled: both agents declare the peer dead.
	both := []*lab.Node{e.a, e.b}
	dead, err := expect(ctx, "heartbeat", "dead", both, 10*time.Second, func() error { return e.a.SetCable(ctx, false) })
	if err != nil {
		return msgs, err
	}
	bound := time.Duration(agentDeadtime+agentKeepalive)*time.Millisecond + 500*time.Millisecond // + polling slack
	back, err := expect(ctx, "heartbeat", "alive", both, 15*time.Second, func() error { return e.a.SetCable(ctx, true) })
	if err != nil {
		return msgs, err
	}
	msg := fmt.Sprintf("cable pulled -> heartbeat dead event after %s (bound %v = deadtime %dms + keepalive %dms + 500ms polling), replugged -> alive after %s", fmtPair(dead), bound, agentDeadtime, agentKeepalive, fmtPair(back))
	if max(dead[0], dead[1]) > bound {
		return msgs, errors.New(msg + ": over the bound")
	}
	msgs = append(msgs, msg)

	// Heartbeat link pulled (both ends down): each agent's NIC watch sees it.
	setLinks := func(up bool) func() error {
		return func() error { return errors.Join(e.a.SetLink(ctx, up), e.b.SetLink(ctx, up)) }
	}
	down, err := expect(ctx, "nic", "link-down", both, 15*time.Second, setLinks(false))
	if err != nil {
		return msgs, err
	}
	up, err := expect(ctx, "nic", "link-up", both, 15*time.Second, setLinks(true))
	if err != nil {
		return msgs, err
	}
	msgs = append(msgs, fmt.Sprintf("heartbeat link down at both ends -> nic link-down event after %s, up -> link-up after %s", fmtPair(down), fmtPair(up)))

	// B fences A as Pacemaker would: fence_hwagent with options on stdin.
	fw := watchEvents(ctx, "guard", "fenced", e.a)
	t = time.Now()
	out, err = fenceAgent(ctx, e.b, "off", agentNodes[0].name, "Success: Powered OFF")
	if err != nil {
		return msgs, err
	}
	fenceTook := time.Since(t)
	t = time.Now()
	guard, err := waitStatus(ctx, e.a, "fenced", func(s agent.Status) bool { return s.Fenced }, 10*time.Second)
	if err != nil {
		return msgs, err
	}
	ev, err := fw.wait(ctx, t, 10*time.Second)
	if err != nil {
		return msgs, err
	}
	if _, err := steps(ctx, []step{{e.a, 24, sg("write")}, {e.b, 0, sg("write")}}); err != nil {
		return msgs, err
	}
	// An ownership action on a fenced node is refused.
	if _, err := do(ctx, e.a, 1, hwagentCmd("acquire")...); err != nil {
		return msgs, err
	}
	msgs = append(msgs, fmt.Sprintf("fence_hwagent on B (stdin action=off plug=%s): %q in %v; A's guard raised fenced %v after it (status; event seen after %v, disk period %dms), A's write conflicts, A's acquire refused, B writes",
		agentNodes[0].name, out, fenceTook.Round(time.Millisecond), guard.Round(time.Millisecond), ev[0].Round(time.Millisecond), agentDiskPeriod))

	// A comes back as Pacemaker's unfencing does: action=on on A itself.
	t = time.Now()
	if _, err := fenceAgent(ctx, e.a, "on", agentNodes[0].name, "Success: Powered ON"); err != nil {
		return msgs, err
	}
	onTook := time.Since(t)
	if _, err := waitStatus(ctx, e.a, "not fenced", func(s agent.Status) bool { return !s.Fenced }, 5*time.Second); err != nil {
		return msgs, err
	}
	msgs = append(msgs, fmt.Sprintf("fence_hwagent on A (stdin action=on plug=%s): unfenced in %v", agentNodes[0].name, onTook.Round(time.Millisecond)))

	sum, err := hwcheckOnB(ctx, e)
	if err != nil {
		return msgs, err
	}
	return append(msgs, sum), nil
}

// hwcheckOnB runs hwcheck on B, with the consent to the PR matrix (the
// LUN is the lab's). hwcheck wants both agents' sockets; A's is in another
// VM, so a relay carries it over the heartbeat link (TCP on eth0) to a
// socket on B. Without it only the inventory runs: the serial, NIC,
// shared-disk, PR-matrix and RAID checks read both agents. The SCSI-2 test
// stays skipped: it drives both nodes' initiators itself, which needs
// iscsi:// disks, not the guests' /dev/sg0.
func hwcheckOnB(ctx context.Context, e *env) (string, error) {
	aAddr, _, _ := strings.Cut(e.a.Spec().Addr, "/")
	if _, err := e.a.StartBackground(ctx, relayLog, "hakit", "relay", "tcp:"+aAddr+":"+relayPort, "unix:"+agentSocket); err != nil {
		return "", err
	}
	if _, _, err := waitLine(ctx, e.a, relayLog, "relay ", 0, 5*time.Second); err != nil {
		return "", err
	}
	if _, err := e.b.StartBackground(ctx, relayLog, "hakit", "relay", "unix:"+peerSocket, "tcp:"+aAddr+":"+relayPort); err != nil {
		return "", err
	}
	if _, _, err := waitLine(ctx, e.b, relayLog, "relay ", 0, 5*time.Second); err != nil {
		return "", err
	}
	c, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	t := time.Now()
	r, err := e.b.Run(c, "hakit", "hwcheck", "--config", agentConfigPath, "--peer-socket", peerSocket, "--inventory", "--pr-test")
	if err != nil {
		return "", err
	}
	took := time.Since(t)
	summary := lastLines(strings.TrimSpace(r.Stdout), 1)
	if r.Code != 0 {
		return "", fmt.Errorf("node b: hwcheck: exit %d:\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	var notPass []string
	for _, l := range strings.Split(r.Stdout, "\n") {
		if f := strings.Fields(l); len(f) > 1 && (f[0] == "[WARN]" || f[0] == "[SKIP]") {
			notPass = append(notPass, strings.Join(f, " "))
		}
	}
	return fmt.Sprintf("hwcheck on B with A's agent relayed over eth0: %q (host %v); not passed: %s", summary, took.Round(time.Millisecond), strings.Join(notPass, " | ")), nil
}
