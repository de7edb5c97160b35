package pcmk

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hakit/hakit/internal/rig"
	"github.com/hakit/hakit/sbd"
)

// ConfigDir is where each node sees its own folder (config, socket, logs):
// one path for every node, as /etc/hakit is on real machines, so that a
// stonith parameter such as config=ConfigDir/hwagent.yaml has node-local
// contents.
const ConfigDir = "/run/hakit"

// HwagentConfig is the hwagent configuration's path inside a node.
const HwagentConfig = ConfigDir + "/hwagent.yaml"

// HwagentSocket is the hwagent API socket's path inside a node.
const HwagentSocket = ConfigDir + "/hwagent.sock"

// Tools are the programs the cluster runs (make deps installs them).
var Tools = []string{"corosync", "pgrep", "setsid", "attrd_updater", "pacemakerd", "crm_mon", "cibadmin", "stonith_admin", "tgtd", "tgtadm", "ip", "nsenter", "unshare", "bash"}

// Config describes the cluster.
type Config struct {
	// Hwagent and FenceAgent are the built hwagent and fence_hwagent
	// binaries; both are required.
	Hwagent, FenceAgent string
	// OCFAgents are resource agents (built binaries) installed in each node
	// as /usr/lib/ocf/resource.d/hakit/<file name>, through an overlay in
	// the node's mount namespace; empty means none.
	OCFAgents []string
	// DelayStepMS is hwagent's fence.delay_step_ms; node-a has fence
	// priority 0, node-b 1. 0 means 500.
	DelayStepMS int
	// SCSI2 runs the shared disk in hwagent's scsi2 mode (RESERVE/RELEASE
	// with a defend loop, scsi2_period_ms 400) instead of persistent
	// reservations.
	SCSI2 bool
	// SBD adds LUN 2 to the target (16 MiB), formats it as an SBD device
	// (sbd 1.5.2's format: watchdog 2 s, allocate 1 s, loop 1 s, msgwait
	// 4 s) and sets it as each hwagent's sbd.device, with the disk
	// heartbeat on.
	SBD bool
	// Serial adds the null-modem cables, each a relayed pty pair, with
	// keepalive 100 ms and deadtime 1 s. A pair has the install guide's
	// one cable (Cluster.Cable cuts it) as each hwagent's serial.port;
	// three or more nodes a ring, one cable between each node and the
	// next (node-a to node-b, ..., the last to node-a), each end a
	// peers[].serial_port (Cluster.CableBetween).
	Serial bool
	// Public adds the public network: each node's eth3 on br3
	// (169.254.103.1 and .2) and a client namespace at 169.254.103.100
	// (Cluster.Client runs commands there); PublicIP (169.254.103.200) is
	// free for a floating address (IPaddr2).
	Public bool
	// Recordsvc is the built tools/recordsvc, the data service of the
	// acceptance group (ConfigureApp); StartBuilt sets it with Public.
	Recordsvc string
	// Nodes is the number of members, 2 to 16; 0 means 2. Two nodes run
	// corosync with two_node: 1 (the survivor keeps quorum); three or more
	// run real quorum (a majority of the nodelist), and each hwagent names
	// the others in peers: (one key and one initiator per node).
	Nodes int
	// Logger receives the set-up steps; nil discards.
	Logger *slog.Logger
}

// MaxNodes is the largest Config.Nodes: the members one shared array
// serves.
const MaxNodes = 16

// Cluster is Config.Nodes Pacemaker nodes, node-a, node-b, ..., sharing
// one tgtd LUN.
// Its methods are safe for concurrent use once Start returned.
type Cluster struct {
	log    *slog.Logger
	dir    string
	sw     string
	disk   *rig.Disk
	sbdURL string
	cable  *rig.Cable // the first of cables: a pair's one cable
	cables []ringCable
	// recordsvc is the data service's binary, "" without Config.Recordsvc.
	recordsvc string
	client    string // the client namespace, "" without Config.Public
	nodes     []*Node
	closed    bool
}

// Node is one cluster node.
type Node struct {
	// Name is the node's host name and Pacemaker name: node-a, node-b, ...
	Name string
	// ID is its corosync node id and hwagent node id (1 for node-a, 2 for
	// node-b, ...).
	ID int
	// Addr is its address on the heartbeat network (corosync's ring).
	Addr string
	// StorageAddr is its address on the storage network (the LUN's
	// portal).
	StorageAddr string
	// CrossoverAddr is its address on hwagent's heartbeat NIC.
	CrossoverAddr string
	// IQN is its iSCSI initiator name.
	IQN string
	// Dir is its folder on this machine, seen as ConfigDir inside the node.
	Dir   string
	netns string
	cmd   *exec.Cmd
	done  chan struct{}
	init  int // host pid of the node's PID-namespace init
}

