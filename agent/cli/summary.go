package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hakit/hakit/agent"
)

// writeStatus is `hwagent status` for people: one screen, one line per
// path to the peer and per disk; `hwagent heartbeat|nics|disks|raid` and
// --json give every field.
func writeStatus(w io.Writer, s agent.Status) {
	fmt.Fprintf(w, "node       %s (id %d), cluster %d, pid %d, up %s\n", s.Node, s.NodeID, s.Cluster, s.PID, time.Since(s.Started).Round(time.Second))
	if len(s.Members) > 2 {
		for _, m := range s.Members {
			fmt.Fprintf(w, "member     %s\n", memberLine(m))
		}
	} else {
		fmt.Fprintf(w, "peer       %s (id %d)\n", s.Peer, s.PeerID)
	}
	fenced := "no"
	if s.Fenced {
		fenced = "YES: this node's key was removed; it claims nothing until `hwagent unfence`"
	}
	fmt.Fprintf(w, "fenced     %s (self-fence action: %s)\n", fenced, s.SelfFence)
	if hb := strings.TrimSpace(string(s.Heartbeat)); len(s.Members) > 2 && strings.HasPrefix(hb, "[") {
		fmt.Fprintln(w, "serial     one cable per member: see the member lines (hwagent heartbeat for each)")
	} else {
		fmt.Fprintf(w, "serial     %s\n", component(s.Heartbeat, serialLine))
	}
	fmt.Fprintf(w, "nic        %s\n", component(s.NICs, nicLine))
	fmt.Fprintf(w, "disk path  %s\n", diskPathLine(s.DiskHeartbeat, s.Peer))
	fmt.Fprintf(w, "raid       %s\n", component(s.RAID, raidLine))
	if len(s.Disks) == 0 {
		fmt.Fprintln(w, "disks      none read yet")
	}
	for _, d := range s.Disks {
		fmt.Fprintf(w, "disk       %s: %s\n", d.Device, diskLine(d))
	}
	fmt.Fprintf(w, "events     %d so far (hwagent events --since N)\n", s.LastEvent)
	fmt.Fprintln(w, "details    hwagent heartbeat | nics | disks | raid (or --json)")
}

// component summarises one component's status with line; a status that
// does not decode is shown raw (never hidden, never read as good).
func component(raw json.RawMessage, line func(json.RawMessage) (string, error)) string {
	if len(raw) == 0 || string(raw) == "null" {
		return "not configured"
	}
	s, err := line(raw)
	if err != nil {
		return "status not understood (" + err.Error() + "): " + strings.TrimSpace(string(raw))
	}
	return s
}

func serialLine(raw json.RawMessage) (string, error) {
	var hb struct {
		State      string        `json:"state"`
		LastHeard  *time.Time    `json:"last_heard"`
		Silence    time.Duration `json:"silence_ns"`
		MaxSilence time.Duration `json:"max_silence_ns"`
		Path       string        `json:"path"`
		PortOpen   *bool         `json:"port_open"`
		PortErr    string        `json:"port_err"`
		Realtime   int           `json:"realtime"`
	}
	if err := json.Unmarshal(raw, &hb); err != nil {
		return "", err
	}
	if hb.State == "" {
		return "", fmt.Errorf("no state")
	}
	if hb.PortOpen != nil && !*hb.PortOpen {
		return fmt.Sprintf("port %s NOT OPEN: %s (peer %s)", hb.Path, hb.PortErr, hb.State), nil
	}
	s := "peer " + strings.ToUpper(hb.State)
	if hb.Path != "" {
		s += " on " + hb.Path
	}
	switch {
	case hb.LastHeard == nil || hb.LastHeard.IsZero():
		// null in the schema of docs/API.md, the zero time before it.
		s += " (never heard)"
	default:
		s += fmt.Sprintf(" (last heard %v ago, longest silence %v)", hb.Silence.Round(time.Millisecond), hb.MaxSilence.Round(time.Millisecond))
	}
	if hb.PortOpen != nil {
		if hb.Realtime > 0 {
			s += fmt.Sprintf(", real-time priority %d", hb.Realtime)
		} else {
			s += ", normal priority"
		}
	}
	return s, nil
}

