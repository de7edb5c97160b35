package agent

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/hakit/hakit/raidctl"
	"github.com/hakit/hakit/scsi/opener/devname"
)

// Config is one node's hwagent configuration, read from YAML by ParseConfig.
// Zero values of optional fields are documented per field; ParseConfig fills
// the defaults and validates everything before the agent touches a device.
type Config struct {
	// Node is this node.
	Node NodeConfig `yaml:"node"`
	// Peer is the other node of a pair (the pair form of Peers). With
	// peers: it is filled with the first of them, for what reports "the
	// peer"; everything that acts on members reads Members or PeerList.
	Peer PeerConfig `yaml:"peer"`
	// Peers are the other members sharing the array, 1 to MaxPeers of
	// them; peer: and peers: together are an error. A pair may use either.
	Peers []MemberConfig `yaml:"peers"`
	// Cluster names the pair.
	Cluster ClusterConfig `yaml:"cluster"`
	// Serial is the heartbeat over the null-modem cable; empty Port disables it.
	Serial SerialConfig `yaml:"serial"`
	// NIC is the heartbeat link; empty Interface disables the NIC watch.
	NIC NICConfig `yaml:"nic"`
	// Disks are the shared disks this node may own.
	Disks []DiskConfig `yaml:"disks"`
	// RAID is the RAID backend; empty Tool and File disable it.
	RAID RAIDConfig `yaml:"raid"`
	// Timers are the heartbeat timers and the disk status period.
	Timers TimersConfig `yaml:"timers"`
	// API is the local API socket.
	API APIConfig `yaml:"api"`
	// Metrics is the optional Prometheus listener.
	Metrics MetricsConfig `yaml:"metrics"`
	// SelfFence is what happens when this node finds itself fenced.
	SelfFence SelfFenceConfig `yaml:"self_fence"`
	// Fence tunes fence races between the nodes.
	Fence FenceConfig `yaml:"fence"`
	// SBD is this node's slot on an SBD device (sbd 1.5.2's format);
	// empty Device disables it.
	SBD SBDConfig `yaml:"sbd"`
	// StateDir keeps what must survive a restart of the agent: the
	// self-fence latch and each disk's fenced latch. ParseConfig fills
	// /var/lib/hakit when it is empty. Created 0700 if missing.
	StateDir string `yaml:"state_dir"`

	// SourceMode is the permission bits of the file LoadConfig read (0
	// for a configuration parsed from bytes), not a setting: Warnings says
	// when group or others can read a secret in it.
	SourceMode fs.FileMode `yaml:"-"`
}

// NodeConfig names a node.
type NodeConfig struct {
	// Name is the node's name (as the failover agent knows it).
	Name string `yaml:"name"`
	// ID is the node's id in the cluster, 1 to 65535 (it goes into the key).
	ID int `yaml:"id"`
}

// PeerConfig names another member and, optionally, where its agent
// answers.
type PeerConfig struct {
	NodeConfig `yaml:",inline"`
	// Socket is the member agent's API socket when it is reachable from
	// here (on the rig, every agent runs on one machine); hwcheck uses it.
	Socket string `yaml:"socket"`
}

// MemberConfig is one of peers: a PeerConfig and how this node's
// heartbeats reach that member.
type MemberConfig struct {
	PeerConfig `yaml:",inline"`
	// SerialPort is this node's tty of the point-to-point null-modem cable
	// to this member; empty: no cable to it. serial.port is the pair form
	// (serial.key_file, baud and realtime_priority are shared).
	SerialPort string `yaml:"serial_port"`
	// Address is the member's address on nic.interface; nic.peer_address
	// is the pair form.
	Address string `yaml:"address"`
}

// MaxMembers is the most nodes one configuration names (this node and
// MaxPeers others): every member registers its own key on each shared
// LUN, and the number of registrations a LUN keeps is the target's
// limit, which differs between enclosures; hakit is tested with 16
// initiators on one LUN (scsi's TestIntegrationSixteenInitiators) and
// fence.priority's 16 steps order a race between that many nodes.
const (
	MaxMembers = 16
	MaxPeers   = MaxMembers - 1
)

// ClusterConfig names the cluster.
type ClusterConfig struct {
	// ID is the cluster id, 1 to 65535 (the high part of every key).
	ID int `yaml:"id"`
	// Name is informative; empty means "hakit".
	Name string `yaml:"name"`
}

