// Package raidcli is the command-line front of raidctl: `show` prints what a
// RAID controller (live or from a saved capture) reports, and `validate`
// checks that two nodes' controllers form a correct shared-enclosure pair.
// A main mounts it as a subcommand (e.g. `hwagent raid ...`) by calling Run.
package raidcli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hakit/hakit/internal/cliflag"
	"github.com/hakit/hakit/internal/exitcode"
	"github.com/hakit/hakit/internal/jsonout"
	"github.com/hakit/hakit/raidctl"
)

// Errors returned by validate, so a main can map them onto exit codes
// (ExitCode).
var (
	// ErrPairInvalid: the pair has at least one error-severity finding.
	ErrPairInvalid = errors.New("raid pair has errors")
	// ErrPairUnchecked: no errors, but warnings (degraded drives, values
	// the tools did not report): the pair cannot be called correct.
	ErrPairUnchecked = errors.New("raid pair has warnings: not every check could pass")
	// ErrUsage: a bad command line (exit status 2).
	ErrUsage = errors.New("usage")
)

// Exit statuses of validate, documented in its help.
const (
	ExitPairInvalid   = 3
	ExitPairUnchecked = 4
)

// ExitCode maps an error of validate onto its documented exit status: 3
// for ErrPairInvalid, 4 for ErrPairUnchecked, 2 for ErrUsage, 0 for nil,
// and ok false for any other error (the caller's own code: 1).
func ExitCode(err error) (code int, ok bool) {
	switch {
	case err == nil:
		return 0, true
	case errors.Is(err, ErrPairInvalid):
		return ExitPairInvalid, true
	case errors.Is(err, ErrPairUnchecked):
		return ExitPairUnchecked, true
	case errors.Is(err, ErrUsage):
		return 2, true
	}
	return 0, false
}

// Command holds the dependencies of the front. The zero value runs the real
// tools and logs nothing. It is safe for concurrent use if Runner is.
type Command struct {
	// Runner runs vendor CLIs (nil: raidctl.ExecRunner).
	Runner raidctl.Runner
	// Logger receives debug lines (nil: discard).
	Logger *slog.Logger
}

// Run runs `raid <args>` with the real tools. See Command.Run.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return (&Command{}).Run(ctx, args, stdout, stderr)
}

// usage is the raid command's help.
func usage() string {
	return fmt.Sprintf(`Usage: raid <command> [flags]

Reads RAID controller settings that matter to a shared-enclosure cluster pair
(controller and partner names, initiator IDs, shared drives and their merge
groups, write cache, battery) and checks them.

Commands:
  show      read one node (this machine's controller, or a saved capture) and
            print what the tool reported; fields the tool did not print are
            shown as "unknown", never as zero or "no"
  validate  read node A and node B and list every problem of the pair, with
            its severity and a fix hint

Tools (--vendor, alias --tool):
%sA saved file's tool is detected from its content unless --vendor is given.

Run "raid show --help" or "raid validate --help" for the flags.
`, toolList())
}

// toolList is the help's list of tools, one line each from the tool table
// (continuation lines indented under the description).
func toolList() string {
	var b strings.Builder
	for _, t := range raidctl.Tools() {
		fmt.Fprintf(&b, "  %-13s %s\n", t, strings.ReplaceAll(raidctl.Help(t), "\n", "\n"+strings.Repeat(" ", 16)))
	}
	return b.String()
}

// Run parses args (without the leading "raid") and runs the subcommand.
// Output goes to stdout; flag errors and help go to stderr. validate
// returns ErrPairInvalid or ErrPairUnchecked (wrapped) when the pair is not
// clean; --help returns nil.
func (c *Command) Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage())
		return fmt.Errorf("%w: raid: missing command (show or validate)", ErrUsage)
	}
	switch args[0] {
	case "show":
		return c.show(ctx, args[1:], stdout, stderr)
	case "validate":
		return c.validate(ctx, args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage())
		return nil
	}
	fmt.Fprint(stderr, usage())
	return fmt.Errorf("%w: raid: unknown command %q%s (want show or validate)", ErrUsage, args[0], cliflag.CommandHint("hwagent raid-tool", args, []string{"show", "validate"}))
}