// The switch namespace holds three bridges, one per network, so that a
// test can cut one without the others, as with separate NICs: br0 for
// corosync's ring, br1 for storage (tgtd's portal), br2 for hakit's
// heartbeat NIC (the crossover link of the install guide, through a
// switch here so that one node's cable can be pulled).
const (
	subnet          = "169.254.100."
	storageSubnet   = "169.254.101."
	crossoverSubnet = "169.254.102."
	publicSubnet    = "169.254.103."
	// ClientAddr is the client namespace's address on the public network
	// (Config.Public).
	ClientAddr = publicSubnet + "100"
	// PublicIP is a free address on the public network for a floating IP.
	PublicIP = publicSubnet + "200"
)

// Link names one of a node's three links.
type Link int

const (
	// Ring is the node's eth0 on br0: corosync's ring.
	Ring Link = iota
	// Storage is the node's eth1 on br1: its path to the LUN.
	Storage
	// Crossover is the node's eth2 on br2: hwagent's heartbeat NIC
	// (nic.interface), which nothing else uses.
	Crossover
	// Public is the node's eth3 on br3 (Config.Public): where clients
	// reach the floating IP.
	Public
)

func (l Link) String() string {
	switch l {
	case Storage:
		return "storage"
	case Crossover:
		return "crossover"
	case Public:
		return "public"
	}
	return "ring"
}

// port is the switch-side end of the node's link.
func (n *Node) port(l Link) string {
	return [...]string{Ring: "p", Storage: "s", Crossover: "x", Public: "u"}[l] + n.Name[5:]
}

// Start builds the switch, the disk and the nodes, and starts corosync,
// hwagent and pacemakerd in each. It returns once every node's daemons
// run; use WaitOnline for cluster membership.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("pcmk: needs root for namespaces and mounts (euid %d)", os.Geteuid())
	}
	for _, t := range Tools {
		if _, err := exec.LookPath(t); err != nil {
			return nil, fmt.Errorf("pcmk: needs %s (make deps installs pacemaker, corosync, tgt, iproute2, util-linux): %w", t, err)
		}
	}
	for _, b := range []string{cfg.Hwagent, cfg.FenceAgent} {
		if b == "" {
			return nil, errors.New("pcmk: Config.Hwagent and Config.FenceAgent are required")
		}
		if _, err := os.Stat(b); err != nil {
			return nil, fmt.Errorf("pcmk: %w", err)
		}
	}
	if cfg.DelayStepMS == 0 {
		cfg.DelayStepMS = 500
	}
	if cfg.Nodes == 0 {
		cfg.Nodes = 2
	}
	if cfg.Nodes < 2 || cfg.Nodes > MaxNodes {
		return nil, fmt.Errorf("pcmk: Config.Nodes %d: want 2 to %d", cfg.Nodes, MaxNodes)
	}
	rig.Sweep()
	name := rig.NewName("pcmk")
	dir, err := os.MkdirTemp("", name+"-")
	if err != nil {
		return nil, fmt.Errorf("pcmk: %w", err)
	}
	c := &Cluster{log: cfg.Logger, dir: dir, sw: name + "-sw"}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if err := c.start(ctx, cfg, name); err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