// SerialConfig is the serial heartbeat.
type SerialConfig struct {
	// Port is the tty, e.g. /dev/ttyS0; empty disables the serial heartbeat.
	Port string `yaml:"port"`
	// Baud is 9600, 19200, 38400, 57600 or 115200; 0 means 19200.
	Baud int `yaml:"baud"`
	// KeyFile holds the shared authentication key (required with Port).
	KeyFile string `yaml:"key_file"`
	// RealtimePriority runs the heartbeat's threads with the real-time
	// round-robin policy at this priority (1 to 99) and locks the agent's
	// memory, as Heartbeat's `realtime on`: at keepalive 10 ms a loaded
	// machine otherwise delays heartbeats past a short deadtime. 0 means 1
	// (on); -1 turns it off. Without root or CAP_SYS_NICE the agent warns
	// and runs at normal priority.
	RealtimePriority int `yaml:"realtime_priority"`
	// KworkerNice is the nice value the agent gives the kernel's unbound
	// workqueue workers while the serial heartbeat runs: the tty layer
	// hands received bytes to the reader through them, and at nice 0 on a
	// loaded machine they made a 10 ms heartbeat miss a 50 ms deadtime
	// (serialhb.Config.KworkerNice). -20 to -1; 0 means -20 with
	// real-time on, off without; 1 turns it off.
	KworkerNice int `yaml:"kworker_nice"`
}

// NICConfig is the heartbeat link.
type NICConfig struct {
	// Interface is the heartbeat NIC; empty disables the NIC watch.
	Interface string `yaml:"interface"`
	// PeerAddress is the peer's address on that link (required with Interface).
	PeerAddress string `yaml:"peer_address"`
	// Netns is a network namespace path or name to watch in (for the rig);
	// empty means the agent's own namespace.
	Netns string `yaml:"netns"`
}

// DiskConfig is one shared disk.
type DiskConfig struct {
	// Device is /dev/sdX, /dev/sgN or an iscsi:// URL.
	Device string `yaml:"device"`
	// Identity is the expected VPD 0x83 identity (e.g. "naa.6001405..."); empty
	// means "not checked" and hwcheck warns.
	Identity string `yaml:"identity"`
	// Initiator is this node's iSCSI initiator name (required for iscsi://).
	Initiator string `yaml:"initiator"`
	// AllowPreemptWithoutAbort lets a fence use PREEMPT when the target
	// refuses PREEMPT AND ABORT (tgtd does). PREEMPT does not abort the
	// fenced node's queued and running writes, so one it already sent may
	// still land; the fence result says when it was used. Off by default:
	// the fence then fails on such a target, as fence_scsi's does.
	AllowPreemptWithoutAbort bool `yaml:"allow_preempt_without_abort"`
	// Mode is how this node owns the disk: "pr" (SCSI-3 persistent
	// reservations, the default when empty) or "scsi2" (SCSI-2
	// RESERVE(6)/RELEASE(6) for enclosures without PR: the owner renews its
	// reservation every scsi2_period_ms, a fence is a challenge: LUN reset,
	// wait, reserve). ParseConfig fills "pr" when empty.
	Mode string `yaml:"mode"`
	// SCSI2PeriodMS is the scsi2 renewal period in milliseconds, 100 to
	// 2000; 0 means 1000. A fence (challenge) waits 4 periods after the
	// reset (3 x period + the command timeout, which is one period), so
	// the longest period keeps a fence within fence_hwagent's default
	// power_timeout. Only with mode scsi2.
	SCSI2PeriodMS int `yaml:"scsi2_period_ms"`
	// CHAPUser and CHAPSecretFile authenticate this initiator to an iSCSI
	// target with CHAP; the file (mode 0600, owned by root) holds the
	// secret. They replace a user%password in the URL, which whoever reads
	// this file could read.
	CHAPUser       string `yaml:"chap_user"`
	CHAPSecretFile string `yaml:"chap_secret_file"`
	// TargetCHAPUser and TargetCHAPSecretFile turn on mutual CHAP: the
	// target must prove it knows the secret in the file; TargetCHAPUser,
	// when set, is the name it must give.
	TargetCHAPUser       string `yaml:"target_chap_user"`
	TargetCHAPSecretFile string `yaml:"target_chap_secret_file"`
}

// Disk ownership modes (DiskConfig.Mode).
const (
	ModePR    = "pr"
	ModeSCSI2 = "scsi2"
)

// RAIDConfig is the RAID backend.
type RAIDConfig struct {
	// Tool is one of raidctl.ConfigToolNames (the tool table's
	// configuration names); empty disables RAID unless File is set.
	Tool string `yaml:"tool"`
	// File is a saved output of Tool to read instead of running it.
	File string `yaml:"file"`
}

// TimersConfig holds the heartbeat timers (ha.cf's, in milliseconds) and the
// disk status period. Zero values take the defaults of DefaultTimers.
type TimersConfig struct {
	KeepaliveMS  int `yaml:"keepalive_ms"`
	WarntimeMS   int `yaml:"warntime_ms"`
	DeadtimeMS   int `yaml:"deadtime_ms"`
	InitdeadMS   int `yaml:"initdead_ms"`
	DiskStatusMS int `yaml:"disk_status_ms"`
	// ISCSIKeepaliveMS is the iSCSI NOP-Out keepalive of the disk sessions:
	// a dead path is found within it even when no command runs. 0 means
	// 5000; -1 disables it.
	ISCSIKeepaliveMS int `yaml:"iscsi_keepalive_ms"`
}