// sourceFlags select one node's input.
type sourceFlags struct {
	vendor, file, controller, binary, pick string
}

func (c *Command) source(f sourceFlags, timeout time.Duration) (raidctl.Source, string, error) {
	tool := raidctl.Tool(f.vendor)
	if tool != "" && !knownTool(tool) {
		return nil, "", fmt.Errorf("unknown tool %q (want one of %v)", tool, raidctl.Tools())
	}
	if f.file != "" {
		if tool == raidctl.ToolSysfsMD {
			return nil, "", errors.New("sysfs-md is read live only; save /proc/mdstat or mdadm --detail output instead")
		}
		return raidctl.File{Path: f.file, Tool: tool}, "file " + f.file, nil
	}
	switch tool {
	case "":
		return nil, "", errors.New("name the tool with --vendor to read this machine live, or give a saved file")
	case raidctl.ToolSysfsMD:
		return raidctl.SysfsMD{}, "live sysfs", nil
	case raidctl.ToolMdstat:
		return raidctl.File{Path: "/proc/mdstat", Tool: tool}, "live /proc/mdstat", nil
	case raidctl.ToolStorcliText:
		return nil, "", errors.New("storcli-text is for saved files; live storcli is read as JSON (--vendor storcli)")
	}
	src, err := raidctl.NewExec(raidctl.ExecConfig{Tool: tool, Binary: f.binary, Controller: f.controller,
		Timeout: timeout, Runner: c.Runner, Logger: c.Logger})
	if err != nil {
		return nil, "", err
	}
	return src, "live " + string(tool), nil
}

func knownTool(t raidctl.Tool) bool {
	for _, k := range raidctl.Tools() {
		if k == t {
			return true
		}
	}
	return false
}

// newFlagSet is a subcommand's flag set: a mistake is returned as the
// error only; --help is printed by printHelp, to stdout.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("raid "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// printHelp writes a subcommand's help, its examples and its flags.
func printHelp(w io.Writer, fs *flag.FlagSet, help, examples string) {
	help, flagsHeading, _ := strings.Cut(help, "Flags:\n")
	fmt.Fprint(w, help)
	fmt.Fprintf(w, "Examples:\n%s\nFlags:\n%s", examples, flagsHeading)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	fmt.Fprintf(w, "\n%s", exitcode.Help("hwagent raid-tool"))
}

const showExamples = `  hwagent raid-tool show --vendor storcli
  hwagent raid-tool show --file node-a-getconfig.txt --vendor ipssend --json
`

const validateExamples = `  hwagent raid-tool validate --vendor ipssend --file-b node-b-getconfig.txt
  hwagent raid-tool validate --file-a node-a.txt --file-b node-b.txt; echo "exit $?"
`

const showHelp = `Usage: raid show [--vendor TOOL] [--file PATH] [--json]

Reads one node and prints its controllers, logical drives, physical drives
and cluster settings. Without --file the tool named by --vendor is run on
this machine. Values the tool did not print are "unknown".

Flags:
`

func (c *Command) show(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("show")
	var sf sourceFlags
	fs.StringVar(&sf.vendor, "vendor", "", "tool that printed the output (see raid help); detected for files")
	fs.StringVar(&sf.vendor, "tool", "", "alias of --vendor")
	fs.StringVar(&sf.file, "file", "", "saved output to read instead of running the tool")
	fs.StringVar(&sf.controller, "controller", "", "arcconf/ipssend controller number to read live (default 1)")
	fs.StringVar(&sf.binary, "binary", "", "path of the vendor CLI (default: looked up on PATH)")
	timeout := fs.Duration("timeout", 60*time.Second, "limit for each vendor CLI run")
	asJSON := fs.Bool("json", false, "print the model as JSON (unknown fields are omitted)")
	pos, err := cliflag.ParseInterleaved(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printHelp(stdout, fs, showHelp, showExamples)
			return nil
		}
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	if len(pos) > 0 {
		return fmt.Errorf("%w: raid show takes no arguments, only flags (give the capture as --file PATH): %q", ErrUsage, pos)
	}
	src, from, err := c.source(sf, *timeout)
	if err != nil {
		return fmt.Errorf("raid show: %w", err)
	}
	sys, err := src.Read(ctx)
	if err != nil {
		return fmt.Errorf("raid show: %w", err)
	}
	if *asJSON {
		enc := jsonEncoder{stdout}
		return enc.Encode(sys)
	}
	WriteSystem(stdout, from, sys)
	return nil
}