func (c *Cluster) start(ctx context.Context, cfg Config, name string) error {
	// Pacemaker's daemons run as hacluster: they must reach the node
	// folders (their log files).
	if err := os.Chmod(c.dir, 0o755); err != nil {
		return err
	}
	steps := [][]string{
		{"netns", "add", c.sw},
		{"-n", c.sw, "link", "set", "lo", "up"},
		{"-n", c.sw, "link", "add", "br0", "type", "bridge"},
		{"-n", c.sw, "addr", "add", subnet + "254/24", "dev", "br0"},
		{"-n", c.sw, "link", "set", "br0", "up"},
		{"-n", c.sw, "link", "add", "br1", "type", "bridge"},
		{"-n", c.sw, "addr", "add", storageSubnet + "254/24", "dev", "br1"},
		{"-n", c.sw, "link", "set", "br1", "up"},
		{"-n", c.sw, "link", "add", "br2", "type", "bridge"},
		{"-n", c.sw, "link", "set", "br2", "up"},
	}
	if cfg.Public {
		c.client = name + "-client"
		steps = append(steps,
			[]string{"-n", c.sw, "link", "add", "br3", "type", "bridge"},
			[]string{"-n", c.sw, "link", "set", "br3", "up"},
			[]string{"netns", "add", c.client},
			[]string{"-n", c.client, "link", "set", "lo", "up"},
			[]string{"-n", c.sw, "link", "add", "uc", "type", "veth", "peer", "name", "eth0", "netns", c.client},
			[]string{"-n", c.sw, "link", "set", "uc", "master", "br3", "up"},
			[]string{"-n", c.client, "addr", "add", ClientAddr + "/24", "dev", "eth0"},
			[]string{"-n", c.client, "link", "set", "eth0", "up"},
		)
	}
	c.nodes = make([]*Node, cfg.Nodes)
	for i := range c.nodes {
		n := &Node{Name: "node-" + string(rune('a'+i)), ID: i + 1, Addr: subnet + strconv.Itoa(i+1), StorageAddr: storageSubnet + strconv.Itoa(i+1), CrossoverAddr: crossoverSubnet + strconv.Itoa(i+1), netns: name + "-" + string(rune('a'+i))}
		n.IQN = "iqn.2026-11.io.hakit.rig:" + n.Name
		n.Dir = filepath.Join(c.dir, n.Name)
		c.nodes[i] = n
		steps = append(steps, []string{"netns", "add", n.netns}, []string{"-n", n.netns, "link", "set", "lo", "up"})
		links := map[Link]string{Ring: n.Addr, Storage: n.StorageAddr, Crossover: n.CrossoverAddr}
		if cfg.Public {
			links[Public] = publicSubnet + strconv.Itoa(i+1)
		}
		for l, addr := range links {
			port, dev, br := n.port(l), "eth"+strconv.Itoa(int(l)), "br"+strconv.Itoa(int(l))
			steps = append(steps,
				[]string{"-n", c.sw, "link", "add", port, "type", "veth", "peer", "name", dev, "netns", n.netns},
				[]string{"-n", c.sw, "link", "set", port, "master", br, "up"},
				[]string{"-n", n.netns, "addr", "add", addr + "/24", "dev", dev},
				[]string{"-n", n.netns, "link", "set", dev, "up"},
			)
		}
	}
	for _, s := range steps {
		if _, err := run(ctx, "ip", s...); err != nil {
			return err
		}
	}
	disk, err := rig.StartDisk(ctx, rig.DiskConfig{Namespace: c.sw, Host: storageSubnet + "254", Initiators: c.initiators(), Logger: c.log})
	if err != nil {
		return err
	}
	c.disk = disk
	if cfg.SBD {
		if c.sbdURL, err = c.addSBD(ctx); err != nil {
			return err
		}
	}
	if cfg.Serial {
		if err := c.addCables(); err != nil {
			return err
		}
	}
	sbin := filepath.Join(c.dir, "sbin")
	bin := filepath.Join(c.dir, "bin")
	for _, d := range []string{sbin, bin} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return err
		}
	}
	if err := copyFile(cfg.FenceAgent, filepath.Join(sbin, "fence_hwagent")); err != nil {
		return err
	}
	if err := copyFile(cfg.Hwagent, filepath.Join(bin, "hwagent")); err != nil {
		return err
	}
	if cfg.Recordsvc != "" {
		if err := copyFile(cfg.Recordsvc, filepath.Join(bin, "recordsvc")); err != nil {
			return err
		}
		c.recordsvc = filepath.Join(bin, "recordsvc")
	}
	ocf := filepath.Join(c.dir, "ocf")
	if err := os.MkdirAll(filepath.Join(ocf, "hakit"), 0o755); err != nil {
		return err
	}
	for _, a := range cfg.OCFAgents {
		if err := copyFile(a, filepath.Join(ocf, "hakit", filepath.Base(a))); err != nil {
			return err
		}
	}
	for i, n := range c.nodes {
		if err := c.writeNode(n, i, cfg, sbin, bin, ocf); err != nil {
			return err
		}
	}
	for _, n := range c.nodes {
		if err := c.boot(ctx, n); err != nil {
			return err
		}
	}
	for _, n := range c.nodes {
		if err := n.waitReady(ctx, 30*time.Second); err != nil {
			return err
		}
	}
	c.log.Info("pcmk cluster started", "dir", c.dir, "switch", c.sw, "disk", disk.URL())
	return nil
}

