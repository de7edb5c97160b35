package check

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/nic"
	"github.com/hakit/hakit/raidctl"
	"github.com/hakit/hakit/serialhb"
	"github.com/jaypipes/ghw/pkg/block"
	"github.com/jaypipes/ghw/pkg/option"
)

// Inventory lists this node's disks (with identity), NICs, PCI RAID and
// SAS controllers, serial ports and USB serial adapters.
func Inventory(ctx context.Context, env Env) []Result {
	if !env.Inventory {
		return skip("hardware inventory", "not asked for", "add --inventory")
	}
	var out []Result
	bi, err := block.New(option.WithNullAlerter())
	if err != nil {
		out = append(out, res("disks", Warn, "ghw: "+err.Error(), "run as root on the node itself"))
	} else {
		var names []string
		noID := 0
		for _, d := range bi.Disks {
			id := d.WWN
			if id == "" || id == "unknown" {
				id = d.SerialNumber
			}
			if id == "" || id == "unknown" {
				noID++
				id = "no WWN/serial"
			}
			names = append(names, fmt.Sprintf("%s (%s %s, %s)", d.Name, d.Vendor, d.Model, id))
		}
		v, hint := Pass, ""
		switch {
		case len(bi.Disks) == 0:
			v, hint = Warn, "no block device seen: check the HBA driver and the enclosure cabling"
		case noID > 0:
			v, hint = Warn, "disks without WWN or serial cannot be matched across nodes by ghw; hwcheck's shared-disk check uses VPD 0x83 instead"
		}
		out = append(out, res("disks", v, fmt.Sprintf("%d: %s", len(bi.Disks), strings.Join(names, "; ")), hint))
	}
	nics, err := nic.Inventory(ctx, nic.InventoryConfig{Logger: env.Logger})
	if err != nil {
		out = append(out, res("NICs", Warn, err.Error(), "install Debian's pci.ids package (make deps does)"))
	} else {
		var names []string
		for _, n := range nics {
			s := n.Name
			if n.Driver != "" {
				s += " " + n.Driver
			}
			if n.SpeedMbps != nil {
				s += fmt.Sprintf(" %dMb/s", *n.SpeedMbps)
			}
			names = append(names, s+" "+string(n.Carrier))
		}
		out = append(out, res("NICs", Pass, fmt.Sprintf("%d: %s", len(nics), strings.Join(names, "; ")), ""))
	}
	ctrls := raidControllers("/sys/bus/pci/devices")
	if len(ctrls) == 0 {
		out = append(out, res("RAID/SAS controllers", Warn, "none on the PCI bus", "a shared enclosure needs a RAID or SAS HBA on each node (iSCSI needs none)"))
	} else {
		out = append(out, res("RAID/SAS controllers", Pass, strings.Join(ctrls, "; "), ""))
	}
	ports, err := serialhb.ListPorts()
	switch {
	case err != nil:
		out = append(out, res("serial ports", Warn, err.Error(), ""))
	case len(ports) == 0:
		out = append(out, res("serial ports", Warn, "none found", "the serial heartbeat needs a COM port or a USB serial adapter"))
	default:
		var names []string
		for _, p := range ports {
			s := p.Name
			if p.USB {
				s += fmt.Sprintf(" (USB %s:%s %s serial %q)", p.VID, p.PID, p.Product, p.Serial)
			}
			names = append(names, s)
		}
		out = append(out, res("serial ports", Pass, strings.Join(names, "; "), ""))
	}
	return out
}

// raidControllers reads PCI class 0x0104 (RAID) and 0x0107 (SAS) devices
// from sysfs: no PCI ID database needed.
func raidControllers(dir string) []string {
	entries, _ := os.ReadDir(dir)
	var out []string
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name(), "class"))
		if err != nil {
			continue
		}
		class := strings.TrimSpace(string(b))
		kind := map[string]string{"0x0104": "RAID", "0x0107": "SAS"}[class[:min(6, len(class))]]
		if kind == "" {
			continue
		}
		v, _ := os.ReadFile(filepath.Join(dir, e.Name(), "vendor"))
		d, _ := os.ReadFile(filepath.Join(dir, e.Name(), "device"))
		out = append(out, fmt.Sprintf("%s %s %s:%s", e.Name(), kind, strings.TrimSpace(string(v)), strings.TrimSpace(string(d))))
	}
	return out
}

