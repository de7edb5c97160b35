package acceptance

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/internal/rig/pcmk"
	"github.com/hakit/hakit/scsi"
)

// scratch is a block region no test data lives in: the fenced-write probe
// writes there.
var scratch = scsi.Region{Start: pcmk.AppRegionStart + pcmk.AppRegionLen, Len: 16}

func client(n *pcmk.Node) *agent.Client {
	return agent.NewClient(filepath.Join(n.Dir, "hwagent.sock"))
}

// truth is what each node is really doing, read from the node itself (not
// from Pacemaker's view): the floating IP configured, the data service
// running (not stopped by a freeze), and its key registered on the LUN.
// The registration is read from the LUN by the other node's agent (a node
// whose own disk path is cut cannot say, and cannot write either), else
// by its own; unknown counts as registered.
type truth struct {
	vip, svc, registered bool
}

// owner: the node runs the service and can write the disk.
func (t truth) owner() bool { return t.svc && t.registered }

func nodeTruth(ctx context.Context, c *pcmk.Cluster, i int) truth {
	n := c.Nodes()[i]
	t := truth{registered: true}
	if out, err := n.Run(ctx, "ip", "-o", "addr", "show", "dev", "eth3"); err == nil {
		t.vip = strings.Contains(out, pcmk.PublicIP+"/")
	}
	if out, err := n.Run(ctx, "ps", "-o", "stat=", "-C", "recordsvc"); err == nil {
		for _, st := range strings.Fields(out) {
			t.svc = t.svc || !strings.HasPrefix(st, "T")
		}
	}
	if r, ok := registeredIn(ctx, c, i); ok {
		t.registered = r
		return t
	}
	dctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if ds, err := client(n).Disks(dctx); err == nil && len(ds) == 1 && ds[0].Error == "" {
		t.registered = ds[0].Registered
	}
	return t
}

// watcher samples both nodes every 100 ms until stop is closed: samples
// where both nodes owned the data (service running and key registered),
// and how long both had the floating IP.
type watcher struct {
	mu         sync.Mutex
	double     int
	samples    int
	first      string
	vipOverlap time.Duration
}

func (w *watcher) run(ctx context.Context, c *pcmk.Cluster, stop <-chan struct{}) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	prev := time.Now()
	for {
		a, b := nodeTruth(ctx, c, 0), nodeTruth(ctx, c, 1)
		now := time.Now()
		w.mu.Lock()
		w.samples++
		if a.owner() && b.owner() {
			w.double++
			if w.first == "" {
				w.first = fmt.Sprintf("%s: a %+v b %+v", now.Format("15:04:05.000"), a, b)
			}
		}
		if a.vip && b.vip {
			w.vipOverlap += now.Sub(prev)
		}
		prev = now
		w.mu.Unlock()
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

// watch starts a watcher; stop ends it and waits for it.
func watch(ctx context.Context, c *pcmk.Cluster) (w *watcher, stop func()) {
	w = &watcher{}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); w.run(ctx, c, done) }()
	return w, func() { close(done); wg.Wait() }
}

// fault is one matrix case: which paths of the node running the group go
// down.
type fault struct {
	serial, lan, disk, freeze bool
}

func (f fault) String() string {
	var p []string
	for _, x := range []struct {
		on   bool
		name string
	}{{f.serial, "serial"}, {f.lan, "heartbeat LAN"}, {f.disk, "disk path"}, {f.freeze, "node frozen"}} {
		if x.on {
			p = append(p, x.name)
		}
	}
	if len(p) == 0 {
		return "nothing cut"
	}
	return strings.Join(p, " + ") + " cut"
}

// outcome is what a case led to.
type outcome struct {
	holder   string // where the group runs once stable ("" none)
	decided  time.Duration
	fenced   []string // nodes whose key was removed
	double   int      // samples where both nodes owned the data
	overlap  time.Duration
	accepted []string // writes the LUN accepted from a node whose key was gone
}

