package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/nic/niccli"
	"github.com/hakit/hakit/raidctl/raidcli"
	"github.com/hakit/hakit/serialhb/hbcli"
)

// writeHeartbeat is `hwagent heartbeat` for people: one line per cable
// with the peer, its state, the last frame heard, the loss (frames the
// peer sent that never arrived) and the worst silence, as `hwagent
// status`'s serial line says it; verbose adds each cable's counters
// (hb status's text). peer names a pair's peer (a link of a larger
// cluster names its member).
func writeHeartbeat(w io.Writer, links []agent.HeartbeatLink, peer string, verbose bool) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CABLE\tPEER\tSTATE\tLAST FRAME\tLOSS\tWORST SILENCE")
	for _, l := range links {
		st := l.Status
		name := l.Member
		if name == "" {
			name = peer
		}
		who := fmt.Sprintf("%s (id %d)", name, st.Peer.Node)
		if st.Peer.Node == 0 {
			who = name + " (not heard)"
		}
		state := strings.ToUpper(st.State.String())
		if !st.PortOpen {
			state = "PORT NOT OPEN: " + st.PortErr
		}
		last := "never"
		if !st.LastHeard.IsZero() {
			last = fmt.Sprintf("%v ago", st.Silence.Round(time.Millisecond))
		}
		c := st.Counters
		loss := "-"
		if n := c.Received + c.Gaps; n > 0 {
			loss = fmt.Sprintf("%.1f%% (%d of %d)", 100*float64(c.Gaps)/float64(n), c.Gaps, n)
		}
		worst := "-"
		if st.MaxSilence > 0 {
			worst = fmt.Sprintf("%v (peer sent %v apart)", st.MaxSilence.Round(time.Millisecond), st.MaxSilencePeerGap.Round(time.Millisecond))
		}
		cable := st.Path
		if st.Cable != "" {
			cable += " (" + string(st.Cable) + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", cable, who, state, last, loss, worst)
	}
	tw.Flush()
	if !verbose {
		fmt.Fprintln(w, "counters   hwagent heartbeat -v (or --json)")
		return
	}
	for _, l := range links {
		fmt.Fprintf(w, "\ncable %s", l.Status.Path)
		if l.Member != "" {
			fmt.Fprintf(w, " to %s", l.Member)
		}
		fmt.Fprintln(w, ":")
		hbcli.WriteStatus(w, l.Status)
	}
}

// writeNICs is `hwagent nics` for people: the link as `hwagent nic
// status` prints it, then the probe of each peer.
func writeNICs(w io.Writer, n agent.NICStatus) {
	if n.Status != nil {
		_ = niccli.WriteStatus(w, n.Status)
	} else {
		fmt.Fprintf(w, "%-18s UNREADABLE\n", "interface:")
	}
	probe := func(who string, r agent.NICMemberProbe) {
		switch {
		case r.Probe == nil && r.Error != "":
			fmt.Fprintf(w, "%-18s %s: not probed: %s\n", "peer:", who, r.Error)
		case r.Probe == nil:
			fmt.Fprintf(w, "%-18s %s: not probed\n", "peer:", who)
		case r.Probe.State == "reachable":
			fmt.Fprintf(w, "%-18s %s%s answers in %v (%d of %d echoes)\n", "peer:", who, r.Probe.Peer, r.Probe.RTT.Round(time.Microsecond), r.Probe.Received, r.Probe.Sent)
		default:
			fmt.Fprintf(w, "%-18s %s%s %s (%d of %d echoes answered)\n", "peer:", who, r.Probe.Peer, strings.ToUpper(string(r.Probe.State)), r.Probe.Received, r.Probe.Sent)
		}
	}
	if len(n.Members) == 0 {
		probe("", agent.NICMemberProbe{Probe: n.Probe})
	}
	for _, m := range n.Members {
		probe(m.Member+" ", m)
	}
	if n.Error != "" {
		fmt.Fprintf(w, "%-18s %s\n", "error:", n.Error)
	}
}

// writeRAID is `hwagent raid` for people: the controllers as `hwagent
// raid-tool show` prints them.
func writeRAID(w io.Writer, r *agent.RAIDStatus) {
	raidcli.WriteSystem(w, "the agent's RAID tool", r)
}

// writeComponent reads one of heartbeat, nics and raid from the agent
// and prints it for people.
func writeComponent(ctx context.Context, w io.Writer, c *agent.Client, cmd string, verbose bool) error {
	switch cmd {
	case "heartbeat":
		links, err := c.HeartbeatLinks(ctx)
		if err != nil {
			return err
		}
		peer := "the peer"
		if st, err := c.Status(ctx); err == nil && st.Peer != "" {
			peer = st.Peer
		}
		writeHeartbeat(w, links, peer, verbose)
	case "nics":
		n, err := c.NICs(ctx)
		if err != nil {
			return err
		}
		writeNICs(w, n)
	default:
		r, err := c.RAID(ctx)
		if err != nil {
			return err
		}
		writeRAID(w, r)
	}
	return nil
}