// SerialCable checks the heartbeat over every null-modem cable from
// each node whose agent is reachable (in a cluster of more than two, every
// member's cables, each named by its two ends), then runs a cable test (a
// burst of pings on each of this node's cables) from this node. The
// deadtime against the worst silence is the timeout audit's (Timeouts) for
// the pair's cable, and its rule (silenceAudit) here for a member's.
func SerialCable(ctx context.Context, env Env) []Result {
	ss, out := sides(env, "serial heartbeat")
	if ss == nil {
		return out
	}
	cables := 0
	for _, side := range ss {
		links, err := side.Client.HeartbeatLinks(ctx)
		if err != nil {
			out = append(out, res("heartbeat ("+side.Name+")", Fail, err.Error(), "configure serial: in hwagent.yaml"))
			continue
		}
		if side.Name == sideNames[0] {
			cables = len(links)
		}
		for _, l := range links {
			label, h := cableLabel(side.Name, l.Member), l.Status
			name := "heartbeat (" + label + ")"
			switch {
			case !h.PortOpen:
				out = append(out, res(name, Fail, "port not open: "+h.PortErr, "check the device path, that no getty holds the port, and the USB adapter"))
			case h.State != serialhb.StateAlive:
				out = append(out, res(name, Fail, fmt.Sprintf("peer %s, cable: %s", h.State, h.Cable), "check the null-modem cable (crossed TX/RX), the baud rate and the shared key on both nodes"))
			default:
				out = append(out, res(name, Pass, "peer alive", ""))
			}
			if l.Member != "" {
				out = append(out, silenceAudit(timeoutFacts{Node: label, Deadtime: h.Timers.Deadtime, Keepalive: h.Timers.Keepalive, Silence: h.MaxSilence, SilenceLate: h.MaxSilencePeerGap}))
			}
		}
	}
	start := time.Now()
	cv, err := env.Local.CableTest(ctx)
	if err != nil {
		return append(out, res("cable test", Fail, err.Error(), "the peer's agent must run to answer the pings"))
	}
	m := fmt.Sprintf("%s: %d/%d pings answered, %d corrupted, %d auth failures, RTT min/median/max %v/%v/%v", cv.Name(), cv.Received, cv.Sent, cv.Corrupted, cv.AuthFail, cv.RTTMin.Round(time.Microsecond), cv.RTTMedian.Round(time.Microsecond), cv.RTTMax.Round(time.Microsecond))
	if cables > 1 {
		m = fmt.Sprintf("each of this node's %d cables tested, the worst: %s", cables, m)
	}
	r := res("cable test", Pass, m, "")
	switch {
	case cv.Received == 0:
		r.Verdict, r.Hint = Fail, "no pong: check the cable, the peer's port and the shared key"
	case cv.Loss > 0 || cv.Corrupted > 0:
		r.Verdict, r.Hint = Warn, "loss or damaged frames: a long or unshielded cable, a ground loop, or a too-high baud rate"
	case cv.AuthFail > 0:
		r.Verdict, r.Hint = Warn, "frames with a wrong key arrived: another cluster on the line, or stale key files"
	}
	r.Duration = time.Since(start)
	return append(out, r)
}

// HeartbeatNIC checks the heartbeat link of each node whose agent is
// reachable and that it reaches the others over it: in a cluster of more
// than two, every member's address as each node probes it.
func HeartbeatNIC(ctx context.Context, env Env) []Result {
	ss, out := sides(env, "heartbeat NIC")
	if ss == nil {
		return out
	}
	for _, side := range ss {
		name := "link and peer (" + side.Name + ")"
		v, err := side.Client.NICs(ctx)
		if err != nil {
			out = append(out, res(name, Fail, err.Error(), "configure nic: in hwagent.yaml"))
			continue
		}
		switch {
		case v.Status == nil:
			out = append(out, res(name, Fail, v.Error, "check the interface name in nic.interface"))
			continue
		case v.Status.Carrier != nic.CarrierUp:
			out = append(out, res(name, Fail, fmt.Sprintf("%s: carrier %s, operstate %s", v.Status.Name, v.Status.Carrier, v.Status.OperState), "plug the crossover cable and bring the interface up (ip link set IF up)"))
			continue
		}
		if len(v.Members) == 0 {
			out = append(out, nicProbeResult(name, v.Status, v.Probe, v.Error))
			continue
		}
		for _, m := range v.Members {
			out = append(out, nicProbeResult("link and peer ("+cableLabel(side.Name, m.Member)+")", v.Status, m.Probe, m.Error))
		}
	}
	return out
}