// groupHolder asks each node that is online in its own view; the group
// is stable when both (or the only live one) agree.
func stableHolder(ctx context.Context, c *pcmk.Cluster) string {
	on := ""
	for i, n := range c.Nodes() {
		tr := nodeTruth(ctx, c, i)
		if tr.owner() && tr.vip {
			if on != "" {
				return "" // both: not stable (and counted by the watcher)
			}
			on = n.Name
		}
	}
	return on
}

// registeredIn reads whether n's key is registered on the LUN, through
// the other node's agent (which reads the device); ok false when that
// agent cannot say.
func registeredIn(ctx context.Context, c *pcmk.Cluster, i int) (registered, ok bool) {
	dctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	ds, err := client(c.Nodes()[1-i]).Disks(dctx)
	if err != nil || len(ds) != 1 || ds[0].Error != "" {
		return false, false
	}
	return ds[0].PeerRegistered, true
}

// probeWrites tries a write through each node's agent. fenced are the
// nodes whose key the LUN shows gone; accepted those among them whose
// write the LUN took although their key was gone both before and after
// the write (read through the other node).
func probeWrites(ctx context.Context, c *pcmk.Cluster) (accepted, fenced []string) {
	dev := c.Disk().URL()
	for i, n := range c.Nodes() {
		before, ok := registeredIn(ctx, c, i)
		if !ok || before {
			continue
		}
		fenced = append(fenced, n.Name)
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, werr := client(n).WriteBlocks(wctx, dev, scratch, scratch.Start+uint64(i), make([]byte, 512))
		cancel()
		if after, ok := registeredIn(ctx, c, i); werr == nil && ok && !after {
			accepted = append(accepted, n.Name)
		}
	}
	return accepted, fenced
}

