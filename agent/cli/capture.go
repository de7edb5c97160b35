package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/agent/hw"
	"github.com/hakit/hakit/internal/jsonout"
	"github.com/hakit/hakit/internal/version"
)

// ErrCaptureDiffers: compare found facts that do not fit a pair (exit 3).
var ErrCaptureDiffers = errors.New("the two nodes' captures do not fit one pair")

// Capture is one node's facts, saved on site by `hwagent capture` without
// the agent, for `hwagent compare` later.
type Capture struct {
	Kind     string          `json:"kind"` // "hakit-capture"
	TakenAt  time.Time       `json:"taken_at"`
	Hostname string          `json:"hostname"`
	Versions CaptureVersions `json:"versions"`
	Node     CaptureNode     `json:"node"`
	Peer     CaptureNode     `json:"peer"`
	Cluster  int             `json:"cluster_id"`
	OwnKey   string          `json:"own_key"`
	PeerKey  string          `json:"peer_key"`
	Serial   string          `json:"serial_port,omitempty"`
	// Disks, NIC and RAID hold each field command's --json document, or
	// the error that command gave.
	Disks []CapturePart `json:"disks"`
	NIC   *CapturePart  `json:"nic,omitempty"`
	RAID  *CapturePart  `json:"raid,omitempty"`
}

// CaptureNode is a node's name and id.
type CaptureNode struct {
	Name string `json:"name"`
	ID   int    `json:"id"`
}

// CaptureVersions are the builds and the kernel the facts come from.
type CaptureVersions struct {
	Hwagent string `json:"hwagent"`
	Commit  string `json:"commit"`
	Kernel  string `json:"kernel"`
}

// CapturePart is one field command's answer.
type CapturePart struct {
	Command string          `json:"command"`
	JSON    json.RawMessage `json:"json,omitempty"`
	Error   string          `json:"error,omitempty"`
}

const captureHelp = `Saves this node's facts into FILE (JSON, docs/JSON.md) without the agent: the
configuration's identity (node, peer, cluster, both reservation keys), the versions,
each shared disk's identity (disk identify), the heartbeat NIC (nic status) and the
RAID controller (raid-tool show, from raid.file or the tool). Stop the agent first
when a disk is reached over iSCSI with its ISID. Compare two nodes' files with
hwagent compare A B.`

const compareHelp = `Compares two nodes' capture files: the same cluster and commit, distinct node ids,
each node's peer the other, the keys of each as the other sees them, the same shared
disk identities, the heartbeat NICs' speed and duplex. Prints each finding; exits 3
when something does not fit a pair.`

func cmdCapture(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("capture", " FILE", stdout, captureHelp)
	path := fs.String("config", "/etc/hakit/hwagent.yaml", "configuration file")
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: capture takes one argument: the file to write (run \"hwagent capture --help\")", ErrUsage)
	}
	cfg, err := agent.LoadConfig(*path)
	if err != nil {
		return err
	}
	own, peer, err := hw.Keys(cfg)
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	c := Capture{Kind: "hakit-capture", TakenAt: time.Now(), Hostname: host,
		Versions: CaptureVersions{Hwagent: version.String("hwagent"), Commit: version.Commit(), Kernel: strings.TrimSpace(string(kernel))},
		Node:     CaptureNode{cfg.Node.Name, cfg.Node.ID}, Peer: CaptureNode{cfg.Peer.Name, cfg.Peer.ID}, Cluster: cfg.Cluster.ID, OwnKey: own.String(), PeerKey: peer.String(), Serial: cfg.Serial.Port}
	part := func(args ...string) CapturePart {
		var out, errb bytes.Buffer
		p := CapturePart{Command: "hwagent " + strings.Join(args, " ")}
		if err := Run(ctx, append(args, "--json"), &out, &errb); err != nil {
			p.Error = err.Error()
		}
		if json.Valid(out.Bytes()) {
			p.JSON = out.Bytes()
		}
		return p
	}
	for _, d := range cfg.Disks {
		args := []string{"disk", "identify", d.Device}
		if d.Initiator != "" {
			args = append(args, "--initiator", d.Initiator)
		}
		c.Disks = append(c.Disks, part(args...))
	}
	if cfg.NIC.Interface != "" {
		args := []string{"nic", "status", cfg.NIC.Interface}
		if cfg.NIC.Netns != "" {
			args = append(args, "--netns", cfg.NIC.Netns)
		}
		p := part(args...)
		c.NIC = &p
	}
	if cfg.RAID.Tool != "" || cfg.RAID.File != "" {
		args := []string{"raid-tool", "show"}
		if cfg.RAID.Tool != "" {
			args = append(args, "--vendor", cfg.RAID.Tool)
		}
		if cfg.RAID.File != "" {
			args = append(args, "--file", cfg.RAID.File)
		}
		p := part(args...)
		c.RAID = &p
	}
	var b bytes.Buffer
	if err := jsonout.Document(&b, "", c); err != nil {
		return err
	}
	if err := os.WriteFile(fs.Arg(0), b.Bytes(), 0o644); err != nil {
		return err
	}
	failed := 0
	for _, p := range append(append([]CapturePart{}, c.Disks...), deref(c.NIC), deref(c.RAID)) {
		if p.Error != "" {
			failed++
			fmt.Fprintf(stderr, "hwagent capture: %s: %s\n", p.Command, p.Error)
		}
	}
	fmt.Fprintf(stdout, "%s: node %s (id %d), %d disk(s), nic %s, raid %s; %d part(s) could not be read\n",
		fs.Arg(0), c.Node.Name, c.Node.ID, len(c.Disks), yesNo(c.NIC != nil), yesNo(c.RAID != nil), failed)
	return nil
}