// initiators are the nodes' initiator names, in node order.
func (c *Cluster) initiators() []string {
	iqns := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		iqns[i] = n.IQN
	}
	return iqns
}

// SBDHeader is the header of Config.SBD's device.
var SBDHeader = sbd.Header{Version: sbd.Version, Slots: sbd.Slots, SectorSize: 512, Watchdog: 2, Allocate: 1, Loop: 1, Msgwait: 4, MinorVersion: sbd.MinorVersion}

// addSBD adds LUN 2 and writes the SBD header into its backing file
// before any initiator reads it (the slots and mailboxes are the file's
// zeros).
func (c *Cluster) addSBD(ctx context.Context) (string, error) {
	url, err := c.disk.AddLUN(ctx, 2, 16<<20, c.dir)
	if err != nil {
		return "", err
	}
	h := SBDHeader
	if _, err := rand.Read(h.UUID[:]); err != nil {
		return "", err
	}
	sec, err := h.MarshalSector()
	if err != nil {
		return "", err
	}
	f, err := os.OpenFile(filepath.Join(c.dir, "lun2.img"), os.O_WRONLY, 0)
	if err != nil {
		return "", err
	}
	_, err = f.WriteAt(sec, 0)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return url, err
}

// Cable is Config.Serial's null-modem cable of a pair (Cut, Reconnect,
// Unplug), nil without it; in a ring, the cable from node-a to node-b.
func (c *Cluster) Cable() *rig.Cable { return c.cable }

// ringCable is one null-modem cable: nodes[a] holds end rig.A, nodes[b]
// end rig.B.
type ringCable struct {
	a, b  int
	cable *rig.Cable
}

// addCables makes Config.Serial's cables: one for a pair, else a ring.
func (c *Cluster) addCables() error {
	n := len(c.nodes)
	pairs := [][2]int{{0, 1}}
	if n > 2 {
		pairs = pairs[:0]
		for i := range n {
			pairs = append(pairs, [2]int{i, (i + 1) % n})
		}
	}
	for _, p := range pairs {
		cb, err := rig.NewCable(rig.CableConfig{Logger: c.log})
		if err != nil {
			return err
		}
		c.cables = append(c.cables, ringCable{a: p[0], b: p[1], cable: cb})
	}
	c.cable = c.cables[0].cable
	return nil
}

// portTo is node i's end of the cable to node j, "" when none joins them.
func (c *Cluster) portTo(i, j int) string {
	for _, rc := range c.cables {
		switch {
		case rc.a == i && rc.b == j:
			return rc.cable.Path(rig.A)
		case rc.b == i && rc.a == j:
			return rc.cable.Path(rig.B)
		}
	}
	return ""
}

// CableBetween is Config.Serial's cable joining nodes x and y, nil when
// none does (in a ring of more than three, a node has cables to its two
// neighbours only).
func (c *Cluster) CableBetween(x, y *Node) *rig.Cable {
	for _, rc := range c.cables {
		if a, b := c.nodes[rc.a], c.nodes[rc.b]; (a == x && b == y) || (a == y && b == x) {
			return rc.cable
		}
	}
	return nil
}

// Client runs a command in the client namespace of Config.Public.
func (c *Cluster) Client(ctx context.Context, name string, args ...string) (string, error) {
	if c.client == "" {
		return "", errors.New("pcmk: no client namespace (Config.Public)")
	}
	return run(ctx, "ip", append([]string{"netns", "exec", c.client, name}, args...)...)
}

// SBDURL is Config.SBD's device, "" without it.
func (c *Cluster) SBDURL() string { return c.sbdURL }

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return fmt.Errorf("pcmk: %w", err)
	}
	return os.WriteFile(to, b, 0o755)
}