const validateHelp = `Usage: raid validate [--file-a PATH] --file-b PATH [--vendor TOOL] [--json]

Checks that node A's and node B's controllers are configured as cluster
partners on a shared enclosure:
  - each controller's partner name is the other's controller name, and the
    names differ;
  - the initiator IDs differ on every shared channel (6 and 7);
  - a shared ServeRAID merge group is merged (listed) on one node only,
    never on both; another shared drive exists on both nodes with the
    same size and RAID level;
  - shared merge groups are unique and in 1-8, non-shared ones 200 and up;
  - shared drives are write-through;
  - degraded or rebuilding drives and failed batteries are warnings;
  - two controllers that only pass drives through (HBA/IT firmware or JBOD,
    no logical drive) have nothing to pair: a note, not an error.
A value a tool does not report is a warning that says "unknown": a check is
never passed on missing data.

Node A is this machine's controller (run live with --vendor) unless --file-a
is given; node B is always a saved capture from the other node (--file-b).
When an output holds several controllers, choose with --controller-a/-b.

Flags:
`

func (c *Command) validate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("validate")
	var a, b sourceFlags
	var vendor string
	fs.StringVar(&vendor, "vendor", "", "tool of both nodes (see raid help); detected for files")
	fs.StringVar(&vendor, "tool", "", "alias of --vendor")
	fs.StringVar(&a.vendor, "vendor-a", "", "tool of node A, when it differs from --vendor")
	fs.StringVar(&b.vendor, "vendor-b", "", "tool of node B, when it differs from --vendor")
	fs.StringVar(&a.file, "file-a", "", "saved output of node A (default: read this machine live)")
	fs.StringVar(&b.file, "file-b", "", "saved output of node B (required)")
	fs.StringVar(&a.pick, "controller-a", "", "controller ID in node A's output, when it has several")
	fs.StringVar(&b.pick, "controller-b", "", "controller ID in node B's output, when it has several")
	fs.StringVar(&a.controller, "controller", "", "arcconf/ipssend controller number to read live (default 1)")
	fs.StringVar(&a.binary, "binary", "", "path of the vendor CLI for a live read")
	timeout := fs.Duration("timeout", 60*time.Second, "limit for each vendor CLI run")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	pos, err := cliflag.ParseInterleaved(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printHelp(stdout, fs, validateHelp, validateExamples)
			return nil
		}
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	if len(pos) > 0 {
		return fmt.Errorf("%w: raid validate takes no arguments, only flags (give the captures as --file-a PATH --file-b PATH): %q", ErrUsage, pos)
	}
	if b.file == "" {
		return fmt.Errorf("%w: raid validate: --file-b is required (node B's saved output)", ErrUsage)
	}
	for _, s := range []*sourceFlags{&a, &b} {
		if s.vendor == "" {
			s.vendor = vendor
		}
	}
	var nodes [2]raidctl.Node
	var froms [2]string
	for i, s := range []sourceFlags{a, b} {
		label := []string{"A", "B"}[i]
		src, from, err := c.source(s, *timeout)
		if err != nil {
			return fmt.Errorf("raid validate: node %s: %w", label, err)
		}
		sys, err := src.Read(ctx)
		if err != nil {
			return fmt.Errorf("raid validate: node %s: %w", label, err)
		}
		n, err := raidctl.NodeFromSystem(label, sys, s.pick)
		if err != nil {
			return fmt.Errorf("raid validate: %w", err)
		}
		nodes[i], froms[i] = n, from
	}
	rep := raidctl.ValidatePair(nodes[0], nodes[1])
	rep.NodeA = "A (" + froms[0] + ")"
	rep.NodeB = "B (" + froms[1] + ")"
	if *asJSON {
		enc := jsonEncoder{stdout}
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		printReport(stdout, rep)
	}
	switch {
	case rep.Count(raidctl.SeverityError) > 0:
		return fmt.Errorf("raid validate: %d errors, %d warnings: %w", rep.Count(raidctl.SeverityError), rep.Count(raidctl.SeverityWarning), ErrPairInvalid)
	case rep.Count(raidctl.SeverityWarning) > 0:
		return fmt.Errorf("raid validate: %d warnings: %w", rep.Count(raidctl.SeverityWarning), ErrPairUnchecked)
	}
	return nil
}

