//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/hakit/hakit/scsi"
	"github.com/hakit/hakit/tools/compare/report"
	"github.com/hakit/hakit/tools/lab"
)

// Row 3's guests. A target guest runs LIO (the kernel's SCSI target) with
// N RAM LUNs on its iSCSI fabric, which has full SPC-4 persistent
// reservations; the nodes' guest reaches it through QEMU's iSCSI driver
// (scsi-block, so SG_IO from the guest kernel's sd reaches LIO) with two
// initiator names, one per node: both nodes live in that one guest, each
// with its own I_T nexus and its own /dev/sdX for every LUN. The stand-ins
// that are simpler to wire cannot fence with fence_scsi: tgtd (the lab's
// usual shared disk) refuses PREEMPT AND ABORT, which is all fence_scsi
// fences with, and LIO's tcm_loop fabric hangs on it (the guest's SCSI
// stack stops answering).
const (
	fenceCluster   = 7
	fenceNodeA     = "node-a"
	fenceNodeB     = "node-b"
	fenceMemoryMiB = 768
	// fenceKeyFile is fence_scsi's record of this node's own key (written
	// by its on). The two nodes share the guest's files, so it is set to
	// node A's key before each off, as node A's own file would hold it.
	fenceKeyFile = "/var/run/cluster.key"
	fenceAcct    = "/tmp/compare.acct"
	fenceCallTO  = 120 * time.Second
	fenceIQN     = "iqn.2026-12.io.hakit.compare:fence"
	// fenceGuestPortal is where the target guest's LIO listens: its eth0
	// under QEMU's user network, which the host's forwarded port reaches.
	fenceGuestPortal = "10.0.2.15:3260"
)

// fenceInitiators are nodes A's and B's iSCSI initiator names (QEMU's
// iSCSI driver logs in with them: one I_T nexus per node and LUN).
func fenceInitiators() []string {
	return []string{"iqn.2026-12.io.hakit.compare:node-a", "iqn.2026-12.io.hakit.compare:node-b"}
}

// fenceRow is row 3: fence_hwagent against fence_scsi on the same LUNs with
// the same keys (hakit's keys, given to fence_scsi with --key), off of node
// B run on node A and on (unfence) run on node B, for 1, 8 and 16 LUNs
// (1 and 8 with --short). Both run inside the QEMU lab's fence_scsi guest;
// each call's wall time and process count are taken in the guest (hakit
// spawned: BSD process accounting, one record per process), and every call
// is verified by reading every LUN's keys back.
func fenceRow(ctx context.Context, e *env) (report.Row, error) {
	row := report.Row{ID: "3", Title: "Fencing on the same LUNs with the same keys (off of the peer, on of itself)", Peer: "fence_scsi (fence-agents 4.12.1)"}
	counts := []int{1, 8, 16}
	if e.short {
		counts = []int{1, 8}
	}
	lunList := strings.Trim(strings.Join(strings.Fields(fmt.Sprint(counts)), ", "), "[]")
	row.HakitConfig = fmt.Sprintf("fence_hwagent direct (no hwagent runs: it opens the configuration's disks over SG_IO itself), options on stdin as Pacemaker writes them, power_timeout 20 s, no delay; %s LUNs", lunList)
	kA, kB, err := fenceKeys()
	if err != nil {
		return row, err
	}
	row.PeerConfig = fmt.Sprintf("fence_scsi -o off -k <B's key> -d <A's disks> on node A, -o on -k <B's key> -d <B's disks> on node B (sg_persist and sg_turs of sg3-utils 1.46), its defaults otherwise; both nodes in one QEMU guest (Debian's kernel, 1 vCPU under TCG, %d MiB), the LUNs LIO RAM disks of a second guest on its iSCSI fabric, through QEMU's iSCSI driver with one initiator name per node; keys %s (A) and %s (B), hakit's rule; process counts by BSD process accounting in the guest (the tool's own process included)", fenceMemoryMiB, kA, kB)
	e.say("row 3: preparing the lab's fence_scsi guest")
	parts, err := lab.Prepare(ctx, lab.PartsConfig{FenceAgents: true, RepoDir: ".", Install: true, Logger: e.log})
	if errors.Is(err, lab.ErrMissing) {
		// A machine without QEMU, apt or the packages: say what is missing.
		row.Missing = "the QEMU lab's fence_scsi guest could not be prepared: " + err.Error()
		return row, nil
	}
	if err != nil {
		return row, err
	}
	var metrics []report.Metric
	for _, n := range counts {
		ms, err := fenceCount(ctx, e, parts, n)
		if err != nil {
			return row, fmt.Errorf("%d LUNs: %w", n, err)
		}
		metrics = append(metrics, ms...)
	}
	row.Metrics = metrics
	return row, nil
}