func deref(p *CapturePart) CapturePart {
	if p == nil {
		return CapturePart{}
	}
	return *p
}

func loadCapture(path string) (*Capture, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c Capture
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if c.Kind != "hakit-capture" {
		return nil, fmt.Errorf("%s: not a capture of hwagent capture", path)
	}
	return &c, nil
}

func cmdCompare(args []string, stdout io.Writer) error {
	fs := newFlags("compare", " A B", stdout, compareHelp)
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return fmt.Errorf("%w: compare takes two capture files (run \"hwagent compare --help\")", ErrUsage)
	}
	a, err := loadCapture(fs.Arg(0))
	if err != nil {
		return err
	}
	b, err := loadCapture(fs.Arg(1))
	if err != nil {
		return err
	}
	bad := 0
	check := func(ok bool, what, fix string) {
		if ok {
			fmt.Fprintf(stdout, "ok    %s\n", what)
			return
		}
		bad++
		fmt.Fprintf(stdout, "DIFF  %s\n      fix: %s\n", what, fix)
	}
	check(a.Cluster == b.Cluster, fmt.Sprintf("cluster id: %d and %d", a.Cluster, b.Cluster), "the same cluster.id on both nodes")
	check(a.Node.ID != b.Node.ID, fmt.Sprintf("node ids: %d and %d", a.Node.ID, b.Node.ID), "a distinct node.id on each node")
	check(a.Peer.Name == b.Node.Name && b.Peer.Name == a.Node.Name && a.Peer.ID == b.Node.ID && b.Peer.ID == a.Node.ID,
		fmt.Sprintf("peers: %s's peer is %s (id %d), %s's peer is %s (id %d)", a.Node.Name, a.Peer.Name, a.Peer.ID, b.Node.Name, b.Peer.Name, b.Peer.ID),
		"node and peer swapped between the two files")
	check(a.PeerKey == b.OwnKey && b.PeerKey == a.OwnKey, fmt.Sprintf("keys: %s has %s and sees %s; %s has %s and sees %s", a.Node.Name, a.OwnKey, a.PeerKey, b.Node.Name, b.OwnKey, b.PeerKey),
		"the same cluster.id and swapped node ids")
	if a.Versions.Commit == "unknown" || b.Versions.Commit == "unknown" {
		fmt.Fprintf(stdout, "?     hakit build: %s and %s (a build without its commit: make build links it in)\n", a.Versions.Commit, b.Versions.Commit)
	} else {
		check(a.Versions.Commit == b.Versions.Commit, fmt.Sprintf("hakit build: %s and %s", a.Versions.Commit, b.Versions.Commit), "install the same hakit build on both nodes")
	}
	ia, ib := identities(a), identities(b)
	unread := slices.Contains(ia, "?") || slices.Contains(ib, "?")
	fix := "both nodes must see the same LUNs (hwagent disk identify on each); fix disks[] or the zoning"
	if unread {
		fix = "a disk could not be identified (\"?\"; its error is in the capture): capture again where the disk answers"
	}
	check(len(ia) > 0 && !unread && slices.Equal(ia, ib), fmt.Sprintf("shared disk identities: %s: %v, %s: %v", a.Node.Name, ia, b.Node.Name, ib), fix)
	if a.NIC != nil && b.NIC != nil {
		na, nb := nicFacts(a.NIC), nicFacts(b.NIC)
		check(na == nb && na != "", fmt.Sprintf("heartbeat NIC: %s: %s, %s: %s", a.Node.Name, na, b.Node.Name, nb), "the same speed and duplex on both ends, carrier up")
	}
	if a.RAID != nil && b.RAID != nil {
		fmt.Fprintf(stdout, "note  RAID: check the pair with hwagent raid-tool validate --file-a A --file-b B on the two nodes' saved outputs\n")
	}
	if bad > 0 {
		return fmt.Errorf("%w: %d finding(s)", ErrCaptureDiffers, bad)
	}
	return nil
}

// identities are the disk identities a capture read, in order ("?" for
// a disk that could not be read).
func identities(c *Capture) []string {
	var out []string
	for _, d := range c.Disks {
		var v struct {
			Identity string `json:"identity"`
		}
		if json.Unmarshal(d.JSON, &v) != nil || v.Identity == "" {
			out = append(out, "?")
			continue
		}
		out = append(out, v.Identity)
	}
	return out
}

func nicFacts(p *CapturePart) string {
	var v struct {
		Carrier string `json:"carrier"`
		Speed   int    `json:"speed_mbps"`
		Duplex  string `json:"duplex"`
	}
	if json.Unmarshal(p.JSON, &v) != nil {
		return ""
	}
	return fmt.Sprintf("carrier %s, %d Mb/s, %s duplex", v.Carrier, v.Speed, v.Duplex)
}
