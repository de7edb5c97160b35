package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/hakit/hakit/tools/lab"
)

// scenario is one acceptance check on a running lab. It returns a line of
// what it measured.
type scenario struct {
	name string
	ci   bool // part of the smaller CI set
	run  func(ctx context.Context, e *env) (string, error)
}

func scenarios() []scenario {
	return []scenario{
		{"identify", true, identify},
		{"persistent", true, persistent},
		{"scsi2", false, scsi2},
		{"serial", true, serialHB},
		{"nic", true, nicLink},
		{"freeze", false, freeze},
		{"lio", false, lioSPC4},
		{"agent", true, agentScenario},
	}
}

// env is what the scenarios share.
type env struct {
	lab  *lab.Lab
	a, b *lab.Node
	out  io.Writer
}

func pick(sel string) ([]scenario, error) {
	all := scenarios()
	switch sel {
	case "", "all":
		return all, nil
	case "ci":
		return slices.DeleteFunc(all, func(s scenario) bool { return !s.ci }), nil
	}
	want := strings.Split(sel, ",")
	var out []scenario
	for _, w := range want {
		i := slices.IndexFunc(all, func(s scenario) bool { return s.name == w })
		if i < 0 {
			return nil, fmt.Errorf("unknown scenario %q", w)
		}
		out = append(out, all[i])
	}
	return out, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parse(args, stderr)
	if err != nil {
		return err
	}
	sel, err := pick(o.scenarios)
	if err != nil {
		return err
	}
	if o.list {
		for _, s := range scenarios() {
			fmt.Fprintf(stdout, "%s\tci=%v\n", s.name, s.ci)
		}
		return nil
	}
	log := newLogger(stderr, o.verbose)
	total := time.Now()
	t := time.Now()
	parts, err := lab.Prepare(ctx, lab.PartsConfig{CacheDir: o.cache, Install: !o.noInstall, Logger: log})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "parts: %v (kernel %s, initramfs rebuilt=%v)\n", time.Since(t).Round(time.Millisecond), parts.KernelPackage, parts.Rebuilt)
	t = time.Now()
	l, err := lab.Start(ctx, lab.Config{Parts: parts, NIC: o.nic, BootTimeout: o.bootTimeout, Logger: log})
	if err != nil {
		return err
	}
	defer l.Close()
	e := &env{lab: l, a: l.Node(0), b: l.Node(1), out: stdout}
	fmt.Fprintf(stdout, "boot: two nodes ready in %v (a %v, b %v)\n", time.Since(t).Round(time.Millisecond), e.a.BootTime().Round(time.Millisecond), e.b.BootTime().Round(time.Millisecond))
	var failed []string
	for _, s := range sel {
		t := time.Now()
		sctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		msg, err := s.run(sctx, e)
		cancel()
		d := time.Since(t).Round(time.Millisecond)
		if err != nil {
			failed = append(failed, s.name)
			fmt.Fprintf(stdout, "FAIL %-10s %v: %v\n", s.name, d, err)
			continue
		}
		fmt.Fprintf(stdout, "ok   %-10s %v: %s\n", s.name, d, msg)
	}
	fmt.Fprintf(stdout, "lab: %d scenarios in %v\n", len(sel), time.Since(total).Round(time.Millisecond))
	fmt.Fprintf(stdout, "lab: %d passed, %d failed\n", len(sel)-len(failed), len(failed))
	if len(failed) > 0 {
		return fmt.Errorf("failed scenarios: %s", strings.Join(failed, ", "))
	}
	return nil
}

// codeUnitAttention is the probe's exit code for a unit attention.
const codeUnitAttention = 6

// do runs argv on n and wants exit code want. A unit attention is reported
// once per event (a reset, a preemption): the command is then retried, as
// an initiator must.
func do(ctx context.Context, n *lab.Node, want int, argv ...string) (string, error) {
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var r lab.Result
	for range 3 {
		var err error
		if r, err = n.Run(c, argv...); err != nil {
			return "", err
		}
		if r.Code != codeUnitAttention || want == codeUnitAttention {
			break
		}
	}
	if r.Code != want {
		return r.Stdout, fmt.Errorf("node %s: %s: exit %d, want %d: %s%s", n.Name(), strings.Join(argv, " "), r.Code, want, r.Stdout, r.Stderr)
	}
	return r.Stdout, nil
}