// fenceKeys are nodes A's and B's keys by hakit's rule.
func fenceKeys() (a, b scsi.Key, err error) {
	if a, err = scsi.NodeKey(strconv.Itoa(fenceCluster), 1); err != nil {
		return 0, 0, err
	}
	b, err = scsi.NodeKey(strconv.Itoa(fenceCluster), 2)
	return a, b, err
}

// fenceSCSIKey is k as fence_scsi's --key takes it: hex, no 0x.
func fenceSCSIKey(k scsi.Key) string { return strconv.FormatUint(uint64(k), 16) }

// fenceConfig is a node's hwagent.yaml in the guest: the cluster's two
// members and the node's own paths to the LUNs, nothing else.
func fenceConfig(self, peer string, selfID, peerID int, disks []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "node: {name: %s, id: %d}\n", self, selfID)
	fmt.Fprintf(&b, "peer: {name: %s, id: %d}\n", peer, peerID)
	fmt.Fprintf(&b, "cluster: {id: %d, name: compare}\n", fenceCluster)
	b.WriteString("disks:\n")
	for _, d := range disks {
		fmt.Fprintf(&b, "  - device: %s\n", d)
	}
	fmt.Fprintf(&b, "api: {socket: /run/hakit/%s.sock}\n", self)
	fmt.Fprintf(&b, "state_dir: /run/hakit/state-%s\n", self)
	return b.String()
}

// fenceCall is one timed call in the guest.
type fenceCall struct {
	procs int
	wall  time.Duration
	comms string // the processes by name: "python3,sg_turs*2"
}