// nicProbeResult judges one probe of a member's address on a link with
// carrier.
func nicProbeResult(name string, st *nic.Status, p *nic.ProbeResult, errText string) Result {
	if p == nil || p.State != nic.ProbeReachable {
		state := "no probe"
		if p != nil {
			state = string(p.State)
		}
		return res(name, Fail, fmt.Sprintf("%s up, peer %s: %s %s", st.Name, peerAddr(p), state, errText), "link up but the peer is silent: check the member's address (nic.peer_address or peers[].address), its address and its firewall (ICMP echo)")
	}
	speed := "speed unknown"
	if st.SpeedMbps != nil {
		speed = fmt.Sprintf("%d Mb/s %s", *st.SpeedMbps, st.Duplex)
	}
	return res(name, Pass, fmt.Sprintf("%s carrier up, %s, peer %s answers in %v", st.Name, speed, p.Peer, p.RTT.Round(time.Microsecond)), "")
}

func peerAddr(p *nic.ProbeResult) string {
	if p == nil {
		return "?"
	}
	return p.Peer.String()
}

// SharedDisks checks that both nodes see the same shared disks, matched by
// VPD 0x83 identity, and that it is the identity the configuration pins.
func SharedDisks(ctx context.Context, env Env) []Result {
	cs, sk := both(env, "shared disks")
	if sk != nil {
		return sk
	}
	var views [2][]agent.DiskStatus
	for i, c := range cs {
		d, err := c.Disks(ctx)
		if err != nil {
			return []Result{res("disks seen from "+sideNames[i], Fail, err.Error(), "check the agent and the disks: section")}
		}
		views[i] = d
	}
	peerIDs := map[string]bool{}
	for _, d := range views[1] {
		if d.Error == "" && d.Identity != "" {
			peerIDs[d.Identity] = true
		}
	}
	var out []Result
	if len(views[0]) == 0 {
		return []Result{res("shared disks", Fail, "no shared disk configured", "list the shared disks under disks: in hwagent.yaml")}
	}
	for i, d := range views[0] {
		name := fmt.Sprintf("disk %d identity", i)
		var want string
		if env.LocalConfig != nil && i < len(env.LocalConfig.Disks) {
			want = env.LocalConfig.Disks[i].Identity
		}
		switch {
		case d.Error != "":
			out = append(out, res(name, Fail, d.Device+": "+d.Error, "the disk does not answer from this node: check the path, the HBA or the iSCSI login"))
		case d.Identity == "":
			out = append(out, res(name, Warn, d.Device+": no VPD 0x83 identity reported (unknown)", "the disk cannot be proven to be the same on both nodes"))
		case !peerIDs[d.Identity]:
			out = append(out, res(name, Fail, fmt.Sprintf("%s: %s not seen by the peer", d.Device, d.Identity), "the peer's disks: list names a different LUN; compare `hwagent disks` on both nodes"))
		case want != "" && want != d.Identity:
			out = append(out, res(name, Fail, fmt.Sprintf("%s: %s, the configuration expects %s", d.Device, d.Identity, want), "a different LUN is at this path: fix disks[].device or disks[].identity"))
		case want == "":
			out = append(out, res(name, Warn, fmt.Sprintf("%s: %s on both nodes, not pinned in the configuration", d.Device, d.Identity), "add identity: "+d.Identity+" to this disk in hwagent.yaml on both nodes"))
		default:
			out = append(out, res(name, Pass, fmt.Sprintf("%s: %s on both nodes", d.Device, d.Identity), ""))
		}
	}
	return out
}