func (c *Cluster) writeNode(n *Node, i int, cfg Config, sbin, bin, ocf string) error {
	if err := os.Mkdir(n.Dir, 0o755); err != nil {
		return err
	}
	extra := ""
	if c.sbdURL != "" {
		extra += fmt.Sprintf("sbd: {device: %q, initiator: %s}\n", c.sbdURL, n.IQN)
	}
	timers := "timers: {disk_status_ms: 500}"
	if c.cable != nil {
		if err := os.WriteFile(filepath.Join(n.Dir, "hb.key"), []byte("pcmk-rig-shared-key-0123456789ab"), 0o600); err != nil {
			return err
		}
		if len(c.nodes) == 2 {
			extra += fmt.Sprintf("serial: {port: %s, baud: 115200, key_file: %s/hb.key}\n", c.portTo(i, 1-i), ConfigDir)
		} else {
			// The ports are in peers: (peersYAML).
			extra += fmt.Sprintf("serial: {baud: 115200, key_file: %s/hb.key}\n", ConfigDir)
		}
		timers = "timers: {disk_status_ms: 500, keepalive_ms: 100, deadtime_ms: 1000}"
	}
	diskOpts := "allow_preempt_without_abort: true"
	if cfg.SCSI2 {
		diskOpts = "mode: scsi2\n    scsi2_period_ms: 400"
	}
	files := map[string]string{
		"corosync.conf": fmt.Sprintf(`totem {
	version: 2
	cluster_name: rig
	transport: knet
	crypto_cipher: none
	crypto_hash: none
}
nodelist {
%s}
quorum {
	provider: corosync_votequorum
%s}
logging {
	to_logfile: yes
	logfile: %s/corosync.log
	to_stderr: no
	to_syslog: no
	timestamp: on
}
`, c.corosyncNodes(), c.votequorum(), ConfigDir),
		"hwagent.yaml": fmt.Sprintf(`node: {name: %s, id: %d}
%s
cluster: {id: 42, name: rig}
disks:
  - device: %s
    initiator: %s
    %s
%s
state_dir: %s/state
%s
api: {socket: %s}
self_fence: {action: event}
fence: {priority: %d, delay_step_ms: %d}
%s`, n.Name, n.ID, c.peersYAML(i), c.disk.URL(), n.IQN, diskOpts, c.nicYAML(i), ConfigDir, timers, HwagentSocket, i, cfg.DelayStepMS, extra),
		// The node's init (PID 1 of its PID namespace): mounts, daemons,
		// then it reaps orphans until it is killed.
		"init.sh": fmt.Sprintf(`set -eu
hostname %[1]s
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=0755 tmpfs /var/lib/corosync
mount -t tmpfs -o mode=0750 tmpfs /var/lib/pacemaker
mkdir -p /var/lib/pacemaker/cib /var/lib/pacemaker/pengine /var/lib/pacemaker/blackbox /var/lib/pacemaker/cores
chown -R hacluster:haclient /var/lib/pacemaker
chmod 750 /var/lib/pacemaker/*
mkdir -p %[2]s
mount --bind %[3]s %[2]s
mount -t overlay overlay -o lowerdir=%[4]s:/usr/sbin /usr/sbin
mount -t overlay overlay -o lowerdir=%[6]s:/usr/lib/ocf/resource.d /usr/lib/ocf/resource.d
cd %[2]s
corosync -f -c %[2]s/corosync.conf >corosync.out 2>&1 &
for i in $(seq 200); do corosync-cfgtool -s >/dev/null 2>&1 && break; sleep 0.05; done
%[5]s/hwagent run --config %[2]s/hwagent.yaml >hwagent.log 2>&1 &
touch pacemaker.log && chown hacluster:haclient pacemaker.log
bash %[2]s/pacemaker.sh
touch ready
while :; do wait || true; sleep 1; done
`, n.Name, ConfigDir, n.Dir, sbin, bin, ocf),
		// Starts pacemakerd in the background (at boot, and again by
		// StartPacemaker after it stopped itself and corosync), and
		// corosync first when it does not run.
		// With "restart" (StartPacemaker) it first waits for the corosync
		// that a stopping pacemakerd asked to shut down, and stops it when
		// it stays: one on its way out answers no client and holds the
		// lock a new corosync needs. The stack starts fresh, and a corosync
		// that does not come up is an error, not a pacemakerd left waiting.
		"pacemaker.sh": fmt.Sprintf(`cd %[1]s
if [ "$1" = restart ] && pgrep -x corosync >/dev/null; then
	for i in $(seq 100); do pgrep -x corosync >/dev/null || break; sleep 0.1; done
	pkill -TERM -x corosync
	for i in $(seq 100); do pgrep -x corosync >/dev/null || break; sleep 0.1; done
	pkill -KILL -x corosync
	for i in $(seq 50); do pgrep -x corosync >/dev/null || break; sleep 0.1; done
fi
if ! corosync-cfgtool -s >/dev/null 2>&1; then
	setsid corosync -f -c %[1]s/corosync.conf >>corosync.out 2>&1 </dev/null &
	for i in $(seq 200); do corosync-cfgtool -s >/dev/null 2>&1 && break; sleep 0.05; done
	if ! corosync-cfgtool -s >/dev/null 2>&1; then
		echo "corosync did not start within 10 s:" >&2; tail -n 20 corosync.out >&2; exit 1
	fi
fi
PCMK_logfile=%[1]s/pacemaker.log PCMK_logfacility=none PCMK_logpriority=info setsid pacemakerd >>pacemakerd.out 2>&1 </dev/null &
`, ConfigDir),
	}
	for f, s := range files {
		if err := os.WriteFile(filepath.Join(n.Dir, f), []byte(s), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// corosyncNodes is corosync.conf's nodelist entries.
func (c *Cluster) corosyncNodes() string {
	var b strings.Builder
	for _, n := range c.nodes {
		fmt.Fprintf(&b, "\tnode {\n\t\tring0_addr: %s\n\t\tname: %s\n\t\tnodeid: %d\n\t}\n", n.Addr, n.Name, n.ID)
	}
	return b.String()
}

// votequorum is corosync.conf's quorum options after the provider: a
// pair keeps quorum with one node (two_node), more nodes need a majority.
func (c *Cluster) votequorum() string {
	if len(c.nodes) == 2 {
		return "\ttwo_node: 1\n"
	}
	return ""
}

// peersYAML is node i's hwagent peer: (a pair) or peers: (more members,
// each with its crossover address as the NIC probe's target).
func (c *Cluster) peersYAML(i int) string {
	if len(c.nodes) == 2 {
		p := c.nodes[1-i]
		return fmt.Sprintf("peer: {name: %s, id: %d}", p.Name, p.ID)
	}
	var b strings.Builder
	b.WriteString("peers:")
	for j, p := range c.nodes {
		if j == i {
			continue
		}
		fmt.Fprintf(&b, "\n  - {name: %s, id: %d, address: %s", p.Name, p.ID, p.CrossoverAddr)
		if port := c.portTo(i, j); port != "" {
			fmt.Fprintf(&b, ", serial_port: %s", port)
		}
		b.WriteString("}")
	}
	return b.String()
}

// nicYAML is node i's hwagent nic: section; a pair names the peer's
// address there, more members name theirs in peers:.
func (c *Cluster) nicYAML(i int) string {
	if len(c.nodes) == 2 {
		return fmt.Sprintf("nic: {interface: eth2, peer_address: %s}", c.nodes[1-i].CrossoverAddr)
	}
	return "nic: {interface: eth2}"
}

// boot starts the node's init in new UTS, mount and PID namespaces inside
// its network namespace.
func (c *Cluster) boot(ctx context.Context, n *Node) error {
	logf, err := os.Create(filepath.Join(n.Dir, "init.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command("nsenter", "--net=/run/netns/"+n.netns, "--",
		"unshare", "--uts", "--mount", "--propagation", "private", "--pid", "--fork", "--kill-child", "--mount-proc",
		"bash", filepath.Join(n.Dir, "init.sh"))
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pcmk: start %s: %w", n.Name, err)
	}
	n.cmd, n.done = cmd, make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(n.done)
	}()
	// unshare --fork: the node's init is unshare's only child.
	deadline := time.Now().Add(5 * time.Second)
	for n.init == 0 {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", cmd.Process.Pid, cmd.Process.Pid))
		if f := strings.Fields(string(b)); len(f) > 0 {
			n.init, _ = strconv.Atoi(f[0])
			break
		}
		select {
		case <-n.done:
			return fmt.Errorf("pcmk: %s: init exited: %s", n.Name, tail(filepath.Join(n.Dir, "init.log")))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pcmk: %s: no init process after 5 s", n.Name)
		}
	}
	c.log.Info("pcmk node booted", "node", n.Name, "init", n.init, "netns", n.netns, "dir", n.Dir)
	return nil
}

func (n *Node) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if _, err := os.Stat(filepath.Join(n.Dir, "ready")); err == nil {
			return nil
		}
		select {
		case <-n.done:
			return fmt.Errorf("pcmk: %s: init exited: %s", n.Name, tail(filepath.Join(n.Dir, "init.log")))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pcmk: %s: not ready after %v: %s", n.Name, timeout, tail(filepath.Join(n.Dir, "init.log")))
		}
	}
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 1500 {
		b = b[len(b)-1500:]
	}
	return strings.TrimSpace(string(b))
}