// inject applies f to n (the node running the group).
func inject(ctx context.Context, t *testing.T, c *pcmk.Cluster, n *pcmk.Node, f fault) {
	t.Helper()
	if f.serial {
		c.Cable().Cut()
	}
	var links []pcmk.NodeLink
	if f.lan {
		links = append(links, pcmk.NodeLink{Node: n, Link: pcmk.Ring}, pcmk.NodeLink{Node: n, Link: pcmk.Crossover})
	}
	if f.disk {
		links = append(links, pcmk.NodeLink{Node: n, Link: pcmk.Storage})
	}
	if len(links) > 0 {
		if err := c.SetLinks(ctx, false, links...); err != nil {
			t.Fatal(err)
		}
	}
	if f.freeze {
		if err := n.Freeze(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// heal restores every path, restarts a stopped Pacemaker and waits until
// both nodes are online, unfenced and the group runs on one of them.
func heal(ctx context.Context, t *testing.T, c *pcmk.Cluster) {
	t.Helper()
	for _, n := range c.Nodes() {
		_ = n.Thaw(ctx)
	}
	c.Cable().Reconnect()
	var all []pcmk.NodeLink
	for _, n := range c.Nodes() {
		for _, l := range []pcmk.Link{pcmk.Ring, pcmk.Storage, pcmk.Crossover} {
			all = append(all, pcmk.NodeLink{Node: n, Link: l})
		}
	}
	if err := c.SetLinks(ctx, true, all...); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(120 * time.Second)
	cleaned := false
	for {
		for _, n := range c.Nodes() {
			if !n.PacemakerRunning(ctx) {
				if err := n.StartPacemaker(ctx); err != nil {
					t.Logf("heal: %v", err)
				}
			}
		}
		ok := true
		for i, n := range c.Nodes() {
			st, err := client(n).Status(ctx)
			ok = ok && err == nil && !st.Fenced
			if err == nil && st.Fenced && n.PacemakerRunning(ctx) {
				// A node that stayed up through its fence (it was cut off
				// when it was fenced, so its Pacemaker never learnt it) is
				// a member again, yet unfenced only when something must
				// start there: unfence it as an operator would.
				if _, err := c.Nodes()[1-i].Run(ctx, "stonith_admin", "--unfence", n.Name, "--timeout", "20"); err != nil {
					t.Logf("heal: unfence %s: %v", n.Name, err)
				}
			}
		}
		s, err := c.Nodes()[0].Status(ctx)
		if ok && err == nil && s.Online("node-a") && s.Online("node-b") && !cleaned {
			// Both members and unfenced: clear the failures the case left
			// (a start refused on a fenced node bans the resource there),
			// as an operator does after a repair.
			if _, err := c.Nodes()[0].Run(ctx, "crm_resource", "--cleanup"); err != nil {
				t.Logf("heal: crm_resource --cleanup: %v", err)
			}
			cleaned = true
			continue
		}
		if ok && err == nil && s.Online("node-a") && s.Online("node-b") && s.GroupOn() != "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("heal: not whole after 2m: %+v %v", s, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// runCase applies f to the node running the group and watches for at
// least 25 s, until the group runs on one node for 5 s in a row (or 90 s
// pass).
func runCase(ctx context.Context, t *testing.T, c *pcmk.Cluster, f fault) outcome {
	t.Helper()
	s, err := c.Nodes()[0].Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var victim *pcmk.Node
	for _, n := range c.Nodes() {
		if n.Name == s.GroupOn() {
			victim = n
		}
	}
	if victim == nil {
		t.Fatalf("the group does not run: %+v", s)
	}
	w, stopWatch := watch(ctx, c)
	at := time.Now()
	inject(ctx, t, c, victim, f)
	var o outcome
	// At least 25 s: corosync needs token + consensus (6.6 s) to see a
	// peer gone, then the fence and the start; stable means 5 s
	// unchanged after that.
	stableSince, last := time.Time{}, ""
	for time.Since(at) < 90*time.Second {
		h := stableHolder(ctx, c)
		if h != last {
			stableSince, last = time.Now(), h
		}
		if h != "" && time.Since(at) >= 25*time.Second && time.Since(stableSince) >= 5*time.Second {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	o.holder = last
	if !stableSince.IsZero() {
		o.decided = stableSince.Sub(at)
	}
	if f.freeze {
		// The frozen node wakes: it must find itself fenced, not write.
		if err := victim.Thaw(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Second)
	}
	o.accepted, o.fenced = probeWrites(ctx, c)
	stopWatch()
	o.double, o.overlap = w.double, w.vipOverlap
	if w.double > 0 {
		t.Errorf("%s: both nodes ran the service with their key registered in %d of %d samples (first %s)", f, w.double, w.samples, w.first)
	}
	if len(o.accepted) > 0 {
		t.Errorf("%s: the LUN accepted writes from fenced nodes %v", f, o.accepted)
	}
	if o.holder == "" {
		t.Errorf("%s: no node runs the group after 90 s", f)
	}
	return o
}

// TestPartitionMatrix: on the node running the group, the serial cable,
// the heartbeat LAN (corosync's ring and hakit's heartbeat NIC) and the
// disk path (its iSCSI link) each up or down, in all 8 combinations, plus
// a frozen node (SIGSTOP, then SIGCONT); then HAKIT_SPLIT_ROUNDS rounds
// (default 3; make matrix runs 100) of the symmetric split: both nodes'
// heartbeat LAN and the cable cut at the same instant. In every case at
// most one node runs the service and holds the floating IP (sampled in
// each node every 100 ms), no write from a node whose key is gone is
// accepted, and the time to a decision is recorded.
func TestPartitionMatrix(t *testing.T) {
	rounds := 3
	if s := os.Getenv("HAKIT_SPLIT_ROUNDS"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			rounds = n
		}
	}
	c := pcmk.ForTest(t, pcmk.Config{Serial: true, Public: true})
	// The 9 cases take up to about 15 minutes on a loaded 2-core machine,
	// a split round up to 2 (a fence, 60 s for the group, the heal).
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute+time.Duration(rounds)*2*time.Minute)
	defer cancel()
	if _, _, err := c.ConfigureApp(ctx); err != nil {
		t.Fatal(err)
	}
	var cases []fault
	for i := range 8 {
		cases = append(cases, fault{serial: i&1 != 0, lan: i&2 != 0, disk: i&4 != 0})
	}
	cases = append(cases, fault{freeze: true})
	for _, f := range cases {
		o := runCase(ctx, t, c, f)
		t.Logf("MATRIX %-32s group on %-7s decided %8v  fenced %-9v double owners %d  fenced writes accepted %d  floating IP on both %v", f, o.holder, o.decided.Round(time.Millisecond), o.fenced, o.double, len(o.accepted), o.overlap.Round(time.Millisecond))
		heal(ctx, t, c)
	}
	survivors := map[string]int{}
	var worst, overlap, groupUp time.Duration
	noGroup := 0
	for r := range rounds {
		w, stopWatch := watch(ctx, c)
		at := time.Now()
		c.Cable().Cut()
		var links []pcmk.NodeLink
		for _, n := range c.Nodes() {
			links = append(links, pcmk.NodeLink{Node: n, Link: pcmk.Ring}, pcmk.NodeLink{Node: n, Link: pcmk.Crossover})
		}
		if err := c.SetLinks(ctx, false, links...); err != nil {
			t.Fatal(err)
		}
		var fencedNodes []string
		pcmk.Eventually(ctx, t, 60*time.Second, fmt.Sprintf("round %d: one node fenced", r+1), func() bool {
			_, fencedNodes = probeWrites(ctx, c)
			return len(fencedNodes) >= 1
		})
		took := time.Since(at)
		worst = max(worst, took)
		// The survivor runs the group (a finite NIC score: both carriers
		// are down in a symmetric split).
		up := time.Now()
		for stableHolder(ctx, c) == "" && time.Since(up) < 60*time.Second {
			time.Sleep(200 * time.Millisecond)
		}
		holder := stableHolder(ctx, c)
		if holder == "" {
			// Availability, not safety: counted and reported (SPLIT line),
			// not yet understood well enough to be a failure.
			noGroup++
			t.Logf("round %d: no node runs the group 60 s after the fence", r+1)
			for _, n := range c.Nodes() {
				if n.Alive() {
					mon, _ := n.Run(ctx, "crm_mon", "-1", "-r", "-f", "--show-detail")
					t.Logf("round %d: %s's crm_mon:\n%s\n%s's pacemaker.log, last lines:\n%s", r+1, n.Name, mon, n.Name, n.Tail("pacemaker.log"))
				}
			}
		}
		groupUp = max(groupUp, time.Since(at))
		accepted, fencedNodes := probeWrites(ctx, c)
		stopWatch()
		overlap = max(overlap, w.vipOverlap)
		if len(fencedNodes) != 1 || len(accepted) > 0 || w.double > 0 || (len(fencedNodes) == 1 && holder != "" && holder == fencedNodes[0]) {
			t.Errorf("round %d: fenced %v, fenced writes accepted %v, double %d: want exactly one survivor", r+1, fencedNodes, accepted, w.double)
		}
		for _, n := range c.Nodes() {
			if len(fencedNodes) == 1 && n.Name != fencedNodes[0] {
				survivors[n.Name]++
			}
		}
		t.Logf("ROUND %d/%d: fenced %v after %v, group on %q after %v, floating IP on both %v", r+1, rounds, fencedNodes, took.Round(time.Millisecond), holder, time.Since(at).Round(time.Millisecond), w.vipOverlap.Round(time.Millisecond))
		heal(ctx, t, c)
	}
	t.Logf("SPLIT %d rounds: survivors %v, slowest fence %v, slowest group up %v, rounds without the group after 60 s %d, longest floating IP on both %v", rounds, survivors, worst.Round(time.Millisecond), groupUp.Round(time.Millisecond), noGroup, overlap.Round(time.Millisecond))
}