// RAIDPair reads the nodes' controllers through their agents and runs the
// raidctl pair validator on this node's against the peer's and, in a
// cluster of more than two, against every other reachable member's (each
// result then names the member).
func RAIDPair(ctx context.Context, env Env) []Result {
	ss, out := sides(env, "RAID pair")
	if ss == nil {
		return out
	}
	pair := env.LocalConfig == nil || len(env.LocalConfig.PeerList()) < 2
	nodes := make([]*raidctl.Node, len(ss))
	for i, side := range ss {
		sys, err := side.Client.RAID(ctx)
		var ae *agent.APIError
		if errors.As(err, &ae) && ae.Code == http.StatusNotFound {
			if i == 0 || pair {
				return append(out, skip("RAID pair", "no RAID backend configured on "+side.Name, "set raid: {tool: ...} on every node when the enclosure is behind RAID controllers")...)
			}
			out = append(out, res("RAID pair (this node and "+side.Name+")", Skip, "no RAID backend configured on "+side.Name, "set raid: {tool: ...} on every node when the enclosure is behind RAID controllers"))
			continue
		}
		if err != nil {
			out = append(out, res("RAID read ("+side.Name+")", Fail, err.Error(), "check that the vendor CLI is installed and answers"))
			if i == 0 || pair {
				return out
			}
			continue
		}
		label := side.Name
		if pair {
			label = []string{"A", "B"}[i]
		}
		n, err := raidctl.NodeFromSystem(label, sys, "")
		if err != nil {
			out = append(out, res("RAID read ("+side.Name+")", Fail, err.Error(), ""))
			if i == 0 || pair {
				return out
			}
			continue
		}
		nodes[i] = &n
	}
	if pair {
		return raidPairResults(raidctl.ValidatePair(*nodes[0], *nodes[1]))
	}
	for i := 1; i < len(ss); i++ {
		if nodes[i] == nil {
			continue
		}
		for _, r := range raidPairResults(raidctl.ValidatePair(*nodes[0], *nodes[i])) {
			r.Name += " (this node and " + ss[i].Name + ")"
			out = append(out, r)
		}
	}
	return out
}

// raidPairRules are the pair rules hwcheck reports one line for even when
// they find nothing, so the report shows what was checked.
func raidPairRules() []struct{ rule, what string } {
	return []struct{ rule, what string }{
		{raidctl.RuleNames, "controller and partner names"},
		{raidctl.RuleInitiatorIDs, "initiator IDs on the shared channels"},
		{raidctl.RuleMergeGroup, "merge groups (shared 1-8, non-shared 200+)"},
		{raidctl.RuleWriteThrough, "write-through on shared drives"},
		{raidctl.RuleSharedOnBoth, "shared drives: a merge group held by one node, other shared drives matching on both"},
		{raidctl.RuleBattery, "cache battery"},
	}
}

// raidPairResults turns a pair report into hwcheck results as raid-tool
// validate prints it (raidctl.Group): the faults first (errors, then
// warnings), one line per node for the lines of the tool's output not
// recognised or read without a confirmed format, the notes, and a pass line for each checked
// rule with no finding. An info finding that says a value is unknown (a
// battery the tool said nothing about) or that a rule does not apply is a
// skip, never a pass.
func raidPairResults(rep raidctl.Report) []Result {
	var out []Result
	seen := map[string]bool{}
	for _, f := range rep.Findings {
		seen[f.Rule] = true
	}
	// The rules' own unknowns stay on their rule's line; the tool's
	// output lines are one line per node.
	faults, unknown := raidctl.Group(rep.Findings, raidctl.IsToolOutput)
	finding := func(f raidctl.Finding) {
		v := map[raidctl.Severity]Verdict{raidctl.SeverityError: Fail, raidctl.SeverityWarning: Warn, raidctl.SeverityInfo: Pass}[f.Severity]
		if f.Severity == raidctl.SeverityInfo && (f.Rule == raidctl.RuleBattery || f.Rule == raidctl.RuleNotApplicable) {
			v = Skip
		}
		out = append(out, res(f.Rule, v, fmt.Sprintf("node %s %s: %s", f.Node, f.Subject, f.Message), f.Fix))
	}
	for _, f := range faults {
		if f.Severity != raidctl.SeverityInfo {
			finding(f)
		}
	}
	for _, g := range unknown {
		out = append(out, res(raidctl.RuleToolOutput, Warn, fmt.Sprintf("node %s: %s", g.Node, g.Summary()), strings.Join(g.Fixes, "; ")))
	}
	for _, f := range faults {
		if f.Severity == raidctl.SeverityInfo {
			finding(f)
		}
	}
	if seen[raidctl.RuleNotApplicable] {
		return out
	}
	for _, r := range raidPairRules() {
		if !seen[r.rule] {
			out = append(out, res(r.rule, Pass, r.what+": checked, no problem found", ""))
		}
	}
	return out
}