func nicLine(raw json.RawMessage) (string, error) {
	var n struct {
		Status *struct {
			Name      string `json:"name"`
			Carrier   string `json:"carrier"`
			OperState string `json:"operstate"`
		} `json:"status"`
		Probe *struct {
			Peer  string        `json:"peer"`
			State string        `json:"state"`
			RTT   time.Duration `json:"rtt_ns"`
		} `json:"probe"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(raw, &n); err != nil {
		return "", err
	}
	if n.Status == nil {
		return "UNREADABLE: " + n.Error, nil
	}
	s := fmt.Sprintf("%s carrier %s, operstate %s", n.Status.Name, n.Status.Carrier, n.Status.OperState)
	switch {
	case n.Probe == nil:
		s += "; peer not probed"
	case n.Probe.State == "reachable":
		s += fmt.Sprintf("; peer %s answers in %v", n.Probe.Peer, n.Probe.RTT.Round(time.Microsecond))
	default:
		s += fmt.Sprintf("; peer %s %s", n.Probe.Peer, strings.ToUpper(n.Probe.State))
	}
	if n.Error != "" {
		s += " (" + n.Error + ")"
	}
	return s, nil
}

func raidLine(raw json.RawMessage) (string, error) {
	var r struct {
		Tool        string `json:"tool"`
		Controllers []struct {
			Vendor        string            `json:"vendor"`
			Model         *string           `json:"model"`
			Status        *string           `json:"status"`
			LogicalDrives []json.RawMessage `json:"logical_drives"`
		} `json:"controllers"`
		Warnings []string `json:"warnings"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return "", err
	}
	var parts []string
	for _, c := range r.Controllers {
		model, status := "model unknown", "status unknown"
		if c.Model != nil {
			model = *c.Model
		}
		if c.Status != nil {
			status = *c.Status
		}
		parts = append(parts, fmt.Sprintf("%s %s (%s, %d logical drives)", c.Vendor, model, status, len(c.LogicalDrives)))
	}
	if len(parts) == 0 {
		parts = append(parts, "no controller")
	}
	s := r.Tool + ": " + strings.Join(parts, "; ")
	if len(r.Warnings) > 0 {
		s += fmt.Sprintf("; %d warning(s): hwagent raid", len(r.Warnings))
	}
	return s, nil
}

// diskLine says who holds the disk and whether this node is registered.
func diskLine(d agent.DiskStatus) string {
	if d.Error != "" {
		return "UNREADABLE: " + d.Error + " (ownership unknown)"
	}
	var holder string
	switch {
	case d.Latched != "":
		holder = "LATCHED fenced (" + d.Latched + ")"
	case d.Owner:
		holder = "held by this node"
	case d.Holder == "":
		holder = "free (no reservation)"
	case d.PeerRegistered && d.Holder == d.PeerKey, d.Mode == agent.ModeSCSI2 && d.PeerRegistered:
		holder = "held by the peer"
	default:
		holder = "held by key " + d.Holder + " (neither node's)"
	}
	if d.Mode == agent.ModeSCSI2 {
		return holder + " (scsi2 mode)"
	}
	return fmt.Sprintf("%s; this node's key %s registered %s, the peer's %s", holder, d.OwnKey, yesNo(d.Registered), yesNo(d.PeerRegistered))
}

// diskPathLine is the disk heartbeat's view of the peer (and of any
// other node whose block is on the device).
func diskPathLine(h *agent.DiskHeartbeat, peer string) string {
	if h == nil {
		return "not configured (sbd.device)"
	}
	var parts []string
	seen := false
	for _, p := range h.Peers {
		seen = seen || p.Name == peer
		part := fmt.Sprintf("%s %s", p.Name, strings.ToUpper(p.State))
		switch {
		case p.State == agent.PeerDead && p.Changed != nil:
			part += fmt.Sprintf(" (block still for %s)", time.Since(*p.Changed).Round(100*time.Millisecond))
		case p.State == agent.PeerAlive:
			part += fmt.Sprintf(" (its view: serial %s, nic %s)", p.Serial, p.NIC)
		}
		parts = append(parts, part)
	}
	if !seen {
		parts = append([]string{peer + " UNKNOWN (no block of it read yet)"}, parts...)
	}
	out := strings.Join(parts, "; ") + fmt.Sprintf(", every %d ms on %s", h.IntervalMS, h.Device)
	if h.Error != "" {
		out += ": " + h.Error
	}
	return out
}

// memberLine is one member of a cluster of more than two: its key on the
// shared disks, what it holds and its heartbeat paths.
func memberLine(m agent.MemberStatus) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (id %d)", m.Name, m.ID)
	if m.Self {
		b.WriteString(" this node")
	}
	switch {
	case m.Registered:
		b.WriteString(": registered")
	case m.Fenced:
		b.WriteString(": FENCED")
	default:
		b.WriteString(": registration unknown or partial")
	}
	if m.Key != "" {
		b.WriteString(" (key " + m.Key + ")")
	}
	if len(m.Holder) > 0 {
		b.WriteString(", holds " + strings.Join(m.Holder, " "))
	}
	for _, p := range [][2]string{{"serial", m.Serial}, {"nic", m.NIC}, {"disk path", m.Disk}} {
		if p[1] != "" {
			b.WriteString(", " + p[0] + " " + p[1])
		}
	}
	return b.String()
}