func fenceCount(ctx context.Context, e *env, parts *lab.Parts, n int) ([]report.Metric, error) {
	// The target guest: LIO's iSCSI fabric with N LUNs, reached from the
	// host on a forwarded port.
	hostPort, err := freeTCPPort()
	if err != nil {
		return nil, err
	}
	e.say("row 3: %d LUNs: booting the target guest", n)
	tl, err := lab.Start(ctx, lab.Config{Parts: parts, Nodes: 1, NoDisk: true, MemoryMiB: fenceMemoryMiB, Forward: &lab.ForwardEnd{HostPort: hostPort, GuestPort: 3260}, Logger: e.log})
	if err != nil {
		return nil, err
	}
	defer tl.Close()
	tctx, cancel := context.WithTimeout(ctx, fenceCallTO)
	r, err := tl.Node(0).Run(tctx, append([]string{"hakit", "lio", "iscsi-luns", fenceIQN, strconv.Itoa(n), fenceGuestPortal}, fenceInitiators()...)...)
	cancel()
	if err == nil && r.Code != 0 {
		err = fmt.Errorf("lio iscsi-luns: exit %d: %s%s", r.Code, r.Stdout, r.Stderr)
	}
	if err != nil {
		return nil, err
	}
	var disks []lab.DiskEnd
	for _, ini := range fenceInitiators() {
		for i := 0; i < n; i++ {
			disks = append(disks, lab.DiskEnd{Portal: fmt.Sprintf("127.0.0.1:%d", hostPort), TargetIQN: fenceIQN, LUN: i, Initiator: ini})
		}
	}
	e.say("row 3: %d LUNs: booting the nodes' guest (%d SCSI disks)", n, len(disks))
	l, err := lab.Start(ctx, lab.Config{Parts: parts, Nodes: 1, NoDisk: true, MemoryMiB: fenceMemoryMiB, Disks: disks, Logger: e.log})
	if err != nil {
		return nil, err
	}
	defer l.Close()
	node := l.Node(0)
	e.say("row 3: %d LUNs: guests ready in %v and %v", n, tl.Node(0).BootTime().Round(time.Millisecond), node.BootTime().Round(time.Millisecond))
	run := func(stdin string, argv ...string) (lab.Result, error) {
		cctx, cancel := context.WithTimeout(ctx, fenceCallTO)
		defer cancel()
		var in []byte
		if stdin != "" {
			in = []byte(stdin)
		}
		r, err := node.RunInput(cctx, in, argv...)
		if err == nil && r.Code != 0 {
			err = fmt.Errorf("%s: exit %d: %s%s", strings.Join(argv, " "), r.Code, r.Stdout, r.Stderr)
		}
		return r, err
	}
	r, err = run("", "hakit", "scsidisks")
	if err != nil {
		return nil, err
	}
	devA, devB, err := parseDisks(r.Stdout, n)
	if err != nil {
		return nil, err
	}
	cfgA, cfgB := "/etc/hakit/"+fenceNodeA+".yaml", "/etc/hakit/"+fenceNodeB+".yaml"
	if _, err := run(fenceConfig(fenceNodeA, fenceNodeB, 1, 2, devA), "hakit", "put", cfgA); err != nil {
		return nil, err
	}
	if _, err := run(fenceConfig(fenceNodeB, fenceNodeA, 2, 1, devB), "hakit", "put", cfgB); err != nil {
		return nil, err
	}
	kA, kB, err := fenceKeys()
	if err != nil {
		return nil, err
	}
	// The commands of each side: off of B run on A, on run on B.
	hakitOff := func() (string, []string) {
		return fmt.Sprintf("action=off\nplug=%s\nconfig=%s\n", fenceNodeB, cfgA), []string{"hakit", "fence_hwagent"}
	}
	hakitOn := func(self, cfg string) (string, []string) {
		return fmt.Sprintf("action=on\nplug=%s\nconfig=%s\n", self, cfg), []string{"hakit", "fence_hwagent"}
	}
	scsiOff := []string{"/usr/sbin/fence_scsi", "-o", "off", "-k", fenceSCSIKey(kB), "-d", strings.Join(devA, ",")}
	scsiOn := func(k scsi.Key, devs []string) []string {
		return []string{"/usr/sbin/fence_scsi", "-o", "on", "-k", fenceSCSIKey(k), "-d", strings.Join(devs, ",")}
	}
	timed := func(stdin string, argv []string) (fenceCall, error) {
		r, err := run(stdin, append([]string{"hakit", "spawned", fenceAcct}, argv...)...)
		if err != nil {
			return fenceCall{}, err
		}
		return parseSpawned(r.Stdout)
	}
	// verify reads every LUN's keys through devs and wants exactly want.
	verify := func(devs []string, want ...scsi.Key) error {
		r, err := run("", append([]string{"hakit", "prkeys"}, devs...)...)
		if err != nil {
			return err
		}
		return checkKeys(r.Stdout, devs, want)
	}
	setKeyFile := func() error {
		_, err := run(fenceSCSIKey(kA)+"\n", "hakit", "put", fenceKeyFile)
		return err
	}
	// Both nodes register (A first, so A holds the reservation), through
	// hakit; then one untimed round of each tool warms the guest's caches
	// (Python compiles fencing.py once).
	for _, s := range []struct{ self, cfg string }{{fenceNodeA, cfgA}, {fenceNodeB, cfgB}} {
		in, argv := hakitOn(s.self, s.cfg)
		if _, err := run(in, argv...); err != nil {
			return nil, fmt.Errorf("registering %s: %w", s.self, err)
		}
	}
	if err := verify(devA, kA, kB); err != nil {
		return nil, fmt.Errorf("after registering both nodes: %w", err)
	}
	type side struct {
		name    string
		off, on func() (fenceCall, error)
	}
	sides := []side{
		{"hakit", func() (fenceCall, error) { in, argv := hakitOff(); return timed(in, argv) },
			func() (fenceCall, error) { in, argv := hakitOn(fenceNodeB, cfgB); return timed(in, argv) }},
		{"fence_scsi", func() (fenceCall, error) {
			if err := setKeyFile(); err != nil {
				return fenceCall{}, err
			}
			return timed("", scsiOff)
		}, func() (fenceCall, error) { return timed("", scsiOn(kB, devB)) }},
	}
	off := [2][]float64{}
	on := [2][]float64{}
	offP := [2][]float64{}
	onP := [2][]float64{}
	for t := -1; t < e.trials; t++ {
		for i, s := range sides {
			c, err := s.off()
			if err != nil {
				return nil, fmt.Errorf("%s off: %w", s.name, err)
			}
			if err := verify(devA, kA); err != nil {
				return nil, fmt.Errorf("after %s off: %w", s.name, err)
			}
			c2, err := s.on()
			if err != nil {
				return nil, fmt.Errorf("%s on: %w", s.name, err)
			}
			if err := verify(devB, kA, kB); err != nil {
				return nil, fmt.Errorf("after %s on: %w", s.name, err)
			}
			if t < 0 {
				continue // the warm-up round
			}
			off[i] = append(off[i], msf(c.wall))
			on[i] = append(on[i], msf(c2.wall))
			offP[i] = append(offP[i], float64(c.procs))
			onP[i] = append(onP[i], float64(c2.procs))
			e.say("row 3: %d LUNs: trial %d %s: off %v (%d processes: %s), on %v (%d processes: %s)", n, t+1, s.name, c.wall.Round(time.Millisecond), c.procs, c.comms, c2.wall.Round(time.Millisecond), c2.procs, c2.comms)
		}
	}
	lun := "LUN"
	if n > 1 {
		lun = "LUNs"
	}
	return []report.Metric{
		{Name: fmt.Sprintf("%d %s: off of the peer, read back", n, lun), Unit: "ms", Agg: report.Quantiles, Hakit: off[0], Peer: off[1]},
		{Name: fmt.Sprintf("%d %s: on of itself, read back", n, lun), Unit: "ms", Agg: report.Quantiles, Hakit: on[0], Peer: on[1]},
		{Name: fmt.Sprintf("%d %s: processes per off", n, lun), Unit: "processes", Agg: report.Quantiles, Hakit: offP[0], Peer: offP[1]},
		{Name: fmt.Sprintf("%d %s: processes per on", n, lun), Unit: "processes", Agg: report.Quantiles, Hakit: onP[0], Peer: onP[1]},
	}, nil
}