const sgDev = "/dev/sg0"

func sg(args ...string) []string { return append([]string{"hakit", "sg", sgDev}, args...) }

// disk builds a hakit disk command line on the shared LUN (flags first).
func disk(cmd string, flags ...string) []string {
	return append(append([]string{"hakit", "disk", cmd}, flags...), sgDev)
}

func identify(ctx context.Context, e *env) (string, error) {
	var ids [2]string
	for i, n := range []*lab.Node{e.a, e.b} {
		out, err := do(ctx, n, 0, disk("identify")...)
		if err != nil {
			return "", err
		}
		ids[i] = out
	}
	if ids[0] != ids[1] {
		return "", fmt.Errorf("identities differ:\n--- a ---\n%s--- b ---\n%s", ids[0], ids[1])
	}
	if want := e.lab.Disk().Serial(); !strings.Contains(ids[0], want) {
		return "", fmt.Errorf("identity lacks the LUN serial %s:\n%s", want, ids[0])
	}
	return "hakit disk identify prints the same on both nodes (over SG_IO): " + strings.Join(strings.Fields(ids[0]), " "), nil
}

// step is one command with its expected exit code.
type step struct {
	n    *lab.Node
	want int
	argv []string
}

func steps(ctx context.Context, ss []step) (time.Duration, error) {
	var worst time.Duration
	for _, s := range ss {
		t := time.Now()
		if _, err := do(ctx, s.n, s.want, s.argv...); err != nil {
			return 0, err
		}
		worst = max(worst, time.Since(t))
	}
	return worst, nil
}

func persistent(ctx context.Context, e *env) (string, error) {
	const keyA, keyB = "0xa1", "0xb1"
	worst, err := steps(ctx, []step{
		{e.a, 0, sg("tur")}, {e.b, 0, sg("tur")}, // absorb power-on unit attentions
		{e.a, 0, disk("register", "--key", keyA)},
		{e.b, 0, disk("register", "--key", keyB)},
		{e.a, 0, disk("reserve", "--key", keyA, "--type", "we")},
		{e.b, 0, sg("read")},
		{e.b, 24, sg("write")},
		{e.a, 0, sg("write")},
	})
	if err != nil {
		return "", err
	}
	t := time.Now()
	// The shared LUN is the host's tgtd, which refuses PREEMPT AND ABORT.
	fence, err := do(ctx, e.b, 0, disk("fence", "--key", keyB, "--victim", keyA, "--type", "we", "--allow-preempt-without-abort")...)
	if err != nil {
		return "", err
	}
	fenceTook := time.Since(t)
	if _, err := steps(ctx, []step{
		{e.a, 24, sg("write")},
		{e.b, 0, sg("write")},
	}); err != nil {
		return "", err
	}
	keys, err := do(ctx, e.b, 0, disk("keys")...)
	if err != nil {
		return "", err
	}
	if strings.Contains(keys, keyA) || !strings.Contains(keys, keyB) {
		return "", fmt.Errorf("after fence hakit disk keys shows %q, want only %s", keys, keyB)
	}
	if _, err := do(ctx, e.b, 0, disk("clear", "--key", keyB, "--yes")...); err != nil {
		return "", err
	}
	return fmt.Sprintf("both register, A reserves (Write Exclusive), B's write conflicts, B fences A in %v (%s), A's write conflicts; slowest step %v",
		fenceTook.Round(time.Millisecond), strings.Join(strings.Fields(fence), " "), worst.Round(time.Millisecond)), nil
}