// Nodes returns the nodes in order: node-a, node-b, ...
func (c *Cluster) Nodes() []*Node { return slices.Clone(c.nodes) }

// Others returns every node but n, in order.
func (c *Cluster) Others(n *Node) []*Node {
	var o []*Node
	for _, m := range c.nodes {
		if m != n {
			o = append(o, m)
		}
	}
	return o
}

// Disk is the shared LUN.
func (c *Cluster) Disk() *rig.Disk { return c.disk }

// Dir is the cluster's folder on this machine.
func (c *Cluster) Dir() string { return c.dir }

// Command returns a command running name inside the node (its network,
// mount, UTS and PID namespaces), as `nsenter -t PID -n -m -u -p` does.
func (n *Node) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "nsenter", append([]string{"-t", strconv.Itoa(n.init), "-n", "-m", "-u", "-p", "--", name}, args...)...)
	cmd.Dir = "/"
	return cmd
}

// Run runs name inside the node and returns its standard output; the error
// carries its standard error.
func (n *Node) Run(ctx context.Context, name string, args ...string) (string, error) {
	var out, errb bytes.Buffer
	cmd := n.Command(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s: %s %s: %w: %s", n.Name, name, strings.Join(args, " "), err, strings.TrimSpace(errb.String()+" "+out.String()))
	}
	return out.String(), nil
}

