package ocf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/hakit/hakit/agent"
)

// Node attributes hakit-health publishes (with the prefix, "hakit" by
// default). Each is "1" (good) or "0" (failed); an attribute is deleted
// when hwagent cannot tell (the component is not configured, the peer not
// heard yet, hwagent unreachable), so that a rule can tell unknown
// (not_defined) from failed.
const (
	// AttrSerial: the peer is heard on the serial cable (1: alive or late,
	// 0: dead).
	AttrSerial = "serial"
	// AttrNICCarrier: the heartbeat NIC has carrier.
	AttrNICCarrier = "nic-carrier"
	// AttrNICPeer: the peer answers on the heartbeat NIC.
	AttrNICPeer = "nic-peer"
	// AttrDisk: every shared disk answers (its status reads without an
	// error); says nothing about who holds it.
	AttrDisk = "disk"
	// AttrFenced: 1 when this node is fenced (its key is gone: it may run
	// nothing that needs the shared disks), 0 when it is not.
	AttrFenced = "fenced"
	// AttrDiskPeer: the peer (the first peer of the configuration) is
	// alive on the disk path (its disk-heartbeat block changes; 1) or dead
	// (it stood still; 0). Every other member has its own attribute,
	// AttrDiskPeer-<member name> (e.g. hakit-disk-peer-node-c), the first
	// peer too, so that a rule can name any member.
	AttrDiskPeer = "disk-peer"
)

// Attribute is one node attribute: Value "" means unknown (deleted).
type Attribute struct {
	Name, Value string
}

// Attributes maps a hwagent status to the node attributes, in a fixed
// order, named prefix-<attr>, then one prefix-disk-peer-<member> for each
// of peers (the configuration's other members, in its order) and for each
// other member the status names that peers does not. Unknown is never 0.
func Attributes(st agent.Status, prefix string, peers []string) []Attribute {
	bit := func(b bool) string {
		if b {
			return "1"
		}
		return "0"
	}
	bitOf := func(v string) string {
		switch v {
		case agent.PathUp:
			return "1"
		case agent.PathDown:
			return "0"
		}
		return ""
	}
	p := agent.PathsOf(st)
	serial, carrier, peer := bitOf(p.Serial), bitOf(p.NICCarrier), bitOf(p.NICPeer)
	diskPeerOf := func(name string) string {
		if p, ok := st.DiskPeer(name); ok && name != "" {
			switch p.State {
			case agent.PeerAlive:
				return "1"
			case agent.PeerDead:
				return "0"
			}
		}
		return ""
	}
	var disk string
	if len(st.Disks) > 0 {
		disk = "1"
		for _, d := range st.Disks {
			if d.Error != "" {
				disk = "0"
			}
		}
	}
	out := []Attribute{
		{prefix + "-" + AttrSerial, serial},
		{prefix + "-" + AttrNICCarrier, carrier},
		{prefix + "-" + AttrNICPeer, peer},
		{prefix + "-" + AttrDisk, disk},
		{prefix + "-" + AttrFenced, bit(st.Fenced)},
		{prefix + "-" + AttrDiskPeer, diskPeerOf(st.Peer)},
	}
	names := slices.Clone(peers)
	for _, m := range st.Members {
		if !m.Self && m.Name != "" && !slices.Contains(names, m.Name) {
			names = append(names, m.Name)
		}
	}
	for _, n := range names {
		out = append(out, Attribute{prefix + "-" + AttrDiskPeer + "-" + n, diskPeerOf(n)})
	}
	return out
}

// peerNames are the names of cfg's other members, in its order.
func peerNames(cfg *agent.Config) []string {
	var out []string
	for _, m := range cfg.Members() {
		if !m.Self {
			out = append(out, m.Name)
		}
	}
	return out
}

// HealthDeps are hakit-health's dependencies; zero values are the real
// ones.
type HealthDeps struct {
	Deps
	// SetAttr sets (value != "") or deletes (value "") a node attribute of
	// this node; nil runs attrd_updater.
	SetAttr func(ctx context.Context, name, value, dampen string) error
}