func scsi2(ctx context.Context, e *env) (string, error) {
	if _, err := steps(ctx, []step{
		{e.a, 0, sg("reserve6")},
		{e.b, 24, sg("tur")},
		{e.b, 24, sg("reserve6")},
	}); err != nil {
		return "", err
	}
	t := time.Now()
	if err := e.a.PowerOff(ctx); err != nil {
		return "", err
	}
	var took time.Duration
	for {
		c, cancel := context.WithTimeout(ctx, 20*time.Second)
		r, err := e.b.Run(c, sg("reserve6")...)
		cancel()
		if err != nil {
			return "", err
		}
		if r.Code == 0 {
			took = time.Since(t)
			break
		}
		if ctx.Err() != nil {
			return "", fmt.Errorf("node b never took the reservation over: %w", ctx.Err())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if _, err := do(ctx, e.b, 0, sg("release6")...); err != nil {
		return "", err
	}
	t = time.Now()
	if err := e.a.PowerOn(ctx); err != nil {
		return "", err
	}
	return fmt.Sprintf("A RESERVE(6): B TUR and RESERVE conflict; A powered off -> B's RESERVE succeeds after %v; A back on in %v", took.Round(time.Millisecond), time.Since(t).Round(time.Millisecond)), nil
}

// Heartbeat timers over the UART (ms), and the lines hb run prints on a
// state change.
const (
	hbInterval = 200
	hbDead     = 1000
	hbLog      = "/tmp/hb.log"
	linkLog    = "/tmp/nicwatch.log"
	hbAlive    = "-> alive"
	hbRun      = "hakit hb run" // its command line, for pgrep and pkill
	hbDeadLine = "-> dead"
)

// waitLine polls a guest log until it holds more than `after` lines holding
// pat, and returns the host time it took and the new count.
func waitLine(ctx context.Context, n *lab.Node, path, pat string, after int, bound time.Duration) (time.Duration, int, error) {
	return waitCount(ctx, n, path, fmt.Sprintf("%q line", pat), func(s string) int { return countLines(s, pat) }, after, bound)
}

// waitCount polls a guest log until count finds more than `after` things
// (what names them) in it, and returns the host time it took and the new
// count.
func waitCount(ctx context.Context, n *lab.Node, path, what string, count func(string) int, after int, bound time.Duration) (time.Duration, int, error) {
	t := time.Now()
	for {
		c, cancel := context.WithTimeout(ctx, 10*time.Second)
		r, err := n.Run(c, "cat", path)
		cancel()
		if err != nil {
			return 0, 0, err
		}
		cnt := count(r.Stdout)
		if cnt > after {
			return time.Since(t), cnt, nil
		}
		if time.Since(t) > bound {
			return 0, 0, fmt.Errorf("node %s: no new %s in %s within %v; log:\n%s", n.Name(), what, path, bound, lastLines(r.Stdout, 30))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// count counts the lines of a guest file that hold pat (0 when it is
// missing).
func count(ctx context.Context, n *lab.Node, path, pat string) int {
	r, err := n.Run(ctx, "cat", path)
	if err != nil {
		return 0
	}
	return countLines(r.Stdout, pat)
}

// countLines counts the lines of s that hold pat.
func countLines(s, pat string) int {
	cnt := 0
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, pat) {
			cnt++
		}
	}
	return cnt
}

// ensureBeat starts serialhb (hakit hb run) on ttyS1 of both nodes once and
// waits until both see the peer alive.
func ensureBeat(ctx context.Context, e *env) error {
	for i, n := range []*lab.Node{e.a, e.b} {
		// Another scenario (agent) may have stopped it.
		if count(ctx, n, hbLog, hbAlive) > 0 && running(ctx, n, hbRun) {
			continue
		}
		if _, err := n.StartBackground(ctx, hbLog, "hakit", "hb", "run", "--port", "/dev/ttyS1", "--baud", "115200",
			"--key-file", lab.HeartbeatKeyFile, "--node", fmt.Sprint(i+1), "--peer", fmt.Sprint(2-i),
			"--keepalive", fmt.Sprint(hbInterval), "--deadtime", fmt.Sprint(hbDead)); err != nil {
			return err
		}
	}
	for _, n := range []*lab.Node{e.a, e.b} {
		if _, _, err := waitLine(ctx, n, hbLog, hbAlive, 0, 20*time.Second); err != nil {
			return err
		}
	}
	return nil
}

func serialHB(ctx context.Context, e *env) (string, error) {
	if err := ensureBeat(ctx, e); err != nil {
		return "", err
	}
	deads, alives := count(ctx, e.b, hbLog, hbDeadLine), count(ctx, e.b, hbLog, hbAlive)
	if err := e.a.SetCable(ctx, false); err != nil {
		return "", err
	}
	bound := time.Duration(hbDead+hbInterval)*time.Millisecond + 500*time.Millisecond // + polling slack
	dead, _, err := waitLine(ctx, e.b, hbLog, hbDeadLine, deads, 10*time.Second)
	if err != nil {
		return "", err
	}
	if err := e.a.SetCable(ctx, true); err != nil {
		return "", err
	}
	alive, _, err := waitLine(ctx, e.b, hbLog, hbAlive, alives, 15*time.Second)
	if err != nil {
		return "", err
	}
	msg := fmt.Sprintf("serialhb over the UART, keepalive %dms deadtime %dms: cable pulled -> B dead after %v (bound %v), replugged -> alive after %v", hbInterval, hbDead, dead.Round(time.Millisecond), bound, alive.Round(time.Millisecond))
	if dead > bound {
		return "", errors.New(msg + ": over the bound")
	}
	return msg, nil
}

func nicLink(ctx context.Context, e *env) (string, error) {
	// Lines of nic watch: the initial state, then each change.
	const present, lost, back = "eth0 present", "carrier up->down", "carrier down->up"
	var parts []string
	for _, n := range []*lab.Node{e.a, e.b} {
		if count(ctx, n, linkLog, present) == 0 {
			if _, err := n.StartBackground(ctx, linkLog, "hakit", "nic", "watch", "eth0"); err != nil {
				return "", err
			}
			if _, _, err := waitLine(ctx, n, linkLog, present, 0, 10*time.Second); err != nil {
				return "", err
			}
		}
		// e1000 raises carrier about 2 s after the init sets eth0 up.
		if count(ctx, n, linkLog, present+": admin up carrier up") == 0 {
			if _, _, err := waitLine(ctx, n, linkLog, back, 0, 15*time.Second); err != nil {
				return "", err
			}
		}
		downs, ups := count(ctx, n, linkLog, lost), count(ctx, n, linkLog, back)
		if err := n.SetLink(ctx, false); err != nil {
			return "", err
		}
		down, _, err := waitLine(ctx, n, linkLog, lost, downs, 15*time.Second)
		if err != nil {
			return "", err
		}
		if err := n.SetLink(ctx, true); err != nil {
			return "", err
		}
		up, _, err := waitLine(ctx, n, linkLog, back, ups, 15*time.Second)
		if err != nil {
			return "", err
		}
		parts = append(parts, fmt.Sprintf("%s: carrier lost after %v, back after %v", n.Name(), down.Round(time.Millisecond), up.Round(time.Millisecond)))
	}
	return "set_link on each end, seen by nic watch in the guest: " + strings.Join(parts, "; "), nil
}

func freeze(ctx context.Context, e *env) (string, error) {
	if err := ensureBeat(ctx, e); err != nil {
		return "", err
	}
	deads, alives := count(ctx, e.b, hbLog, hbDeadLine), count(ctx, e.b, hbLog, hbAlive)
	if err := e.a.Freeze(ctx); err != nil {
		return "", err
	}
	dead, _, err := waitLine(ctx, e.b, hbLog, hbDeadLine, deads, 10*time.Second)
	if err != nil {
		_ = e.a.Thaw(ctx)
		return "", err
	}
	if err := e.a.Thaw(ctx); err != nil {
		return "", err
	}
	alive, _, err := waitLine(ctx, e.b, hbLog, hbAlive, alives, 10*time.Second)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("A frozen -> B declares it dead after %v; thawed -> alive after %v", dead.Round(time.Millisecond), alive.Round(time.Millisecond)), nil
}

// lioSPC4 sets up LIO in node A and runs what tgtd lacks: through tcm_loop
// (two initiator ports onto one RAM LUN, over SG_IO) READ FULL STATUS,
// PREEMPT and APTPL; through LIO's iSCSI fabric (hakit's own initiator as
// two nodes) PREEMPT AND ABORT, READ FULL STATUS and APTPL; then two agents
// on two LUNs of that target, one session per initiator.
func lioSPC4(ctx context.Context, e *env) (string, error) {
	msg, err := lioSteps(ctx, e)
	if err == nil {
		var m string
		m, err = lioISCSI(ctx, e.a)
		msg += "; " + m
	}
	if err != nil {
		if r, derr := e.a.Run(ctx, "dmesg"); derr == nil {
			err = fmt.Errorf("%w\n--- dmesg of a (tail) ---\n%s", err, lastLines(r.Stdout, 25))
		}
	}
	return msg, err
}

func lioSteps(ctx context.Context, e *env) (string, error) {
	out, err := do(ctx, e.a, 0, "hakit", "lio", "setup")
	if err != nil {
		return "", err
	}
	paths := strings.Fields(out)
	if len(paths) != 2 {
		return "", fmt.Errorf("lio setup printed %q, want two sg paths", out)
	}
	p1, p2 := paths[0], paths[1]
	at := func(dev string, args ...string) []string { return append([]string{"hakit", "sg", dev}, args...) }
	const key1, key2 = "0x11", "0x22"
	worst, err := steps(ctx, []step{
		{e.a, 0, at(p1, "tur")}, {e.a, 0, at(p2, "tur")},
		{e.a, 0, at(p1, "register", key1)},
		{e.a, 0, at(p2, "register", key2)},
		{e.a, 0, at(p1, "reserve", key1)},
		{e.a, 24, at(p2, "write")},
	})
	if err != nil {
		return "", err
	}
	before, err := do(ctx, e.a, 0, at(p2, "fullstatus")...)
	if err != nil {
		return "", err
	}
	if countLines(before, "key=") != 2 || !strings.Contains(before, "key="+key1+" holder=true") {
		return "", fmt.Errorf("READ FULL STATUS before preempt: %q, want two registrations, %s holding", before, key1)
	}
	// PREEMPT AND ABORT through tcm_loop deadlocks Debian's 6.1 kernel:
	// core_tmr_lun_reset flushes the submission work it runs in
	// (target_queued_submit_work), so the command never completes. The
	// scenario preempts without abort and says so.
	if _, err := steps(ctx, []step{
		{e.a, 0, at(p2, "preempt", key2, key1)},
		{e.a, 24, at(p1, "write")},
		{e.a, 0, at(p2, "write")},
	}); err != nil {
		return "", err
	}
	after, err := do(ctx, e.a, 0, at(p2, "fullstatus")...)
	if err != nil {
		return "", err
	}
	if countLines(after, "key=") != 1 || !strings.Contains(after, "key="+key2+" holder=true") {
		return "", fmt.Errorf("READ FULL STATUS after PREEMPT: %q, want only %s, holding", after, key2)
	}
	if _, err := do(ctx, e.a, 0, at(p1, "register-aptpl", "0x33")...); err != nil {
		return "", err
	}
	caps, err := do(ctx, e.a, 0, at(p2, "caps")...)
	if err != nil {
		return "", err
	}
	if !strings.Contains(caps, "ptpl_a=true") {
		return "", fmt.Errorf("after REGISTER with APTPL, REPORT CAPABILITIES says %q, want ptpl_a=true", caps)
	}
	first := func(s string) string { l, _, _ := strings.Cut(s, "\n"); return l }
	return fmt.Sprintf("LIO via tcm_loop (%s, %s): READ FULL STATUS shows both I_T nexuses, PREEMPT removes %s and its writes conflict, APTPL accepted (%s); PREEMPT AND ABORT not run there (deadlocks tcm_loop on kernel 6.1); slowest command %v",
		p1, p2, key1, first(caps), worst.Round(time.Millisecond)), nil
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(l[max(0, len(l)-n):], "\n")
}