// Alive reports whether the node's init runs.
func (n *Node) Alive() bool {
	select {
	case <-n.done:
		return false
	default:
		return n.cmd != nil
	}
}

// Kill powers the node off: SIGKILL to its PID-namespace init, which
// kills every process of the node; it returns once they are gone.
func (n *Node) Kill() error {
	if n.cmd == nil {
		return nil
	}
	if n.init != 0 {
		_ = syscall.Kill(n.init, syscall.SIGKILL)
	}
	select {
	case <-n.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
		<-n.done
	}
	// The namespace is gone when its last process is: wait for the init's
	// /proc entry to go so that callers see a node that is truly off.
	for i := 0; i < 500; i++ {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", n.init)); err != nil {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("pcmk: %s: init %d still exists after SIGKILL", n.Name, n.init)
}

// SetLink brings the switch side of one of the node's links down or up:
// the node's eth0 (Ring), eth1 (Storage) or eth2 (Crossover) loses or
// regains its carrier, as when a cable is pulled and plugged back.
func (c *Cluster) SetLink(ctx context.Context, n *Node, l Link, up bool) error {
	state := "down"
	if up {
		state = "up"
	}
	_, err := run(ctx, "ip", "-n", c.sw, "link", "set", n.port(l), state)
	if err == nil {
		c.log.Info("pcmk link", "node", n.Name, "link", l.String(), "state", state)
	}
	return err
}

// NodeLink names one node's link, for SetLinks.
type NodeLink struct {
	Node *Node
	Link Link
}

// SetLinks sets several links up or down in one `ip -batch`, so that they
// change within microseconds of each other (a symmetric split).
func (c *Cluster) SetLinks(ctx context.Context, up bool, links ...NodeLink) error {
	state := "down"
	if up {
		state = "up"
	}
	var b strings.Builder
	for _, l := range links {
		fmt.Fprintf(&b, "link set %s %s\n", l.Node.port(l.Link), state)
	}
	f, err := os.CreateTemp(c.dir, "links-*.batch")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(b.String()); err != nil {
		f.Close()
		return err
	}
	f.Close()
	_, err = run(ctx, "ip", "-n", c.sw, "-batch", f.Name())
	if err == nil {
		c.log.Info("pcmk links", "links", len(links), "state", state)
	}
	return err
}

// Freeze stops (SIGSTOP) every process of the node but its init, as a
// hung machine; Thaw continues them.
func (n *Node) Freeze(ctx context.Context) error { return n.signalAll(syscall.SIGSTOP) }

// Thaw continues the processes Freeze stopped.
func (n *Node) Thaw(ctx context.Context) error { return n.signalAll(syscall.SIGCONT) }

// signalAll signals, from the host, every process in the node's PID
// namespace but its init.
func (n *Node) signalAll(sig syscall.Signal) error {
	if n.init == 0 {
		return fmt.Errorf("pcmk: %s is not running", n.Name)
	}
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", n.init))
	if err != nil {
		return fmt.Errorf("pcmk: %s: %w", n.Name, err)
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return err
	}
	count := 0
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == n.init {
			continue
		}
		if l, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid)); err == nil && l == ns {
			if syscall.Kill(pid, sig) == nil {
				count++
			}
		}
	}
	if count == 0 {
		return fmt.Errorf("pcmk: %s: no process to send %v", n.Name, sig)
	}
	return nil
}