// APIConfig is the local API.
type APIConfig struct {
	// Socket is the Unix socket path; empty means /run/hakit/hwagent.sock.
	Socket string `yaml:"socket"`
	// Group is the one group, besides root, allowed to use the API; empty
	// means root only.
	Group string `yaml:"group"`
}

// MetricsConfig is the optional Prometheus listener.
type MetricsConfig struct {
	// Listen is a loopback host:port; empty (the default) disables metrics.
	Listen string `yaml:"listen"`
}

// SelfFenceConfig is the self-fence guard's action.
type SelfFenceConfig struct {
	// Action is none, event (the default), exit or watchdog.
	Action string `yaml:"action"`
	// WatchdogDevice is the watchdog for action watchdog; empty means
	// /dev/watchdog.
	WatchdogDevice string `yaml:"watchdog_device"`
	// WatchdogTimeoutS is the watchdog timeout armed at start (seconds, 1 to
	// 600); 0 means 10.
	WatchdogTimeoutS int `yaml:"watchdog_timeout_s"`
}

// SBDConfig is the SBD poison-pill mailbox the agent watches: a reset,
// off or crashdump message in this node's slot (written by a peer's
// fence_hwagent or by the real `sbd message`) triggers self_fence, a test
// message is answered (cleared) and its sender logged.
type SBDConfig struct {
	// Device is /dev/... (O_DIRECT) or iscsi://host/target-iqn/lun of
	// an SBD device made with `sbd create` or `hwagent sbd create`; empty
	// (the default) disables the watch.
	Device string `yaml:"device"`
	// Name is this node's name in the slots; empty means node.name.
	Name string `yaml:"name"`
	// Initiator is the iSCSI initiator name for an iscsi:// device.
	Initiator string `yaml:"initiator"`
	// HeartbeatMS is the disk heartbeat's interval: every HeartbeatMS this
	// node writes its status block in the area after sbd's last mailbox
	// (sbd never touches it) and reads the other slots'; 0 means 500, -1
	// turns the disk heartbeat off.
	HeartbeatMS int `yaml:"heartbeat_ms"`
	// HeartbeatDeadMS is how long a peer's block may stand still before
	// the peer is dead on the disk path; 0 means 4 x heartbeat_ms.
	HeartbeatDeadMS int `yaml:"heartbeat_dead_ms"`
}

// FenceConfig tunes fence races.
type FenceConfig struct {
	// Priority of this node: 0 (the default) is the preferred node, which
	// fences at once; priority p waits p x DelayStepMS first, so the
	// preferred node wins a race where both fence each other.
	Priority int `yaml:"priority"`
	// DelayStepMS is the delay per priority step; 0 means 5000.
	DelayStepMS int `yaml:"delay_step_ms"`
}

// Default values.
const (
	DefaultSocket           = "/run/hakit/hwagent.sock"
	DefaultStateDir         = "/var/lib/hakit"
	DefaultBaud             = 19200
	DefaultRealtimePriority = 1
	DefaultKworkerNice      = -20
	DefaultDiskHeartbeatMS  = 500
	DefaultKeepaliveMS      = 1000
	DefaultDeadtimeMS       = 30000
	DefaultDiskStatusMS     = 1000
	DefaultISCSIKeepaliveMS = 5000
	// DefaultSCSI2PeriodMS is a scsi2 disk's renewal period.
	DefaultSCSI2PeriodMS = 1000
	DefaultWatchdog      = "/dev/watchdog"
	DefaultWatchdogS     = 10
	DefaultDelayStepMS   = 5000
	DefaultSelfFenceMode = "event"
)

// ConfigError is a configuration problem at a line of the file.
type ConfigError struct {
	// File is the file name ("" when parsed from a reader without one).
	File string
	// Line is the 1-based line, 0 when unknown.
	Line int
	// Field is the dotted path of the field, e.g. "disks[1].device".
	Field string
	// Msg says what is wrong and what is expected.
	Msg string
	// Err is the underlying error, when there is one (a group lookup, a
	// secret file); nil for the YAML decoder's errors, which may quote the
	// file's content.
	Err error
}

// Unwrap returns the underlying error.
func (e *ConfigError) Unwrap() error { return e.Err }