// attrdUpdater sets or deletes a node attribute with Pacemaker's
// attrd_updater, as ethmonitor does.
func attrdUpdater(ctx context.Context, name, value, dampen string) error {
	args := []string{"-n", name, "-d", dampen}
	if value == "" {
		args = append(args, "-D")
	} else {
		args = append(args, "-U", value)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, "attrd_updater", args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("attrd_updater %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

var (
	prefixRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,40}$`)
	dampenRE = regexp.MustCompile(`^[0-9]+(ms|s|m)?$`)
)

// Health runs hakit-health's action (a cloned resource: start, stop and
// monitor publish this node's hardware facts from the local hwagent as node
// attributes) and returns the OCF exit code.
func Health(ctx context.Context, action string, getenv func(string) string, stdout, stderr io.Writer, deps HealthDeps) int {
	say := newSayer("hakit-health", action, stderr)
	cfg, _, code, done := prelude("hakit-health", healthMetadata, action, getenv, stdout, say, deps.Deps)
	if done {
		return code
	}
	param := func(name, def string) string {
		if v := getenv("OCF_RESKEY_" + name); v != "" {
			return v
		}
		return def
	}
	prefix, dampen := param("prefix", "hakit"), param("dampen", "5s")
	if !prefixRE.MatchString(prefix) {
		return say(ErrConfigured, "prefix %q: want a letter then up to 40 letters, digits, - or _", prefix)
	}
	if !dampenRE.MatchString(dampen) {
		return say(ErrConfigured, "dampen %q: want a duration such as 5s, 500ms or 0", dampen)
	}
	if action == "validate-all" {
		return Success
	}
	// The resource runs while its state file exists (Pacemaker's
	// HA_RSCTMP is cleared at boot).
	dir := param("state_dir", "")
	if dir == "" {
		dir = getenv("HA_RSCTMP")
	}
	if dir == "" {
		dir = "/run/resource-agents"
	}
	instance := getenv("OCF_RESOURCE_INSTANCE")
	if instance == "" {
		instance = "health"
	}
	state := filepath.Join(dir, "hakit-health-"+strings.NewReplacer("/", "_", ":", "_").Replace(instance)+".state")
	set := deps.SetAttr
	if set == nil {
		set = attrdUpdater
	}
	peers := peerNames(cfg)
	names := Attributes(agent.Status{}, prefix, peers)
	switch action {
	case "stop":
		var errs []error
		for _, a := range names {
			errs = append(errs, set(ctx, a.Name, "", dampen))
		}
		if err := os.Remove(state); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
		if err := errors.Join(errs...); err != nil {
			return say(ErrGeneric, "%v", err)
		}
		return Success
	case "monitor":
		if _, err := os.Stat(state); err != nil {
			return NotRunning
		}
	case "start":
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return say(ErrGeneric, "%v", err)
		}
		if err := os.WriteFile(state, nil, 0o644); err != nil {
			return say(ErrGeneric, "%v", err)
		}
	}
	sock := param("socket", cfg.API.Socket)
	dial := deps.Dial
	if dial == nil {
		dial = func(s string) Backend { return agent.NewClient(s) }
	}
	st, err := dial(sock).Status(ctx)
	if err != nil {
		// Nothing is known: every attribute goes, and the monitor fails
		// (Pacemaker recovers the clone instance here).
		for _, a := range names {
			_ = set(ctx, a.Name, "", dampen)
		}
		if action == "start" {
			_ = os.Remove(state)
		}
		return say(ErrGeneric, "the local hwagent (%s): %v", sock, err)
	}
	for _, a := range Attributes(st, prefix, peers) {
		if err := set(ctx, a.Name, a.Value, dampen); err != nil {
			return say(ErrGeneric, "%v", err)
		}
	}
	return Success
}

const healthMetadata = `<?xml version="1.0"?>
<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">
<resource-agent name="hakit-health" version="0.1">
<version>1.1</version>
<longdesc lang="en">
Publishes this node's hardware facts from the local hwagent as Pacemaker node attributes
(attrd_updater, as ethmonitor does), refreshed at every monitor. Run it as a clone on
every node. Attributes, each 1 (good) or 0 (failed), deleted when hwagent cannot tell:
PREFIX-serial (the peer is heard on the serial cable), PREFIX-nic-carrier (the heartbeat
NIC has carrier), PREFIX-nic-peer (the peer answers on it), PREFIX-disk (every shared
disk answers), PREFIX-fenced (this node is fenced), PREFIX-disk-peer (the first peer is
alive on the disk heartbeat of sbd.device) and PREFIX-disk-peer-MEMBER for each other
member by its configured name (e.g. hakit-disk-peer-node-c). A location rule such as
hakit-nic-carrier eq 0 moves a group off a node whose heartbeat NIC is unplugged.
</longdesc>
<shortdesc lang="en">hakit hardware state as node attributes</shortdesc>
<parameters>
<parameter name="config" unique="0" required="0">
<longdesc lang="en">hwagent configuration file of this node.</longdesc>
<shortdesc lang="en">hwagent configuration</shortdesc>
<content type="string" default="/etc/hakit/hwagent.yaml"/>
</parameter>
<parameter name="socket" unique="0" required="0">
<longdesc lang="en">Local hwagent API socket; empty means the configuration's.</longdesc>
<shortdesc lang="en">hwagent API socket</shortdesc>
<content type="string" default=""/>
</parameter>
<parameter name="prefix" unique="0" required="0">
<longdesc lang="en">Prefix of the attribute names.</longdesc>
<shortdesc lang="en">attribute name prefix</shortdesc>
<content type="string" default="hakit"/>
</parameter>
<parameter name="dampen" unique="0" required="0">
<longdesc lang="en">attrd_updater's dampening: how long a change must last before the attribute is written (0 for at once).</longdesc>
<shortdesc lang="en">dampening</shortdesc>
<content type="string" default="5s"/>
</parameter>
<parameter name="state_dir" unique="0" required="0">
<longdesc lang="en">Where the running state is kept; empty means HA_RSCTMP.</longdesc>
<shortdesc lang="en">state folder</shortdesc>
<content type="string" default=""/>
</parameter>
</parameters>
<actions>
<action name="start" timeout="20s"/>
<action name="stop" timeout="20s"/>
<action name="monitor" timeout="20s" interval="10s" depth="0"/>
<action name="validate-all" timeout="10s"/>
<action name="meta-data" timeout="5s"/>
</actions>
</resource-agent>
`