// PacemakerRunning reports whether pacemakerd runs in the node.
func (n *Node) PacemakerRunning(ctx context.Context) bool {
	_, err := n.Run(ctx, "pgrep", "-x", "pacemakerd")
	return err == nil
}

// StartPacemaker starts corosync and pacemakerd in the node again, as
// after a restart of the cluster stack (Pacemaker stops both when it
// learns that the node was fenced); hwagent keeps running.
//
// It refuses while pacemakerd runs. A corosync left from the stopped
// stack is given 10 s to finish its shutdown, then stopped, and started
// again: a restart against a corosync on its way out would leave the
// new pacemakerd without CMAP (CS_ERR_LIBRARY) and the node offline.
func (n *Node) StartPacemaker(ctx context.Context) error {
	if n.PacemakerRunning(ctx) {
		return fmt.Errorf("pcmk: %s: pacemakerd runs already", n.Name)
	}
	_, err := n.Run(ctx, "bash", filepath.Join(ConfigDir, "pacemaker.sh"), "restart")
	return err
}

// Log returns one of the node's log files (pacemaker.log, corosync.log,
// hwagent.log, init.log), "" when it cannot be read.
func (n *Node) Log(name string) string {
	b, _ := os.ReadFile(filepath.Join(n.Dir, name))
	return string(b)
}

// Tail returns the last lines of one of the node's log files, for error
// messages.
func (n *Node) Tail(name string) string { return tail(filepath.Join(n.Dir, name)) }

// Close powers every node off and removes the disk, the namespaces and the
// folder. A second Close does nothing.
func (c *Cluster) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	var errs []error
	for _, n := range c.nodes {
		if n != nil {
			if err := n.Kill(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if c.disk != nil {
		if err := c.disk.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, rc := range c.cables {
		if err := rc.cable.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if c.client != "" {
		if err := deleteNetns(c.client); err != nil {
			errs = append(errs, err)
		}
	}
	for _, n := range c.nodes {
		if n != nil {
			if err := deleteNetns(n.netns); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := deleteNetns(c.sw); err != nil {
		errs = append(errs, err)
	}
	if err := os.RemoveAll(c.dir); err != nil {
		errs = append(errs, err)
	}
	c.log.Info("pcmk cluster removed", "dir", c.dir)
	return errors.Join(errs...)
}

func deleteNetns(name string) error {
	if _, err := os.Stat("/run/netns/" + name); err != nil {
		return nil
	}
	_, err := run(context.Background(), "ip", "netns", "delete", name)
	return err
}

func run(ctx context.Context, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("pcmk: %s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}

// Status runs crm_mon in the node.
func (n *Node) Status(ctx context.Context) (Status, error) {
	out, err := n.Run(ctx, "crm_mon", "-1", "--output-as=xml")
	if err != nil {
		return Status{}, err
	}
	return ParseStatus([]byte(out))
}

// WaitFor polls the node's view of the cluster every 200 ms until ok
// returns true or timeout passes; the error names the last status.
func (n *Node) WaitFor(ctx context.Context, timeout time.Duration, what string, ok func(Status) bool) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last Status
	var lastErr error
	for {
		s, err := n.Status(ctx)
		if err == nil && ok(s) {
			return nil
		}
		last, lastErr = s, err
		select {
		case <-ctx.Done():
			return fmt.Errorf("pcmk: %s: %s: not after %v (last status %+v, err %v)", n.Name, what, timeout, last, lastErr)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// WaitOnline waits until node n sees every node online.
func (c *Cluster) WaitOnline(ctx context.Context, n *Node, timeout time.Duration) error {
	return n.WaitFor(ctx, timeout, fmt.Sprintf("all %d nodes online", len(c.nodes)), func(s Status) bool {
		for _, m := range c.nodes {
			if !s.Online(m.Name) {
				return false
			}
		}
		return true
	})
}
