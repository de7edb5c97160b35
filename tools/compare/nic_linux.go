//go:build linux

package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hakit/hakit/internal/rig"
	"github.com/hakit/hakit/nic"
	"github.com/hakit/hakit/tools/compare/report"
)

const ethmonitorAgent = "/usr/lib/ocf/resource.d/heartbeat/ethmonitor"

// ethmonitorInterval is the monitor interval of ethmonitor's metadata
// (10 s), which Pacemaker uses unless told otherwise; repeat_count 5 and
// repeat_interval 10 s are its defaults.
const ethmonitorInterval = 10 * time.Second

// ethmonitorRun runs ethmonitor in side A's namespace as Pacemaker's
// executor does: start once, then monitor every interval after the last
// one ended. attrd_updater is a stand-in on PATH that reports the
// attribute's value on a FIFO (no Pacemaker runs here); the value 0 is
// "link down".
type ethmonitorRun struct {
	events chan stamp
	stop   func()
}

func startEthmonitor(ctx context.Context, e *env, nw *rig.Net) (*ethmonitorRun, error) {
	dir := filepath.Join(e.dir, "ethmonitor")
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return nil, err
	}
	fifoPath := filepath.Join(dir, "attrd.fifo")
	_ = os.Remove(fifoPath)
	fifo, err := mkfifo(fifoPath)
	if err != nil {
		return nil, err
	}
	shim := fmt.Sprintf("#!/bin/sh\n# attrd_updater stand-in: the arguments, one line\necho \"$*\" >> %s\nexit 0\n", fifoPath)
	if err := writeFile(filepath.Join(bin, "attrd_updater"), shim, 0o755); err != nil {
		fifo.Close()
		return nil, err
	}
	r := &ethmonitorRun{events: make(chan stamp, 64)}
	go watchLines(e.log, "ethmonitor", fifo, func(l string) string {
		switch {
		case strings.Contains(l, "-v 0"):
			return "dead"
		case strings.Contains(l, "-v "):
			return "alive"
		}
		return ""
	}, r.events, nil, nil)
	env := append(os.Environ(),
		"PATH="+bin+":"+os.Getenv("PATH"),
		"OCF_ROOT=/usr/lib/ocf",
		"OCF_RESOURCE_INSTANCE=hakit-compare-eth",
		"OCF_RESKEY_interface="+nw.Interface(rig.A),
		"OCF_RESKEY_CRM_meta_interval="+fmt.Sprint(ethmonitorInterval.Milliseconds()),
		"OCF_RESKEY_CRM_meta_timeout=60000",
		"HA_RSCTMP="+dir,
	)
	op := func(ctx context.Context, action string) error {
		c := exec.CommandContext(ctx, "ip", "netns", "exec", nw.Namespace(rig.A), ethmonitorAgent, action)
		c.Env = env
		out, err := c.CombinedOutput()
		if err != nil && action == "start" {
			return fmt.Errorf("ethmonitor start: %v: %s", err, out)
		}
		return nil
	}
	if err := op(ctx, "start"); err != nil {
		fifo.Close()
		return nil, err
	}
	mctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for mctx.Err() == nil {
			_ = op(mctx, "monitor")
			_ = sleepCtx(mctx, ethmonitorInterval)
		}
	}()
	r.stop = func() {
		cancel()
		wg.Wait()
		_ = op(context.Background(), "stop")
		fifo.Close()
	}
	return r, nil
}

// corosyncPair is corosync 3 (knet) on both ends of the link, each in its
// network namespace and a mount namespace of its own (/run, /dev/shm,
// /var/lib/corosync); node A's knet link events are timed.
type corosyncPair struct {
	events chan stamp
	stop   func()
}

func corosyncConf(nw *rig.Net) string {
	return fmt.Sprintf(`totem {
	version: 2
	cluster_name: hakit-compare
	transport: knet
	crypto_cipher: none
	crypto_hash: none
}
nodelist {
	node {
		ring0_addr: %s
		name: node-a
		nodeid: 1
	}
	node {
		ring0_addr: %s
		name: node-b
		nodeid: 2
	}
}
quorum {
	provider: corosync_votequorum
	two_node: 1
}
logging {
	to_stderr: yes
	to_syslog: no
	to_logfile: no
	timestamp: on
}
`, nw.Addr(rig.A).Addr(), nw.Addr(rig.B).Addr())
}

