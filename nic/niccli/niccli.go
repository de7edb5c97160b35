// Package niccli is the command-line front of package nic, as a library:
// the agent mounts it as `hwagent nic ...`.
//
//	status [--netns NS] [--json] IF
//	watch [--netns NS] [--json] [--count N] [IF...]
//	probe --iface IF [--netns NS] [--count N] [--interval D] [--json] PEER
//	inventory [--json]
package niccli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/hakit/hakit/internal/cliflag"
	"github.com/hakit/hakit/internal/exitcode"
	"github.com/hakit/hakit/internal/jsonout"
	"github.com/hakit/hakit/nic"
)

// ErrUsage: the command line is wrong. The message says how.
var ErrUsage = errors.New("usage")

// ErrNotReachable: a probe finished but the peer did not answer (no link, or
// peer silent). The result has been printed.
var ErrNotReachable = errors.New("peer not reachable")

// Command runs the subcommands against the Host that NewHost returns for a
// --netns value.
type Command struct {
	// NewHost builds the Host for a namespace ("" = the caller's); nil
	// means nic.System.
	NewHost func(netns string, probeCount int, probeInterval time.Duration) nic.Host
}

// Run runs one subcommand against this machine.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return Command{}.Run(ctx, args, stdout, stderr)
}

const usage = `usage: nic <command> [flags]

commands:
  status IF       link, speed, duplex, driver, carrier counters, bond membership
  watch [IF...]   link changes as they happen, until interrupted
  probe PEER      is the peer reachable through --iface (no link, peer silent, reachable)
  inventory       every NIC with its PCI device, vendor, driver, link and speed

Run "nic <command> --help" for a command's flags.
`

// Run runs one subcommand.
func (c Command) Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("nic: %w: no command", ErrUsage)
	}
	cmds := map[string]func(context.Context, []string, io.Writer, io.Writer) error{
		"status":    c.status,
		"watch":     c.watch,
		"probe":     c.probe,
		"inventory": c.inventory,
	}
	switch args[0] {
	case "-h", "--help", "-help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	run, ok := cmds[args[0]]
	if !ok {
		hint := cliflag.CommandHint("hwagent nic", args, []string{"status", "watch", "probe", "inventory"})
		if hint == "" {
			hint = ` (run "hwagent nic --help" for the list)`
		}
		return fmt.Errorf("nic: %w: unknown command %q%s", ErrUsage, args[0], hint)
	}
	return run(ctx, args[1:], stdout, stderr)
}

func (c Command) host(netns string, count int, interval time.Duration) nic.Host {
	if c.NewHost != nil {
		return c.NewHost(netns, count, interval)
	}
	return nic.System{NetNS: netns, ProbeCount: count, ProbeInterval: interval}
}

// flags is the part every subcommand shares.
type flags struct {
	fs       *flag.FlagSet
	synopsis string
	json     bool
	netns    string
}

func newFlags(name, synopsis string, stderr io.Writer, withNetNS bool) *flags {
	f := &flags{fs: flag.NewFlagSet(name, flag.ContinueOnError)}
	f.fs.SetOutput(io.Discard)
	f.fs.BoolVar(&f.json, "json", false, "print JSON")
	if withNetNS {
		f.fs.StringVar(&f.netns, "netns", "", "network namespace: a name under /run/netns or a path")
	}
	f.synopsis = synopsis
	f.fs.Usage = func() {} // parse prints usage where it belongs
	return f
}

func (f *flags) usage(w io.Writer) {
	fmt.Fprintf(w, "usage: nic %s\n\nExamples:\n%s\nFlags:\n", f.synopsis, nicExamples[f.fs.Name()])
	f.fs.SetOutput(w)
	f.fs.PrintDefaults()
	fmt.Fprintf(w, "\n%s", exitcode.Help("hwagent nic"))
}

// parse parses args; done is true when --help was asked (and answered on
// stdout).
func (f *flags) parse(args []string, stdout, stderr io.Writer, nargs func(int) bool) (done bool, err error) {
	pos, err := cliflag.ParseInterleaved(f.fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			f.usage(stdout)
			return true, nil
		}
		f.usage(stderr)
		return false, fmt.Errorf("nic %s: %w: %w", f.fs.Name(), ErrUsage, err)
	}
	if err := f.fs.Parse(append([]string{"--"}, pos...)); err != nil {
		return false, fmt.Errorf("nic %s: %w: %w", f.fs.Name(), ErrUsage, err)
	}
	if !nargs(f.fs.NArg()) {
		f.usage(stderr)
		return false, fmt.Errorf("nic %s: %w: wrong number of arguments", f.fs.Name(), ErrUsage)
	}
	return false, nil
}