func (e *ConfigError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
	} else {
		b.WriteString("config")
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ErrConfig matches every *ConfigError through errors.Is.
var ErrConfig = errors.New("invalid configuration")

// Is reports target == ErrConfig.
func (e *ConfigError) Is(target error) bool { return target == ErrConfig }

// LoadConfig reads and validates the configuration file at path.
func LoadConfig(path string) (*Config, error) {
	f, err := os.Open(path)
	switch {
	case errors.Is(err, fs.ErrPermission):
		return nil, fmt.Errorf("hwagent config: %w (it is root's: run with sudo)", err)
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("hwagent config: %w (give --config with this node's hwagent.yaml)", err)
	case err != nil:
		return nil, fmt.Errorf("hwagent config: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("hwagent config: %w", err)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("hwagent config: %w", err)
	}
	c, err := ParseConfig(path, b)
	if err != nil {
		return nil, err
	}
	c.SourceMode = fi.Mode().Perm()
	return c, nil
}

var yamlLineRE = regexp.MustCompile(`^yaml: (?:unmarshal errors:\n\s*)?line (\d+): (.*)$`)

// ParseConfig parses YAML strictly (unknown keys, wrong types and bad values
// are *ConfigError with the line), fills defaults and validates.
func ParseConfig(name string, data []byte) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlError(name, err)
	}
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &ConfigError{File: name, Msg: "empty file"}
		}
		return nil, yamlError(name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, &ConfigError{File: name, Line: extra.Line, Msg: "more than one YAML document"}
	}
	if c.Peer != (PeerConfig{}) && len(c.Peers) > 0 {
		return nil, &ConfigError{File: name, Field: "peers", Line: lineOf(&root, "peers"), Msg: "given with peer: peer: is the pair form of a one-element peers: list; keep one of them"}
	}
	c.fill()
	if ce := c.validate(); ce != nil {
		ce.File = name
		ce.Line = lineOf(&root, ce.Field)
		return nil, ce
	}
	return &c, nil
}

// yamlQuoted is a value the yaml decoder quotes from the file in its errors.
var yamlQuoted = regexp.MustCompile("`[^`]*`|\"[^\"]*\"")

// yamlField is an unknown key in a yaml error; it is shown only when it
// looks like a key name (yamlKeyName), not like a line of some other file.
var (
	yamlField   = regexp.MustCompile(`field (.*?) not found`)
	yamlKeyName = regexp.MustCompile(`^[A-Za-z0-9_]{1,40}$`)
)

// yamlError turns a yaml error into a *ConfigError carrying its first line.
// Text the decoder quotes from the file is cut out: a file that fails to
// parse may be anything (config=/etc/shadow), and its content must not
// reach a log.
func yamlError(name string, err error) error {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
		if !strings.HasPrefix(msg, "yaml: ") {
			msg = "yaml: " + msg
		}
	}
	msg = yamlQuoted.ReplaceAllString(msg, "(value not shown)")
	msg = yamlField.ReplaceAllStringFunc(msg, func(m string) string {
		if f := yamlField.FindStringSubmatch(m)[1]; !yamlKeyName.MatchString(f) {
			return "field (not shown) not found"
		}
		return m
	})
	msg = suggestKey(msg)
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return &ConfigError{File: name, Line: n, Msg: m[2]}
	}
	return &ConfigError{File: name, Msg: strings.TrimPrefix(msg, "yaml: ")}
}

// lineOf finds the line of the dotted field path ("disks[1].device") in the
// document; it falls back to the deepest parent found, 0 when none.
func lineOf(root *yaml.Node, path string) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := 0
	for _, part := range strings.Split(path, ".") {
		if part == "" {
			continue
		}
		key, idx := part, -1
		if i := strings.IndexByte(part, '['); i >= 0 && strings.HasSuffix(part, "]") {
			key = part[:i]
			idx, _ = strconv.Atoi(part[i+1 : len(part)-1])
		}
		next := mapValue(n, key)
		if next == nil {
			return line
		}
		line, n = next.Line, next
		if idx >= 0 {
			if n.Kind != yaml.SequenceNode || idx >= len(n.Content) {
				return line
			}
			n = n.Content[idx]
			line = n.Line
		}
	}
	return line
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	// Inlined fields (peer's name/id) live in the same mapping: nothing else to do.
	return nil
}