func startCorosync(ctx context.Context, e *env, nw *rig.Net) (*corosyncPair, error) {
	conf := filepath.Join(e.dir, "corosync.conf")
	if err := writeFile(conf, corosyncConf(nw), 0o644); err != nil {
		return nil, err
	}
	p := &corosyncPair{events: make(chan stamp, 64)}
	var cmds []*exec.Cmd
	p.stop = func() {
		for _, c := range cmds {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
	}
	for _, s := range []rig.Side{rig.A, rig.B} {
		script := "mount -t tmpfs -o mode=0755 tmpfs /run && mount -t tmpfs -o mode=1777 tmpfs /dev/shm && mount -t tmpfs -o mode=0755 tmpfs /var/lib/corosync && exec corosync -f -c " + conf
		c := exec.Command("ip", "netns", "exec", nw.Namespace(s), "unshare", "--mount", "--propagation", "private", "sh", "-c", script)
		out, err := c.StderrPipe()
		if err != nil {
			p.stop()
			return nil, err
		}
		if err := c.Start(); err != nil {
			p.stop()
			return nil, err
		}
		cmds = append(cmds, c)
		e.track(func() { killTreeOf(c.Process.Pid, "corosync") })
		if s == rig.A {
			go watchLines(e.log, "corosync A", out, knetState, p.events, nil, nil)
		} else {
			go watchLines(e.log, "corosync B", out, func(string) string { return "" }, make(chan stamp), nil, nil)
		}
	}
	if _, err := waitKind(ctx, p.events, "alive", 30*time.Second); err != nil {
		p.stop()
		return nil, fmt.Errorf("corosync: node A's knet link to node B never came up: %w", err)
	}
	return p, nil
}

// knetState reads corosync's knet log lines about host 2's link 0.
func knetState(l string) string {
	switch {
	case strings.Contains(l, "host: 2 link: 0 is down"):
		return "dead"
	case strings.Contains(l, "host: 2 link: 0 is up"):
		return "alive"
	}
	return ""
}

// flap takes node B's end down (node A loses its carrier), waits for
// ch's dead, brings it back and waits for ch's alive.
func flap(ctx context.Context, nw *rig.Net, ch <-chan stamp, within time.Duration) (down, up time.Duration, err error) {
	drain(ch)
	t0 := time.Now()
	if err := nw.SetLink(ctx, rig.B, false); err != nil {
		return 0, 0, err
	}
	d, err := waitKind(ctx, ch, "dead", within)
	if err != nil {
		_ = nw.SetLink(ctx, rig.B, true)
		return 0, 0, err
	}
	drain(ch)
	t1 := time.Now()
	if err := nw.SetLink(ctx, rig.B, true); err != nil {
		return 0, 0, err
	}
	u, err := waitKind(ctx, ch, "alive", within)
	if err != nil {
		return 0, 0, err
	}
	return d.at.Sub(t0), u.at.Sub(t1), nil
}

// hakitNIC is hakit's netlink watch of node A's end: carrier down and up.
func hakitNIC(ctx context.Context, nw *rig.Net) (chan stamp, func(), error) {
	wctx, cancel := context.WithCancel(ctx)
	w, err := nic.Watch(wctx, nic.WatchConfig{NetNS: nw.Namespace(rig.A), Interfaces: []string{nw.Interface(rig.A)}})
	if err != nil {
		cancel()
		return nil, nil, err
	}
	ch := make(chan stamp, 64)
	go func() {
		for ev := range w.Events() {
			now := time.Now()
			if ev.Old.Carrier == ev.New.Carrier {
				continue
			}
			var k string
			switch ev.New.Carrier {
			case nic.CarrierDown:
				k = "dead"
			case nic.CarrierUp:
				k = "alive"
			default:
				continue
			}
			select {
			case ch <- stamp{now, k}:
			default:
			}
		}
	}()
	return ch, func() { cancel(); <-w.Done() }, nil
}

func nicRow(ctx context.Context, e *env) (report.Row, error) {
	row := report.Row{ID: "2", Title: "Heartbeat NIC on one veth pair (node B's end set down, node A timed)", Peer: "ethmonitor, corosync 3.1.7 knet",
		HakitConfig: "the agent's netlink watch (nic.Watch: RTNLGRP_LINK events in node A's namespace), carrier down and up",
		PeerConfig:  fmt.Sprintf("resource-agents ethmonitor as Pacemaker runs it: monitor every %v (its metadata's interval), repeat_count 5, repeat_interval 10 s (its defaults), link down = the node attribute set to 0 (attrd_updater stand-in); corosync 3.1.7, knet, crypto off, token and knet timers at their defaults, both nodes in their own namespaces, link down = knet logging \"host: 2 link: 0 is down\"; ratios against hakit on the same flaps", ethmonitorInterval),
	}
	if err := need(ethmonitorAgent, "corosync", "ip"); err != nil {
		row.Missing = err.Error()
		return row, nil
	}
	nw, err := rig.NewNet(ctx, rig.NetConfig{Logger: e.log})
	if err != nil {
		return row, err
	}
	defer nw.Close()
	if err := nw.WaitOperState(ctx, rig.A, "UP", 10*time.Second); err != nil {
		return row, err
	}
	hch, hstop, err := hakitNIC(ctx, nw)
	if err != nil {
		return row, err
	}
	defer hstop()

	ethDown := report.Metric{Name: "ethmonitor: link down seen", Unit: "ms"}
	ethUp := report.Metric{Name: "ethmonitor: link up seen", Unit: "ms"}
	coroDown := report.Metric{Name: "corosync knet: link down seen", Unit: "ms"}
	coroUp := report.Metric{Name: "corosync knet: link up seen", Unit: "ms"}
	hakitFlap := func(down, up *report.Metric) error {
		time.Sleep(200 * time.Millisecond)
		d, u, err := flap(ctx, nw, hch, 10*time.Second)
		if err != nil {
			return fmt.Errorf("hakit: %w", err)
		}
		down.Hakit, up.Hakit = append(down.Hakit, msf(d)), append(up.Hakit, msf(u))
		return nil
	}

	// ethmonitor: each flap lands at a random phase of its monitor
	// interval. Its trials take about 50 s each.
	ethTrials := max(1, e.trials/3)
	em, err := startEthmonitor(ctx, e, nw)
	if err != nil {
		return row, err
	}
	if _, err := waitKind(ctx, em.events, "alive", 2*ethmonitorInterval); err != nil {
		em.stop()
		return row, fmt.Errorf("ethmonitor: no first monitor: %w", err)
	}
	for t := range ethTrials {
		e.say("row 2: hakit and ethmonitor trial %d/%d", t+1, ethTrials)
		if err := hakitFlap(&ethDown, &ethUp); err != nil {
			em.stop()
			return row, err
		}
		if err := sleepCtx(ctx, rand.N(ethmonitorInterval)); err != nil {
			em.stop()
			return row, err
		}
		d, u, err := flap(ctx, nw, em.events, 8*ethmonitorInterval)
		if err != nil {
			em.stop()
			return row, fmt.Errorf("ethmonitor: %w", err)
		}
		ethDown.Peer, ethUp.Peer = append(ethDown.Peer, msf(d)), append(ethUp.Peer, msf(u))
	}
	em.stop()

	cp, err := startCorosync(ctx, e, nw)
	if err != nil {
		return row, err
	}
	defer cp.stop()
	for t := range e.trials {
		e.say("row 2: hakit and corosync trial %d/%d", t+1, e.trials)
		if err := hakitFlap(&coroDown, &coroUp); err != nil {
			return row, err
		}
		if err := sleepCtx(ctx, 2*time.Second+rand.N(time.Second)); err != nil {
			return row, err
		}
		d, u, err := flap(ctx, nw, cp.events, 30*time.Second)
		if err != nil {
			return row, fmt.Errorf("corosync: %w", err)
		}
		coroDown.Peer, coroUp.Peer = append(coroDown.Peer, msf(d)), append(coroUp.Peer, msf(u))
	}
	row.Metrics = []report.Metric{ethDown, ethUp, coroDown, coroUp}
	return row, nil
}