// parseDisks reads hakit scsidisks' "H:C:T:L /dev/sdX" lines: target ids
// 0 to n-1 are node A's paths to LUNs 0 to n-1, n to 2n-1 node B's.
func parseDisks(out string, n int) (a, b []string, err error) {
	a, b = make([]string, n), make([]string, n)
	found := 0
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		addr, dev, ok := strings.Cut(l, " ")
		f := strings.Split(addr, ":")
		if !ok || len(f) != 4 {
			return nil, nil, fmt.Errorf("scsidisks: unexpected line %q", l)
		}
		t, err := strconv.Atoi(f[2])
		if err != nil || t < 0 || t >= 2*n || (t < n && a[t] != "") || (t >= n && b[t-n] != "") {
			return nil, nil, fmt.Errorf("scsidisks: unexpected target in %q", l)
		}
		if t < n {
			a[t] = dev
		} else {
			b[t-n] = dev
		}
		found++
	}
	if found != 2*n {
		return nil, nil, fmt.Errorf("scsidisks: want %d disks, got %d:\n%s", 2*n, found, out)
	}
	return a, b, nil
}

func freeTCPPort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// parseSpawned finds hakit spawned's "spawned: procs=N wall_us=U code=C"
// line (the last of its output).
func parseSpawned(out string) (fenceCall, error) {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	last := lines[len(lines)-1]
	rest, ok := strings.CutPrefix(last, "spawned: ")
	if !ok {
		return fenceCall{}, fmt.Errorf("no spawned line in %q", out)
	}
	var c fenceCall
	for _, kv := range strings.Fields(rest) {
		k, v, _ := strings.Cut(kv, "=")
		x, err := strconv.ParseInt(v, 10, 64)
		if err != nil && k != "comms" {
			return fenceCall{}, fmt.Errorf("spawned line %q: %w", last, err)
		}
		switch k {
		case "procs":
			c.procs = int(x)
		case "wall_us":
			c.wall = time.Duration(x) * time.Microsecond
		case "comms":
			c.comms = v
			continue
		case "code":
			if x != 0 {
				return fenceCall{}, fmt.Errorf("exit %d: %s", x, out)
			}
		}
	}
	if c.procs < 1 || c.wall <= 0 {
		return fenceCall{}, fmt.Errorf("spawned line %q: no process or no time", last)
	}
	return c, nil
}

// checkKeys wants hakit prkeys' output ("DEV KEY,KEY" or "DEV -") to list,
// for every device, exactly the keys want, each once.
func checkKeys(out string, devs []string, want []scsi.Key) error {
	got := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		dev, keys, ok := strings.Cut(l, " ")
		if !ok {
			return fmt.Errorf("prkeys: unexpected line %q", l)
		}
		got[dev] = keys
	}
	var ws []string
	for _, k := range want {
		ws = append(ws, k.String())
	}
	var bad []string
	for _, d := range devs {
		keys, ok := got[d]
		if !ok {
			bad = append(bad, d+": not read")
			continue
		}
		ks := strings.Split(keys, ",")
		if keys == "-" {
			ks = nil
		}
		if !sameSet(ks, ws) {
			bad = append(bad, fmt.Sprintf("%s: keys %s, want %s", d, keys, strings.Join(ws, ",")))
		}
	}
	if len(bad) > 0 {
		return errors.New("read back: " + strings.Join(bad, "; "))
	}
	return nil
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]int{}
	for _, x := range a {
		seen[x]++
	}
	for _, x := range b {
		if seen[x] != 1 {
			return false
		}
		seen[x] = 0
	}
	return true
}