func (c *Config) fill() {
	if c.Cluster.Name == "" {
		c.Cluster.Name = "hakit"
	}
	if len(c.Peers) > 0 {
		c.Peer = c.Peers[0].PeerConfig
	}
	if len(c.SerialLinks()) > 0 && c.Serial.Baud == 0 {
		c.Serial.Baud = DefaultBaud
	}
	if c.Serial.RealtimePriority == 0 {
		c.Serial.RealtimePriority = DefaultRealtimePriority
	}
	if c.Serial.KworkerNice == 0 && c.Serial.RealtimePriority > 0 {
		c.Serial.KworkerNice = DefaultKworkerNice
	}
	t := &c.Timers
	if t.KeepaliveMS == 0 {
		t.KeepaliveMS = DefaultKeepaliveMS
	}
	if t.DeadtimeMS == 0 {
		// ha.cf's default with the default keepalive; five keepalives
		// otherwise.
		t.DeadtimeMS = DefaultDeadtimeMS
		if t.KeepaliveMS != DefaultKeepaliveMS {
			t.DeadtimeMS = 5 * t.KeepaliveMS
		}
	}
	if t.WarntimeMS == 0 {
		t.WarntimeMS = t.DeadtimeMS / 2
	}
	if t.InitdeadMS == 0 {
		t.InitdeadMS = 2 * t.DeadtimeMS
	}
	if t.DiskStatusMS == 0 {
		t.DiskStatusMS = DefaultDiskStatusMS
	}
	if t.ISCSIKeepaliveMS == 0 {
		t.ISCSIKeepaliveMS = DefaultISCSIKeepaliveMS
	}
	for i := range c.Disks {
		d := &c.Disks[i]
		if d.Mode == "" {
			d.Mode = ModePR
		}
		if d.Mode == ModeSCSI2 && d.SCSI2PeriodMS == 0 {
			d.SCSI2PeriodMS = DefaultSCSI2PeriodMS
		}
	}
	if c.API.Socket == "" {
		c.API.Socket = DefaultSocket
	}
	if c.StateDir == "" {
		c.StateDir = DefaultStateDir
	}
	if c.SBD.Device != "" && c.SBD.Name == "" {
		c.SBD.Name = c.Node.Name
	}
	if c.SBD.Device != "" && c.SBD.HeartbeatMS == 0 {
		c.SBD.HeartbeatMS = DefaultDiskHeartbeatMS
	}
	if c.SBD.HeartbeatMS > 0 && c.SBD.HeartbeatDeadMS == 0 {
		c.SBD.HeartbeatDeadMS = 4 * c.SBD.HeartbeatMS
	}
	s := &c.SelfFence
	if s.Action == "" {
		s.Action = DefaultSelfFenceMode
	}
	if s.WatchdogDevice == "" {
		s.WatchdogDevice = DefaultWatchdog
	}
	if s.WatchdogTimeoutS == 0 {
		s.WatchdogTimeoutS = DefaultWatchdogS
	}
	if c.Fence.DelayStepMS == 0 {
		c.Fence.DelayStepMS = DefaultDelayStepMS
	}
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

func bad(field, format string, args ...any) *ConfigError {
	return &ConfigError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// validate checks every field after fill; the first problem wins.
func (c *Config) validate() *ConfigError {
	if !nameRE.MatchString(c.Node.Name) {
		return bad("node.name", "%q: want a node name (letters, digits, '.', '_', '-', up to 63)", c.Node.Name)
	}
	if c.Node.ID < 1 || c.Node.ID > 0xffff {
		return bad("node.id", "%d: want 1 to 65535", c.Node.ID)
	}
	if ce := c.validatePeers(); ce != nil {
		return ce
	}
	if c.Cluster.ID < 1 || c.Cluster.ID > 0xffff {
		return bad("cluster.id", "%d: want 1 to 65535", c.Cluster.ID)
	}
	if c.Serial.Port != "" {
		if !strings.HasPrefix(c.Serial.Port, "/") {
			return bad("serial.port", "%q: want an absolute device path such as /dev/ttyS0", c.Serial.Port)
		}
		if len(c.Peers) > 1 {
			return bad("serial.port", "%q with %d peers: a null-modem cable links two nodes; give each cable's tty as peers[].serial_port", c.Serial.Port, len(c.Peers))
		}
		if len(c.Peers) == 1 && c.Peers[0].SerialPort != "" {
			return bad("peers[0].serial_port", "given with serial.port: keep one of them")
		}
	}
	if len(c.SerialLinks()) > 0 {
		if ce := c.validateSerialShared(); ce != nil {
			return ce
		}
		if n := c.Serial.KworkerNice; n < -20 || n > 1 {
			return bad("serial.kworker_nice", "%d: want -20 to -1, or 1 for off", n)
		}
	} else if c.Serial.KeyFile != "" || c.Serial.Baud != 0 {
		return bad("serial.port", "missing: baud or key_file given without a port")
	}
	if c.NIC.Interface != "" {
		if len(c.NIC.Interface) > 15 || strings.ContainsAny(c.NIC.Interface, "/ \t") {
			return bad("nic.interface", "%q: want an interface name of at most 15 characters", c.NIC.Interface)
		}
		if ce := c.validateAddresses(); ce != nil {
			return ce
		}
	} else if c.NIC.PeerAddress != "" || c.NIC.Netns != "" {
		return bad("nic.interface", "missing: peer_address or netns given without an interface")
	} else if pl := c.PeerList(); slices.ContainsFunc(pl, func(p MemberConfig) bool { return p.Address != "" }) {
		i := slices.IndexFunc(pl, func(p MemberConfig) bool { return p.Address != "" })
		return bad(c.peerField(i)+".address", "%q: a member's address is on nic.interface, which is not set", pl[i].Address)
	}
	seen := map[string]int{}
	for i, d := range c.Disks {
		f := fmt.Sprintf("disks[%d]", i)
		if err := checkDevice(d); err != "" {
			return bad(f+".device", "%s", err)
		}
		if j, dup := seen[d.Device]; dup {
			return bad(f+".device", "%q: already listed as disks[%d]", ShownDevice(d.Device), j)
		}
		seen[d.Device] = i
		if field, err := checkCHAP(d); err != "" {
			return bad(f+"."+field, "%s", err)
		}
		if devname.IsISCSI(d.Device) && !strings.HasPrefix(d.Initiator, "iqn.") && !strings.HasPrefix(d.Initiator, "eui.") {
			return bad(f+".initiator", "%q: an iscsi:// disk needs this node's initiator name (iqn.... or eui....)", d.Initiator)
		}
		if ce := checkMode(f, d); ce != nil {
			return ce
		}
		if d.Mode == ModeSCSI2 && len(c.Peers) > 1 {
			return bad(f+".mode", "scsi2 with %d peers: SCSI-2 reservations carry no keys, so a fence cannot name the member it removes (the challenge takes the reservation from whichever node holds it); use mode pr for more than two members", len(c.Peers))
		}
	}
	if c.RAID.Tool != "" && !raidctl.IsConfigToolName(c.RAID.Tool) {
		return bad("raid.tool", "%q: want one of %s", c.RAID.Tool, strings.Join(raidctl.ConfigToolNames(), ", "))
	}
	if c.RAID.File != "" && c.RAID.Tool == "" {
		return bad("raid.tool", "missing: a saved file needs the tool that produced it")
	}
	if ce := c.Timers.validate(); ce != nil {
		return ce
	}
	if !strings.HasPrefix(c.StateDir, "/") {
		return bad("state_dir", "%q: want an absolute path", c.StateDir)
	}
	if !strings.HasPrefix(c.API.Socket, "/") {
		return bad("api.socket", "%q: want an absolute path", c.API.Socket)
	}
	if c.API.Group != "" && !nameRE.MatchString(c.API.Group) {
		return bad("api.group", "%q: want a group name", c.API.Group)
	}
	if c.Metrics.Listen != "" {
		if err := checkLoopback(c.Metrics.Listen); err != "" {
			return bad("metrics.listen", "%s", err)
		}
	}
	switch c.SelfFence.Action {
	case "none", "event", "exit", "watchdog":
	default:
		return bad("self_fence.action", "%q: want none, event, exit or watchdog", c.SelfFence.Action)
	}
	if c.SelfFence.WatchdogTimeoutS < 1 || c.SelfFence.WatchdogTimeoutS > 600 {
		return bad("self_fence.watchdog_timeout_s", "%d: want 1 to 600", c.SelfFence.WatchdogTimeoutS)
	}
	if d := c.SBD.Device; d != "" {
		switch {
		case devname.KindOf(d) == devname.KindUnknown:
			return bad("sbd.device", "%q: want /dev/... or iscsi://host/target-iqn/lun", d)
		case devname.IsISCSI(d) && !strings.HasPrefix(c.SBD.Initiator, "iqn.") && !strings.HasPrefix(c.SBD.Initiator, "eui."):
			return bad("sbd.initiator", "%q: an iscsi:// SBD device needs this node's initiator name", c.SBD.Initiator)
		case len(c.SBD.Name) > 63 || c.SBD.Name == "":
			return bad("sbd.name", "%q: want 1 to 63 bytes (sbd's slot name)", c.SBD.Name)
		case c.SBD.HeartbeatMS != -1 && (c.SBD.HeartbeatMS < 100 || c.SBD.HeartbeatMS > 60000):
			return bad("sbd.heartbeat_ms", "%d: want 100 to 60000 (or -1: no disk heartbeat)", c.SBD.HeartbeatMS)
		case c.SBD.HeartbeatMS > 0 && c.SBD.HeartbeatDeadMS < 2*c.SBD.HeartbeatMS:
			return bad("sbd.heartbeat_dead_ms", "%d: want at least twice sbd.heartbeat_ms (%d): one late write must not make a peer dead", c.SBD.HeartbeatDeadMS, c.SBD.HeartbeatMS)
		}
	}
	if c.Fence.Priority < 0 || c.Fence.Priority > 15 {
		return bad("fence.priority", "%d: want 0 (preferred) to 15", c.Fence.Priority)
	}
	if c.Fence.DelayStepMS < 0 || c.Fence.DelayStepMS > 60000 {
		return bad("fence.delay_step_ms", "%d: want 0 to 60000", c.Fence.DelayStepMS)
	}
	return nil
}

func (t TimersConfig) validate() *ConfigError {
	switch {
	case t.KeepaliveMS < 10 || t.KeepaliveMS > 60000:
		return bad("timers.keepalive_ms", "%d: want 10 to 60000", t.KeepaliveMS)
	case t.DeadtimeMS <= 2*t.KeepaliveMS:
		return bad("timers.deadtime_ms", "%d: must exceed twice keepalive_ms (%d)", t.DeadtimeMS, 2*t.KeepaliveMS)
	case t.WarntimeMS < t.KeepaliveMS || t.WarntimeMS >= t.DeadtimeMS:
		return bad("timers.warntime_ms", "%d: want keepalive_ms (%d) up to below deadtime_ms (%d)", t.WarntimeMS, t.KeepaliveMS, t.DeadtimeMS)
	case t.InitdeadMS < t.DeadtimeMS:
		return bad("timers.initdead_ms", "%d: want at least deadtime_ms (%d)", t.InitdeadMS, t.DeadtimeMS)
	case t.DiskStatusMS < 100 || t.DiskStatusMS > 60000:
		return bad("timers.disk_status_ms", "%d: want 100 to 60000", t.DiskStatusMS)
	case t.ISCSIKeepaliveMS != -1 && (t.ISCSIKeepaliveMS < 100 || t.ISCSIKeepaliveMS > 600000):
		return bad("timers.iscsi_keepalive_ms", "%d: want 100 to 600000, or -1 to disable", t.ISCSIKeepaliveMS)
	}
	return nil
}

// checkMode validates a disk's ownership mode and its settings; f names
// the disk (disks[i]).
func checkMode(f string, d DiskConfig) *ConfigError {
	switch d.Mode {
	case ModePR:
		if d.SCSI2PeriodMS != 0 {
			return bad(f+".scsi2_period_ms", "%d: only with mode scsi2 (this disk's mode is pr)", d.SCSI2PeriodMS)
		}
	case ModeSCSI2:
		if d.SCSI2PeriodMS < 100 || d.SCSI2PeriodMS > 2000 {
			return bad(f+".scsi2_period_ms", "%d: want 100 to 2000 (a fence waits 4 periods after the LUN reset and must end within fence_hwagent's default power_timeout of 20 s)", d.SCSI2PeriodMS)
		}
		if d.AllowPreemptWithoutAbort {
			return bad(f+".allow_preempt_without_abort", "only with mode pr: a scsi2 disk is fenced by a challenge (LUN reset, wait, reserve)")
		}
	default:
		return bad(f+".mode", "%q: want pr (SCSI-3 persistent reservations) or scsi2 (SCSI-2 reserve/release)", d.Mode)
	}
	return nil
}

func checkDevice(d DiskConfig) string {
	if err := devname.CheckDisk(d.Device); err != nil {
		return err.Error() // names the device with any password masked
	}
	return ""
}

func checkLoopback(hostport string) string {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return fmt.Sprintf("%q: want host:port on loopback, e.g. 127.0.0.1:9105", hostport)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Sprintf("%q: port %q: want 1 to 65535", hostport, port)
	}
	if host == "localhost" {
		return ""
	}
	a, err := netip.ParseAddr(host)
	if err != nil || !a.IsLoopback() {
		return fmt.Sprintf("%q: metrics listen only on loopback (127.0.0.1, ::1 or localhost)", hostport)
	}
	return ""
}

// FenceDelayMS is how long this node waits, in milliseconds, before fencing
// its peer: the preferred node (priority 0) waits nothing.
func (c *Config) FenceDelayMS() int { return c.Fence.Priority * c.Fence.DelayStepMS }

// validatePeers checks the pair form (peer:) or the list (peers:): each
// member has a valid name and id, and no two members (this node
// included) share either.
func (c *Config) validatePeers() *ConfigError {
	list, prefix := c.Peers, "peers"
	if len(list) == 0 {
		list, prefix = []MemberConfig{{PeerConfig: c.Peer}}, "peer"
	} else if len(c.Peers) > MaxPeers {
		return bad(fmt.Sprintf("peers[%d]", MaxPeers), "%d peers: at most %d (%d members with this node): each member registers its own key on every shared LUN, and how many registrations a LUN keeps is the target's limit; hakit is tested with %d", len(c.Peers), MaxPeers, MaxMembers, MaxMembers)
	}
	names := map[string]string{c.Node.Name: "node.name"}
	ids := map[int]string{c.Node.ID: "node.id"}
	for i, p := range list {
		f := prefix
		if prefix == "peers" {
			f = fmt.Sprintf("peers[%d]", i)
		}
		if !nameRE.MatchString(p.Name) {
			return bad(f+".name", "%q: want a node name (letters, digits, '.', '_', '-', up to 63)", p.Name)
		}
		if p.ID < 1 || p.ID > 0xffff {
			return bad(f+".id", "%d: want 1 to 65535", p.ID)
		}
		if other, dup := ids[p.ID]; dup {
			return bad(f+".id", "%d: the same id as %s; each node needs its own (it goes into the node's key)", p.ID, other)
		}
		if other, dup := names[p.Name]; dup {
			return bad(f+".name", "%q: the same name as %s", p.Name, other)
		}
		ids[p.ID], names[p.Name] = f+".id", f+".name"
		if p.SerialPort != "" && !strings.HasPrefix(p.SerialPort, "/") {
			return bad(f+".serial_port", "%q: want an absolute device path such as /dev/ttyS1", p.SerialPort)
		}
		if p.Address != "" {
			if _, err := netip.ParseAddr(p.Address); err != nil {
				return bad(f+".address", "%q: want the member's IP address on nic.interface", p.Address)
			}
		}
	}
	return nil
}

// validateSerialShared checks the shared serial settings (baud, key file,
// priority) of every link and that no two links use one tty.
func (c *Config) validateSerialShared() *ConfigError {
	ports := map[string]int{}
	for i, p := range c.PeerList() {
		if p.SerialPort == "" {
			continue
		}
		f := c.peerField(i) + ".serial_port"
		if j, dup := ports[p.SerialPort]; dup {
			return bad(f, "%q: already the cable to peers[%d]: a null-modem cable links exactly two nodes", p.SerialPort, j)
		}
		ports[p.SerialPort] = i
	}
	switch c.Serial.Baud {
	case 9600, 19200, 38400, 57600, 115200:
	default:
		return bad("serial.baud", "%d: want 9600, 19200, 38400, 57600 or 115200", c.Serial.Baud)
	}
	if c.Serial.KeyFile == "" {
		return bad("serial.key_file", "missing: the serial heartbeat needs a shared key file")
	}
	if p := c.Serial.RealtimePriority; p != -1 && (p < 1 || p > 99) {
		return bad("serial.realtime_priority", "%d: want 1 to 99, or -1 for off", p)
	}
	return nil
}

// validateAddresses checks the members' addresses on nic.interface: the
// pair form nic.peer_address, or one address per peer.
func (c *Config) validateAddresses() *ConfigError {
	if len(c.Peers) == 0 || (len(c.Peers) == 1 && c.Peers[0].Address == "") {
		if _, err := netip.ParseAddr(c.NIC.PeerAddress); err != nil {
			return bad("nic.peer_address", "%q: want the peer's IP address on the heartbeat link", c.NIC.PeerAddress)
		}
		return nil
	}
	if c.NIC.PeerAddress != "" {
		return bad("nic.peer_address", "given with %s.address: nic.peer_address is the pair form; keep one of them", c.peerField(0))
	}
	for i, p := range c.PeerList() {
		if p.Address == "" {
			return bad(c.peerField(i)+".address", "missing: with nic.interface every member needs its address on the heartbeat link")
		}
	}
	return nil
}

// peerField names the i-th peer's field path: peer (the pair form) or
// peers[i].
func (c *Config) peerField(i int) string {
	if len(c.Peers) == 0 {
		return "peer"
	}
	return fmt.Sprintf("peers[%d]", i)
}

// PeerList is the other members in configuration order: Peers, or the
// pair's Peer as a one-element list. A pair's serial.port and
// nic.peer_address are its one peer's serial_port and address.
func (c *Config) PeerList() []MemberConfig {
	if len(c.Peers) > 1 {
		return c.Peers
	}
	var p MemberConfig
	switch {
	case len(c.Peers) == 1:
		p = c.Peers[0]
	case c.Peer == (PeerConfig{}):
		return nil
	default:
		p.PeerConfig = c.Peer
	}
	if p.Address == "" {
		p.Address = c.NIC.PeerAddress
	}
	if p.SerialPort == "" {
		p.SerialPort = c.Serial.Port
	}
	return []MemberConfig{p}
}

// Member is one node of the cluster as this node's configuration names it.
type Member struct {
	Name string
	ID   int
	// Self is this node.
	Self bool
	// Socket, SerialPort and Address are the peer's settings (empty for
	// this node).
	Socket, SerialPort, Address string
}

// Members is this node then every peer, in configuration order.
func (c *Config) Members() []Member {
	out := []Member{{Name: c.Node.Name, ID: c.Node.ID, Self: true}}
	for _, p := range c.PeerList() {
		out = append(out, Member{Name: p.Name, ID: p.ID, Socket: p.Socket, SerialPort: p.SerialPort, Address: p.Address})
	}
	return out
}

// Member finds the member named by its name or its decimal id.
func (c *Config) Member(nameOrID string) (Member, bool) {
	for _, m := range c.Members() {
		if m.Name == nameOrID || strconv.Itoa(m.ID) == nameOrID {
			return m, true
		}
	}
	return Member{}, false
}

// MemberNames lists the members' names, this node first.
func (c *Config) MemberNames() []string {
	var out []string
	for _, m := range c.Members() {
		out = append(out, m.Name)
	}
	return out
}

// SerialLink is one point-to-point serial cable: this node's tty to one
// member.
type SerialLink struct {
	Peer MemberConfig
	Port string
}

// SerialLinks are this node's serial cables: serial.port to the pair's
// peer, or one per peer with serial_port.
func (c *Config) SerialLinks() []SerialLink {
	var out []SerialLink
	for _, p := range c.PeerList() {
		if p.SerialPort != "" {
			out = append(out, SerialLink{Peer: p, Port: p.SerialPort})
		}
	}
	return out
}