func str(p *string) string {
	if p == nil {
		return "unknown"
	}
	if *p == "" {
		return `""`
	}
	return *p
}

func yn(p *bool) string {
	switch {
	case p == nil:
		return "unknown"
	case *p:
		return "yes"
	}
	return "no"
}

func num(p *int) string {
	if p == nil {
		return "unknown"
	}
	return strconv.Itoa(*p)
}

// size prints a byte count with a binary unit.
func size(p *int64) string {
	if p == nil {
		return "unknown"
	}
	v := float64(*p)
	for _, u := range []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"} {
		if v < 1024 || u == "PiB" {
			if u == "B" {
				return fmt.Sprintf("%d B", *p)
			}
			return fmt.Sprintf("%.1f %s", v, u)
		}
		v /= 1024
	}
	return ""
}

// WriteSystem prints the controllers of sys, read from from, for people
// (raid-tool show, and hwagent raid).
func WriteSystem(w io.Writer, from string, sys *raidctl.System) {
	fmt.Fprintf(w, "Source: %s (%s)\n", from, sys.Tool)
	for _, c := range sys.Controllers {
		id := c.ID
		if id == "" {
			id = "(number not printed)"
		}
		fmt.Fprintf(w, "\nController %s: %s (%s)\n", id, str(c.Model), c.Vendor)
		fmt.Fprintf(w, "  serial %s, firmware %s, PCI %s, status %s\n", str(c.Serial), str(c.Firmware), str(c.PCIAddress), str(c.Status))
		if b := c.Battery; b != nil {
			fmt.Fprintf(w, "  battery: present %s, state %s, failed %s\n", yn(b.Present), str(b.State), yn(b.Failed))
		} else {
			fmt.Fprintf(w, "  battery: unknown\n")
		}
		cl := c.Cluster
		prov := ""
		if cl.Provisional {
			prov = " (provisional)"
		}
		fmt.Fprintf(w, "  cluster%s: name %s, partner %s, supported %s, enabled %s, active %s, topology %s\n",
			prov, str(cl.Name), str(cl.PartnerName), yn(cl.Supported), yn(cl.Enabled), yn(cl.Active), str(cl.Topology))
		if len(cl.Initiators) == 0 {
			fmt.Fprintf(w, "  initiator IDs: unknown\n")
		} else {
			var parts []string
			for _, i := range cl.Initiators {
				ch := strconv.Itoa(i.Channel)
				if i.Channel == 0 && sys.Tool == raidctl.ToolIpssend {
					ch = "all"
				}
				parts = append(parts, "channel "+ch+" = "+num(i.ID))
			}
			fmt.Fprintf(w, "  initiator IDs: %s\n", strings.Join(parts, ", "))
		}
		if len(c.Arrays) > 0 {
			fmt.Fprintf(w, "  arrays:\n")
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "    ID\tSTATE\tCONDITION\tMEMBERS")
			for _, a := range c.Arrays {
				fmt.Fprintf(tw, "    %s\t%s\t%s\t%s\n", a.ID, str(a.State), a.Condition, strings.Join(a.Members, " "))
			}
			tw.Flush()
		}
		if len(c.LogicalDrives) > 0 {
			fmt.Fprintf(w, "  logical drives:\n")
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "    ID\tLEVEL\tSIZE\tSTATE\tCONDITION\tWRITE CACHE\tSHARED\tMERGE GROUP\tNAME")
			for _, ld := range c.LogicalDrives {
				wc := "unknown"
				if ld.WriteCache != nil {
					wc = string(*ld.WriteCache)
				}
				cond := string(ld.Condition)
				if ld.Progress != nil {
					cond += fmt.Sprintf(" %.1f%%", *ld.Progress)
				}
				fmt.Fprintf(tw, "    %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ld.ID, str(ld.RAIDLevel), size(ld.SizeBytes), str(ld.State),
					cond, wc, yn(ld.Shared), num(ld.MergeGroup), str(ld.Name))
			}
			tw.Flush()
		}
		if len(c.PhysicalDrives) > 0 {
			fmt.Fprintf(w, "  physical drives:\n")
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "    LOCATION\tSTATE\tCONDITION\tSIZE\tMODEL\tSERIAL")
			for _, pd := range c.PhysicalDrives {
				fmt.Fprintf(tw, "    %s\t%s\t%s\t%s\t%s\t%s\n", location(pd), str(pd.State), pd.Condition, size(pd.SizeBytes), str(pd.Model), str(pd.Serial))
			}
			tw.Flush()
		}
	}
	if len(sys.Warnings) > 0 {
		fmt.Fprintf(w, "\nWarnings from reading the output:\n")
		for _, s := range sys.Warnings {
			fmt.Fprintf(w, "  - %s\n", s)
		}
	}
}

