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
	"strconv"
	"strings"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/agent/hw"
	"github.com/hakit/hakit/internal/jsonout"
	"github.com/hakit/hakit/internal/version"
)

// ErrCaptureDiffers: compare found facts that do not fit one cluster
// (exit 3).
var ErrCaptureDiffers = errors.New("the members' captures do not fit one cluster")

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
	// Members are every member of the configuration, this node first,
	// with its key; Peer and PeerKey are the first peer's.
	Members []CaptureMember `json:"members"`
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

// CaptureMember is one member of the configuration and its reservation
// key.
type CaptureMember struct {
	Name string `json:"name"`
	ID   int    `json:"id"`
	Key  string `json:"key"`
	Self bool   `json:"self,omitempty"`
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
configuration's identity (node, peers, cluster, every member's reservation key), the versions,
each shared disk's identity (disk identify), the heartbeat NIC (nic status) and the
RAID controller (raid-tool show, from raid.file or the tool). Stop the agent first
when a disk is reached over iSCSI with its ISID. Compare the members' files with
hwagent compare A B [C ...].`

const compareHelp = `Compares the capture files of 2 to 16 members: the same cluster and commit, distinct
node ids, the same member list in each, each member's key as the others see it, the same
shared disk identities, the heartbeat NICs' speed and duplex. Each fact is held against
the first file's; a finding names the member that differs and the one it differs from.
Prints each finding; exits 3 when something does not fit one cluster.`

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
	keys, err := hw.MemberKeys(cfg)
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	c := Capture{Kind: "hakit-capture", TakenAt: time.Now(), Hostname: host,
		Versions: CaptureVersions{Hwagent: version.String("hwagent"), Commit: version.Commit(), Kernel: strings.TrimSpace(string(kernel))},
		Node:     CaptureNode{cfg.Node.Name, cfg.Node.ID}, Peer: CaptureNode{cfg.Peer.Name, cfg.Peer.ID}, Cluster: cfg.Cluster.ID, OwnKey: own.String(), PeerKey: peer.String(), Serial: cfg.Serial.Port}
	for _, k := range keys {
		c.Members = append(c.Members, CaptureMember{Name: k.Name, ID: k.ID, Key: k.Key.String(), Self: k.Self})
	}
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
	fs := newFlags("compare", " A B [C ...]", stdout, compareHelp)
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() < 2 || fs.NArg() > agent.MaxMembers {
		return fmt.Errorf("%w: compare takes 2 to %d capture files, one per member (run \"hwagent compare --help\")", ErrUsage, agent.MaxMembers)
	}
	var caps []*Capture
	for _, f := range fs.Args() {
		c, err := loadCapture(f)
		if err != nil {
			return err
		}
		caps = append(caps, c)
	}
	if bad := compareCaptures(caps, stdout); bad > 0 {
		return fmt.Errorf("%w: %d finding(s)", ErrCaptureDiffers, bad)
	}
	return nil
}

// membersOf is the capture's member list; a capture written before it
// had one names its node and its peer.
func membersOf(c *Capture) []CaptureMember {
	if len(c.Members) > 0 {
		return c.Members
	}
	out := []CaptureMember{{Name: c.Node.Name, ID: c.Node.ID, Key: c.OwnKey, Self: true}}
	if c.Peer.Name != "" {
		out = append(out, CaptureMember{Name: c.Peer.Name, ID: c.Peer.ID, Key: c.PeerKey})
	}
	return out
}

// memberSet is "name (id)" of each member, ordered by id then name.
func memberSet(c *Capture) []string {
	ms := slices.Clone(membersOf(c))
	slices.SortFunc(ms, func(a, b CaptureMember) int {
		if a.ID != b.ID {
			return a.ID - b.ID
		}
		return strings.Compare(a.Name, b.Name)
	})
	var out []string
	for _, m := range ms {
		out = append(out, fmt.Sprintf("%s (%d)", m.Name, m.ID))
	}
	return out
}

// compareCaptures prints what of the members' captures fits one cluster
// (ok), what does not (DIFF, naming the member that differs and the one
// it differs from, with the fix) and what is unknown (?), and returns how
// many DIFFs it printed. Each fact is held against the first capture's.
func compareCaptures(caps []*Capture, w io.Writer) int {
	bad := 0
	ok := func(format string, a ...any) { fmt.Fprintf(w, "ok    "+format+"\n", a...) }
	diff := func(fix, format string, a ...any) {
		bad++
		fmt.Fprintf(w, "DIFF  "+format+"\n      fix: %s\n", append(a, fix)...)
	}
	var names []string
	for _, c := range caps {
		names = append(names, c.Node.Name)
	}
	all := strings.Join(names, ", ")
	first := caps[0]
	// each reports, for every capture after the first, whether fact
	// differs from the first's, and prints one ok when none does.
	each := func(what string, fact func(*Capture) string, fix string) {
		differs := false
		for _, c := range caps[1:] {
			if fact(c) != fact(first) {
				differs = true
				diff(fix, "%s: %s has %s; %s has %s", what, c.Node.Name, fact(c), first.Node.Name, fact(first))
			}
		}
		if !differs {
			ok("%s: %s on %s", what, fact(first), all)
		}
	}
	each("cluster id", func(c *Capture) string { return strconv.Itoa(c.Cluster) }, "the same cluster.id on every member")

	ids := map[int]string{}
	dup := false
	for _, c := range caps {
		if o, seen := ids[c.Node.ID]; seen {
			dup = true
			diff("a distinct node.id on each member", "node ids: %s and %s both have %d", o, c.Node.Name, c.Node.ID)
			continue
		}
		ids[c.Node.ID] = c.Node.Name
	}
	if !dup {
		var l []string
		for _, c := range caps {
			l = append(l, fmt.Sprintf("%s %d", c.Node.Name, c.Node.ID))
		}
		ok("node ids: %s", strings.Join(l, ", "))
	}

	each("members", func(c *Capture) string { return "[" + strings.Join(memberSet(c), ", ") + "]" },
		"the same members (node and peers, names and ids) in every member's configuration")

	// Each member's key as every other capture sees it, against the key
	// that member has itself.
	own := map[string]*Capture{}
	for _, c := range caps {
		own[c.Node.Name] = c
	}
	keysBad := false
	for _, c := range caps {
		for _, m := range membersOf(c) {
			o, there := own[m.Name]
			if m.Self || !there || o == c {
				continue
			}
			if m.Key != o.OwnKey {
				keysBad = true
				diff("the same cluster.id and each member's node.id in every configuration", "keys: %s sees %s's key as %s, %s has %s", c.Node.Name, m.Name, m.Key, m.Name, o.OwnKey)
			}
		}
	}
	if !keysBad {
		var l []string
		for _, c := range caps {
			l = append(l, c.Node.Name+" "+c.OwnKey)
		}
		ok("keys: %s, each seen so by the others", strings.Join(l, ", "))
	}
	var missing []string
	for _, m := range membersOf(first) {
		if _, there := own[m.Name]; !there {
			missing = append(missing, fmt.Sprintf("%s (%d)", m.Name, m.ID))
		}
	}
	if len(missing) > 0 {
		fmt.Fprintf(w, "note  not captured: %s (%s's members): compare their captures too\n", strings.Join(missing, ", "), first.Node.Name)
	}

	unknown := slices.ContainsFunc(caps, func(c *Capture) bool { return c.Versions.Commit == "unknown" })
	if unknown {
		var l []string
		for _, c := range caps {
			l = append(l, c.Node.Name+" "+c.Versions.Commit)
		}
		fmt.Fprintf(w, "?     hakit build: %s (a build without its commit: make build links it in)\n", strings.Join(l, ", "))
	} else {
		each("hakit build", func(c *Capture) string { return c.Versions.Commit }, "install the same hakit build on every member")
	}

	ident := func(c *Capture) string { return fmt.Sprint(identities(c)) }
	var unread []string
	for _, c := range caps {
		if slices.Contains(identities(c), "?") {
			unread = append(unread, c.Node.Name)
		}
	}
	switch {
	case len(unread) > 0:
		var l []string
		for _, c := range caps {
			l = append(l, c.Node.Name+": "+ident(c))
		}
		diff(fmt.Sprintf("a disk could not be identified (\"?\"; its error is in the capture): capture again on %s where the disk answers", strings.Join(unread, ", ")),
			"shared disk identities: %s", strings.Join(l, ", "))
	case len(identities(first)) == 0:
		diff("list the shared disks in disks[] and capture again", "shared disk identities: none in %s's capture", first.Node.Name)
	default:
		each("shared disk identities", ident, "every member must see the same LUNs (hwagent disk identify on each); fix disks[] or the zoning")
	}

	var withNIC []*Capture
	for _, c := range caps {
		if c.NIC != nil {
			withNIC = append(withNIC, c)
		}
	}
	if len(withNIC) > 1 {
		ref := withNIC[0]
		fine := true
		for _, c := range withNIC {
			if n := nicFacts(c.NIC); n == "" || (c != ref && n != nicFacts(ref.NIC)) {
				fine = false
				diff("the same speed and duplex on every member's heartbeat NIC, carrier up", "heartbeat NIC: %s has %s; %s has %s", c.Node.Name, orUnknown(n), ref.Node.Name, orUnknown(nicFacts(ref.NIC)))
			}
		}
		if fine {
			var l []string
			for _, c := range withNIC {
				l = append(l, c.Node.Name)
			}
			ok("heartbeat NIC: %s on %s", nicFacts(ref.NIC), strings.Join(l, ", "))
		}
	}
	var withRAID []string
	for _, c := range caps {
		if c.RAID != nil {
			withRAID = append(withRAID, c.Node.Name)
		}
	}
	if len(withRAID) > 1 {
		fmt.Fprintf(w, "note  RAID (%s): check each member against this node with hwagent raid-tool validate --file-a A --file-b B on their saved outputs (hwcheck's RAID probe does it for every member)\n", strings.Join(withRAID, ", "))
	}
	return bad
}

func orUnknown(s string) string {
	if s == "" {
		return "unreadable"
	}
	return s
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