func exactly(n int) func(int) bool { return func(got int) bool { return got == n } }

// printJSON writes one document (docs/JSON.md); a list is "nics".
func printJSON(w io.Writer, v any) error {
	return jsonout.Document(w, "nics", v)
}

func (c Command) status(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newFlags("status", "status [--netns NS] [--json] IF", stderr, true)
	if done, err := f.parse(args, stdout, stderr, exactly(1)); done || err != nil {
		return err
	}
	st, err := c.host(f.netns, 0, 0).Status(ctx, f.fs.Arg(0))
	if errors.Is(err, nic.ErrNoSuchInterface) {
		where := "this namespace"
		if f.netns != "" {
			where = "namespace " + f.netns
		}
		return fmt.Errorf("%w (hwagent nic inventory lists the interfaces of %s; one in another namespace needs --netns, as nic.netns of hwagent.yaml)", err, where)
	}
	if err != nil {
		return err
	}
	if f.json {
		return printJSON(stdout, st)
	}
	return WriteStatus(stdout, st)
}

// WriteStatus prints an interface's status for people, one fact a line
// (nic status, and hwagent nics).
func WriteStatus(w io.Writer, st *nic.Status) error {
	var b strings.Builder
	row := func(k, format string, a ...any) {
		fmt.Fprintf(&b, "%-18s "+format+"\n", append([]any{k + ":"}, a...)...)
	}
	row("interface", "%s (index %d, %s)", st.Name, st.Index, st.Kind)
	if st.NetNS != "" {
		row("netns", "%s", st.NetNS)
	}
	row("admin", "%s", upDown(st.AdminUp))
	row("carrier", "%s", st.Carrier)
	row("operstate", "%s", st.OperState)
	row("speed", "%s", speed(st.SpeedMbps))
	row("duplex", "%s", st.Duplex)
	row("autoneg", "%s", st.Autoneg)
	row("mtu", "%d", st.MTU)
	row("mac", "%s", orUnknown(st.MAC))
	row("driver", "%s", strings.TrimSpace(orUnknown(st.Driver)+" "+st.DriverVersion))
	row("firmware", "%s", orUnknown(st.FirmwareVersion))
	if st.BusInfo != "" {
		row("bus", "%s", st.BusInfo)
	}
	row("carrier changes", "%s (up %s, down %s)", count(st.CarrierChanges), count(st.CarrierUpCount), count(st.CarrierDownCount))
	if m := st.Master; m != nil {
		row("member of", "%s", membership(*m))
	}
	for _, m := range st.Members {
		row("member", "%s", membership(m))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func membership(m nic.Membership) string {
	s := fmt.Sprintf("%s %s: %s carrier %s operstate %s", m.MasterKind, m.Master, m.Member, m.MemberCarrier, m.MemberOper)
	if m.BondState != "" {
		s += fmt.Sprintf(" bond %s mii %s failures %s", m.BondState, m.MIIStatus, count(m.LinkFailures))
	}
	return s
}

func upDown(up bool) string {
	if up {
		return "up"
	}
	return "down"
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func speed(v *int) string {
	if v == nil {
		return "unknown"
	}
	return fmt.Sprintf("%d Mb/s", *v)
}

func count(v *uint32) string {
	if v == nil {
		return "unknown"
	}
	return fmt.Sprint(*v)
}

func (c Command) watch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newFlags("watch", "watch [--netns NS] [--json] [--count N] [IF...]", stderr, true)
	n := f.fs.Int("count", 0, "stop after this many changes (0: until interrupted)")
	if done, err := f.parse(args, stdout, stderr, func(int) bool { return true }); done || err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	snap, events, err := c.host(f.netns, 0, 0).Watch(ctx, f.fs.Args()...)
	if err != nil {
		return err
	}
	// The initial state, as changes from nothing.
	for _, ch := range nic.Diff(nil, snap) {
		if err := writeEvent(stdout, f.json, nic.Event{Change: ch}); err != nil {
			return err
		}
	}
	seen := 0
	for ev := range events {
		if err := writeEvent(stdout, f.json, ev); err != nil {
			return err
		}
		if seen++; *n > 0 && seen >= *n {
			cancel()
			for range events {
			}
			return nil
		}
	}
	if err := ctx.Err(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

func writeEvent(w io.Writer, asJSON bool, ev nic.Event) error {
	if asJSON {
		return jsonout.Line(w, ev)
	}
	var b strings.Builder
	if !ev.Time.IsZero() {
		b.WriteString(ev.Time.UTC().Format(time.RFC3339Nano) + " ")
	}
	switch ev.Kind {
	case nic.Added:
		l := ev.New
		fmt.Fprintf(&b, "%s present: admin %s carrier %s operstate %s mtu %d", l.Name, upDown(l.AdminUp), l.Carrier, l.OperState, l.MTU)
	case nic.Removed:
		fmt.Fprintf(&b, "%s removed", ev.Old.Name)
	case nic.Changed:
		fmt.Fprintf(&b, "%s changed:", ev.New.Name)
		for _, f := range ev.Fields {
			o, n := field(ev.Old, f), field(ev.New, f)
			fmt.Fprintf(&b, " %s %s->%s", f, o, n)
		}
	}
	if ev.Resync {
		b.WriteString(" (resync)")
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func field(l nic.Link, name string) string {
	switch name {
	case "name":
		return l.Name
	case "kind":
		return l.Kind
	case "admin":
		return upDown(l.AdminUp)
	case "carrier":
		return string(l.Carrier)
	case "operstate":
		return string(l.OperState)
	case "mtu":
		return fmt.Sprint(l.MTU)
	case "mac":
		return l.MAC
	case "master":
		return fmt.Sprint(l.MasterIndex)
	}
	return "?"
}

func (c Command) probe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newFlags("probe", "probe --iface IF [--netns NS] [--count N] [--interval D] [--json] PEER", stderr, true)
	iface := f.fs.String("iface", "", "interface to probe through (required)")
	n := f.fs.Int("count", 3, "echo requests at most")
	interval := f.fs.Duration("interval", 200*time.Millisecond, "wait for each reply")
	if done, err := f.parse(args, stdout, stderr, exactly(1)); done || err != nil {
		return err
	}
	if *iface == "" {
		f.usage(stderr)
		return fmt.Errorf("nic probe: %w: --iface is required", ErrUsage)
	}
	if *n < 1 || *interval <= 0 {
		return fmt.Errorf("nic probe: %w: --count must be at least 1 and --interval positive", ErrUsage)
	}
	peer, err := netip.ParseAddr(f.fs.Arg(0))
	if err != nil {
		return fmt.Errorf("nic probe: %w: %w", ErrUsage, err)
	}
	res, err := c.host(f.netns, *n, *interval).Probe(ctx, *iface, peer)
	if err != nil {
		return err
	}
	if f.json {
		err = printJSON(stdout, res)
	} else {
		_, err = fmt.Fprintf(stdout, "%s via %s: %s (carrier %s, operstate %s, sent %d, received %d, rtt %s)\n",
			res.Peer, res.Interface, res.State, res.Carrier, res.OperState, res.Sent, res.Received, res.RTT)
	}
	if err != nil {
		return err
	}
	if res.State != nic.ProbeReachable {
		return fmt.Errorf("nic probe %s via %s: %w: %s", res.Peer, res.Interface, ErrNotReachable, res.State)
	}
	return nil
}

func (c Command) inventory(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newFlags("inventory", "inventory [--json]", stderr, false)
	if done, err := f.parse(args, stdout, stderr, exactly(0)); done || err != nil {
		return err
	}
	nics, err := c.host("", 0, 0).Inventory(ctx)
	if err != nil {
		return err
	}
	if f.json {
		return printJSON(stdout, nics)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-15s %-17s %-12s %-12s %-8s %-14s %-8s %s\n", "NAME", "MAC", "PCI", "DRIVER", "CARRIER", "OPERSTATE", "SPEED", "VENDOR / PRODUCT")
	for _, n := range nics {
		vp := strings.TrimSpace(n.Vendor + " / " + n.Product)
		if n.Vendor == "" && n.Product == "" {
			vp = "-"
			if n.Virtual {
				vp = "(virtual)"
			}
		}
		fmt.Fprintf(&b, "%-15s %-17s %-12s %-12s %-8s %-14s %-8s %s\n", n.Name, dash(n.MAC), dash(n.PCIAddress), dash(n.Driver), n.Carrier, n.OperState, speed(n.SpeedMbps), vp)
	}
	_, err = io.WriteString(stdout, b.String())
	return err
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// nicExamples is the Examples section of each nic command's help.
var nicExamples = map[string]string{
	"status":    "  hwagent nic status eth1\n  hwagent nic status eth1 --json\n",
	"watch":     "  hwagent nic watch eth1\n",
	"probe":     "  hwagent nic probe 169.254.10.2 --iface eth1\n  hwagent nic probe 169.254.10.2 --iface eth1 --count 10; echo \"exit $?\"\n",
	"inventory": "  hwagent nic inventory\n",
}