func location(pd raidctl.PhysicalDrive) string {
	switch {
	case pd.Device != nil:
		return *pd.Device
	case pd.Location != nil:
		return *pd.Location
	case pd.Enclosure != nil || pd.Slot != nil:
		return "enclosure " + num(pd.Enclosure) + " slot " + num(pd.Slot)
	case pd.Channel != nil || pd.Target != nil:
		return "channel " + num(pd.Channel) + " id " + num(pd.Target)
	}
	return "unknown"
}

func printReport(w io.Writer, r raidctl.Report) {
	fmt.Fprintf(w, "Pair: node %s, node %s\n\n", r.NodeA, r.NodeB)
	faults, unknown := raidctl.Group(r.Findings, raidctl.IsUnknown)
	finding := func(f raidctl.Finding) {
		fmt.Fprintf(w, "%-7s %s [%s] %s: %s\n", strings.ToUpper(string(f.Severity)), f.Node, f.Rule, f.Subject, f.Message)
		if f.Fix != "" {
			fmt.Fprintf(w, "        fix: %s\n", f.Fix)
		}
	}
	for _, f := range faults {
		if f.Severity != raidctl.SeverityInfo {
			finding(f)
		}
	}
	for _, g := range unknown {
		fmt.Fprintf(w, "WARNING %s [unknown] %s\n", g.Node, g.Summary())
		for _, fix := range g.Fixes {
			fmt.Fprintf(w, "        fix: %s\n", fix)
		}
	}
	for _, f := range faults {
		if f.Severity == raidctl.SeverityInfo {
			finding(f)
		}
	}
	e, wn, i := r.Count(raidctl.SeverityError), r.Count(raidctl.SeverityWarning), r.Count(raidctl.SeverityInfo)
	verdict := "OK"
	switch {
	case e > 0:
		verdict = "NOT OK: fix the errors before relying on failover"
	case wn > 0:
		verdict = "NOT CONFIRMED: no errors, but the warnings leave checks open"
	}
	if len(r.Findings) > 0 {
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "Result: %d errors, %d warnings, %d notes: %s\n", e, wn, i, verdict)
}

// jsonEncoder writes documents in the one --json form (docs/JSON.md).
type jsonEncoder struct{ w io.Writer }

func (e jsonEncoder) Encode(v any) error { return jsonout.Document(e.w, "items", v) }
