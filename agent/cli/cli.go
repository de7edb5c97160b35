// Package cli is the hwagent command: the daemon (run) and the client
// subcommands people use against a running agent (status, events, the
// views and the ownership actions), readable or --json.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/agent/hw"
	"github.com/hakit/hakit/internal/cliflag"
	"github.com/hakit/hakit/internal/exitcode"
	"github.com/hakit/hakit/internal/jsonout"
	"github.com/hakit/hakit/internal/version"
	"github.com/hakit/hakit/nic/niccli"
	"github.com/hakit/hakit/raidctl/raidcli"
	"github.com/hakit/hakit/sbd/sbdcli"
	"github.com/hakit/hakit/scsi/diskcli"
	"github.com/hakit/hakit/serialhb"
	"github.com/hakit/hakit/serialhb/hbcli"
)

// ErrUsage wraps command-line mistakes (exit code 2).
var ErrUsage = errors.New("hwagent: usage")

const usage = `Usage: hwagent <command> [flags]

Daemon:
  run        run the agent of this node (--config /etc/hakit/hwagent.yaml)
  check-config  parse and validate a configuration, then exit
  completion bash  print the bash completion script

Client (talks to the agent over its API socket):
  status     the agent's summary: peer, heartbeat, links, disks, fenced
  events     stream the agent's events as they happen (--since N replays)
  heartbeat  each serial cable: peer, state, last frame, loss, worst silence (-v: counters)
  cabletest  test the serial cable through the running agents (a burst of pings)
  nics       the heartbeat NIC's link and a probe of the peer
  disks      each shared disk read now: keys, reservation, who owns it
  raid       the RAID controller as the agent reads it
  register | acquire | release | unfence
             ownership actions on every shared disk, read back after
  fence NODE remove a member's key from every shared disk (verified)
  unfence NODE  unfence a member through its own agent (peers[].socket)

On site (no agent needed):
  capture FILE  save this node's facts (identity, keys, disks, NIC, RAID, versions)
  compare A B [C ...]  compare the members' capture files (2 to 16)

Field tools (no agent needed; stop the agent before using its serial port):
  raid-tool  RAID show/validate (raidctl), e.g. hwagent raid-tool validate ...
  hb         serial heartbeat tools (serialhb): run, status, cabletest, ports
  disk       SCSI disk tools (scsi): identify, keys, reservation, register, reserve,
             release, fence, clear, reset on /dev/sdX, /dev/sgN or iscsi:// URLs
  nic        NIC tools (nic): link status, watch, peer probe, inventory
  sbd        SBD disk mailbox (sbd 1.5.2 format): -d DEV create|dump|list|allocate NODE|
             message NODE test|reset|off|clear|exit|crashdump|watch

Client flags: --socket PATH (default: from --config, else /run/hakit/hwagent.sock),
--config PATH, --json, --timeout DURATION. Every command takes --help;
hwagent --version prints the build's commit. Exit statuses: docs/EXIT-CODES.md.

Examples:
  hwagent status
  hwagent disk identify /dev/sdb
  hwagent hb cabletest --port /dev/ttyS0 --key-file /etc/hakit/hb.key --node 1
  hwagent raid-tool validate --vendor ipssend --file-b node-b.txt

Exit status: 0 success, 2 usage error; each command's --help lists its own.
`

// ExitError is an error with the exit status its command documents (the
// disk commands use sg3_utils' statuses).
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// Program is the hwagent command line with the process-wide settings only
// a main may make, handed in by it. The zero Program changes nothing
// outside the command.
type Program struct {
	// SetMaxProcs, when set, is called by run, once the configuration is
	// read, with the number of Ps the daemon wants: one for an agent that
	// sleeps between heartbeats (it halves the Go scheduler's idle CPU, see
	// BenchmarkAgentIdle), two with the real-time heartbeat (a second P
	// keeps its locked threads from waiting for the one P another goroutine
	// holds). cmd/hwagent sets GOMAXPROCS unless the environment names it.
	SetMaxProcs func(n int)
}

// Run runs the hwagent command line (without the program name) as the
// zero Program.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return Program{}.Run(ctx, args, stdout, stderr)
}

// Run runs the hwagent command line (without the program name).
func (p Program) Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: no command", ErrUsage)
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	case "-V", "-version", "--version", "version":
		fmt.Fprintln(stdout, version.String("hwagent"))
		return nil
	case "capture":
		return cmdCapture(ctx, rest, stdout, stderr)
	case "compare":
		return cmdCompare(rest, stdout)
	case "completion":
		return cmdCompletion(ctx, rest, stdout)
	case "run":
		return p.cmdRun(ctx, rest, stdout, stderr)
	case "check-config":
		return cmdCheckConfig(rest, stdout, stderr)
	case "raid-tool":
		return raidcli.Run(ctx, rest, stdout, stderr)
	case "hb":
		return hbcli.Run(ctx, rest, stdout, stderr)
	case "disk":
		if err := diskcli.Run(ctx, rest, stdout, stderr); err != nil && !errors.Is(err, flag.ErrHelp) {
			// disk's exit statuses are sg3_utils' (disk --help lists them).
			return &ExitError{Code: diskcli.ExitCode(err), Err: err}
		}
		return nil
	case "nic":
		return niccli.Run(ctx, rest, stdout, stderr)
	case "sbd":
		if err := (sbdcli.Runner{}).Run(ctx, rest, stdout, stderr); err != nil && !errors.Is(err, flag.ErrHelp) {
			return &ExitError{Code: sbdcli.ExitCode(err), Err: err}
		}
		return nil
	case "status", "events", "heartbeat", "cabletest", "nics", "disks", "raid", "register", "acquire", "release", "unfence", "fence":
		return client(ctx, cmd, rest, stdout, stderr)
	}
	return fmt.Errorf("%w: unknown command %q%s", ErrUsage, cmd, unknownHint("hwagent", args, commandNames()))
}

// unknownHint is what follows "unknown command": the fix for flags given
// before the command or a typo, else where the list is.
func unknownHint(prog string, args, known []string) string {
	if h := cliflag.CommandHint(prog, args, known); h != "" {
		return h
	}
	return fmt.Sprintf(" (run \"%s --help\" for the list)", prog)
}

// flags is one subcommand's flag set and its help: --help prints the
// help to stdout (exit 0); a mistake prints only the error (exit 2).
type flags struct {
	*flag.FlagSet
	name, args, help string
	stdout           io.Writer
}

func newFlags(name, args string, stdout io.Writer, help string) *flags {
	fs := flag.NewFlagSet("hwagent "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &flags{FlagSet: fs, name: name, args: args, help: help, stdout: stdout}
}

// Help writes the command's help: usage line, description, examples,
// its own flags and its exit statuses.
func (f *flags) Help(w io.Writer) {
	fmt.Fprintf(w, "Usage: hwagent %s [flags]%s\n\n%s\n", f.name, f.args, f.help)
	if ex := examples[f.name]; ex != "" {
		fmt.Fprintf(w, "\nExamples:\n%s", ex)
	}
	fmt.Fprint(w, "\nFlags:\n")
	f.SetOutput(w)
	f.PrintDefaults()
	f.SetOutput(io.Discard)
	fmt.Fprintf(w, "\n%s", exitcode.Help("hwagent "+f.name))
}

// parse parses args with flags before, between or after the positional
// arguments (`hwagent fence node-a --config X`), as the field commands do
// (cliflag.ParseInterleaved); Args() is then the positional arguments in
// order. --help prints the help to stdout and returns flag.ErrHelp.
func (f *flags) parse(args []string) error {
	pos, err := cliflag.ParseInterleaved(f.FlagSet, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			f.Help(f.stdout)
			return err
		}
		return fmt.Errorf("%w: %s: %w (run \"hwagent %s --help\")", ErrUsage, f.name, err, f.name)
	}
	return f.Parse(append([]string{"--"}, pos...))
}

// noArgs refuses positional arguments to a command that takes none.
func (f *flags) noArgs() error {
	if f.NArg() > 0 {
		return fmt.Errorf("%w: %s takes no argument, got %q (run \"hwagent %s --help\")", ErrUsage, f.name, f.Args(), f.name)
	}
	return nil
}

func cmdCheckConfig(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("check-config", "", stdout, "Parses and validates the configuration (strict: unknown keys are errors, with the\nnearest known key), then checks that the files, devices and folders it names exist\non this machine (serial port, key and secret files, /dev disks, RAID capture file,\nSBD device, watchdog, the peer socket's folder).")
	path := fs.String("config", "/etc/hakit/hwagent.yaml", "configuration file")
	parseOnly := fs.Bool("parse-only", false, "only parse and validate; do not check the paths (a configuration written for another machine)")
	if err := fs.parse(args); err != nil {
		return err
	}
	if err := fs.noArgs(); err != nil {
		return err
	}
	cfg, err := agent.LoadConfig(*path)
	if err != nil {
		return err
	}
	for _, w := range cfg.Warnings() {
		fmt.Fprintf(stderr, "%s: warning: %s\n", *path, w)
	}
	if !*parseOnly {
		if probs := cfg.PathProblems(); len(probs) > 0 {
			for _, p := range probs {
				fmt.Fprintf(stderr, "%s: %s\n", *path, p)
			}
			return fmt.Errorf("%s: %d path(s) named in the configuration missing (fix them, or --parse-only for a configuration of another machine)", *path, len(probs))
		}
	}
	peers := fmt.Sprintf("peer %s (id %d)", cfg.Peer.Name, cfg.Peer.ID)
	if pl := cfg.PeerList(); len(pl) > 1 {
		var ps []string
		for _, p := range pl {
			ps = append(ps, fmt.Sprintf("%s (id %d)", p.Name, p.ID))
		}
		peers = fmt.Sprintf("%d peers %s", len(pl), strings.Join(ps, ", "))
	}
	fmt.Fprintf(stdout, "%s: ok: node %s (id %d), %s, cluster %d, %d disk(s), socket %s\n", *path, cfg.Node.Name, cfg.Node.ID, peers, cfg.Cluster.ID, len(cfg.Disks), cfg.API.Socket)
	return nil
}

// cmdRun is the daemon. Everything that can fail does so before the agent
// starts: a bad configuration, a missing key file, a second agent.
func (p Program) cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", "", stdout, "Runs this node's agent until SIGTERM. Registrations and reservations are kept on exit.")
	path := fs.String("config", "/etc/hakit/hwagent.yaml", "configuration file")
	verbose := fs.Bool("v", false, "log debug messages")
	if err := fs.parse(args); err != nil {
		return err
	}
	if err := fs.noArgs(); err != nil {
		return err
	}
	cfg, err := agent.LoadConfig(*path)
	if err != nil {
		return err
	}
	rt := realtime(cfg)
	if p.SetMaxProcs != nil {
		p.SetMaxProcs(MaxProcs(cfg))
	}
	lvl := slog.LevelInfo
	if *verbose {
		lvl = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl})).With("node", cfg.Node.Name)
	if rt {
		if err := serialhb.LockMemory(); err != nil {
			log.Warn("memory not locked: the heartbeat may wait for page-ins under memory pressure", "err", err)
		}
	}
	for _, w := range cfg.Warnings() {
		log.Warn("config: " + w)
	}
	return RunAgent(ctx, cfg, log)
}

// RunAgent builds the hardware parts of cfg and runs the agent until ctx
// ends.
func RunAgent(ctx context.Context, cfg *agent.Config, log *slog.Logger) error {
	deps, closeHW, err := hw.Build(cfg, log)
	if err != nil {
		return err
	}
	defer closeHW()
	a, err := agent.New(cfg, deps)
	if err != nil {
		return err
	}
	return a.Run(ctx)
}

type clientFlags struct {
	socket, config string
	json, verbose  bool
	timeout        time.Duration
	since          int64
}

var clientHelp = map[string]string{
	"status":    "Shows the agent's summary.",
	"events":    "Streams the agent's events until interrupted.",
	"heartbeat": "Shows the serial heartbeat: one line per cable with the peer, its state, the last frame heard, the loss (frames the peer sent that never arrived) and the worst silence between its frames; -v adds every counter.",
	"cabletest": "Tests the serial cable through the running agent: a burst of 50 pings that the peer's agent answers, while the heartbeat goes on (hwagent hb cabletest needs the agents stopped). Reports loss, damaged frames and RTT; on a node with a cable per neighbour, the worst cable's, naming it.",
	"nics":      "Shows the heartbeat NIC and probes the peer.",
	"disks":     "Reads every shared disk now and shows its keys and reservation.",
	"raid":      "Shows the RAID controller as the agent reads it.",
	"register":  "Registers this node's key on every shared disk.",
	"acquire":   "Reserves every shared disk for this node (Write Exclusive, registrants only). This node must be registered (register or unfence first): a key that is gone may have been fenced, and acquire refuses it.",
	"release":   "Releases this node's reservation (the registration stays).",
	"unfence":   "Registers this node's key again after it was fenced, and clears the fenced state. With NODE, another member: its key goes through its own initiator, so its own agent does it, reached at peers[].socket of --config.",
	"fence":     "Fences NODE (any other member): removes its key from every shared disk and verifies.",
}

func client(ctx context.Context, cmd string, args []string, stdout, stderr io.Writer) error {
	extra := ""
	switch cmd {
	case "fence":
		extra = " NODE"
	case "unfence":
		extra = " [NODE]"
	}
	fs := newFlags(cmd, extra, stdout, clientHelp[cmd])
	var f clientFlags
	fs.StringVar(&f.socket, "socket", "", "agent API socket (default: from --config, else "+agent.DefaultSocket+")")
	fs.StringVar(&f.config, "config", "", "configuration file to take the socket from")
	fs.BoolVar(&f.json, "json", false, "print JSON")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Second, "give up after this long (not for events)")
	if cmd == "heartbeat" {
		fs.BoolVar(&f.verbose, "v", false, "add each cable's counters")
	}
	if cmd == "events" {
		fs.Int64Var(&f.since, "since", -1, "replay the kept events numbered after this first (0: all kept); default only new ones")
	}
	if err := fs.parse(args); err != nil {
		return err
	}
	if cmd == "unfence" && fs.NArg() <= 1 {
		// unfence [NODE]
	} else if (cmd == "fence") != (fs.NArg() == 1) || fs.NArg() > 1 {
		return fmt.Errorf("%w: %s takes %d argument(s)", ErrUsage, cmd, len(strings.Fields(extra)))
	}
	sock := f.socket
	if sock == "" {
		sock = agent.DefaultSocket
		if f.config != "" {
			cfg, err := agent.LoadConfig(f.config)
			if err != nil {
				return err
			}
			sock = cfg.API.Socket
			if m, ok := cfg.Member(fs.Arg(0)); cmd == "unfence" && ok && !m.Self {
				if m.Socket == "" {
					return fmt.Errorf("%w: unfence %s: only %s's own agent can register its key again (through its initiator); give its socket as its peers[].socket in %s, or run hwagent unfence on %s", ErrUsage, m.Name, m.Name, f.config, m.Name)
				}
				sock = m.Socket
			}
		}
	}
	c := agent.NewClient(sock)
	if cmd == "events" {
		return c.Events(ctx, f.since, func(e agent.Event) error {
			if f.json {
				return jsonout.Line(stdout, e)
			}
			_, err := fmt.Fprintln(stdout, FormatEvent(e))
			return err
		})
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	var v any
	var err error
	// release says "nothing released" when this node held no disk's
	// reservation before it, rather than "done".
	heldBefore := true
	if cmd == "release" {
		if before, err := c.Disks(ctx); err == nil {
			heldBefore = false
			for _, d := range before {
				heldBefore = heldBefore || d.Owner
			}
		}
	}
	switch cmd {
	case "status":
		v, err = c.Status(ctx)
	case "disks":
		v, err = c.Disks(ctx)
	case "cabletest":
		rep, err := c.CableTest(ctx)
		if err != nil {
			return err
		}
		if f.json {
			err = jsonout.Document(stdout, "items", rep)
		} else {
			err = hbcli.WriteCableReport(stdout, rep)
		}
		if err != nil {
			return err
		}
		if err := hbcli.CableVerdict(rep); err != nil {
			return &ExitError{Code: exitcode.CableLoss, Err: err}
		}
		return nil
	case "heartbeat", "nics", "raid":
		if !f.json {
			return writeComponent(ctx, stdout, c, cmd, f.verbose)
		}
		v, err = c.Raw(ctx, "/v1/"+cmd)
	case "fence":
		v, err = c.Fence(ctx, fs.Arg(0))
	case "unfence":
		v, err = c.Unfence(ctx, fs.Arg(0))
	default:
		v, err = c.Action(ctx, agent.Action(cmd))
	}
	if err != nil {
		// An action that failed still returns the disks' state: show it.
		if r, ok := v.(agent.ActionResult); ok && len(r.Disks) > 0 && !f.json {
			writeDisks(stdout, r.Disks)
		}
		return err
	}
	if f.json {
		return jsonout.Document(stdout, "disks", v)
	}
	switch x := v.(type) {
	case agent.Status:
		writeStatus(stdout, x)
	case []agent.DiskStatus:
		writeDisks(stdout, x)
	case agent.ActionResult:
		kept := false
		for _, d := range x.Disks {
			kept = kept || (x.Action == "release" && d.Lockout)
		}
		switch {
		case kept:
			fmt.Fprintf(stdout, "%s: done; the reservation is kept while the peer's key is not registered (without it a fenced peer could write): it claims nothing and goes when the peer registers again\n", x.Action)
		case heldBefore && x.Node != "" && fs.NArg() == 1:
			fmt.Fprintf(stdout, "%s: done (%s)\n", x.Action, x.Node)
		case heldBefore:
			fmt.Fprintf(stdout, "%s: done\n", x.Action)
		default:
			fmt.Fprintf(stdout, "%s: nothing released: this node held no reservation\n", x.Action)
		}
		writeDisks(stdout, x.Disks)
	}
	return nil
}

// FormatEvent is one line for people.
func FormatEvent(e agent.Event) string {
	return fmt.Sprintf("%s #%d %-9s %-12s %s", e.Time.Format("15:04:05.000"), e.Seq, e.Source, e.Kind, e.Msg)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func writeDisks(w io.Writer, disks []agent.DiskStatus) {
	for _, d := range disks {
		fmt.Fprintf(w, "disk %s\n", d.Device)
		if d.Error != "" {
			fmt.Fprintf(w, "  UNREADABLE: %s (ownership unknown)\n", d.Error)
			continue
		}
		if d.Identity != "" {
			fmt.Fprintf(w, "  identity     %s\n", d.Identity)
		}
		if d.Mode == agent.ModeSCSI2 {
			writeSCSI2Disk(w, d)
			continue
		}
		if len(d.Keys) == 0 {
			fmt.Fprintf(w, "  PR generation=0x%x, there are NO registered reservation keys\n", d.Generation)
		} else {
			fmt.Fprintf(w, "  PR generation=0x%x, %d registered reservation key(s): %s\n", d.Generation, len(d.Keys), strings.Join(d.Keys, " "))
		}
		if d.Holder != "" {
			fmt.Fprintf(w, "  reservation  key=%s, %s\n", d.Holder, d.Type)
		} else {
			fmt.Fprintln(w, "  reservation  there is NO reservation held")
		}
		fmt.Fprintf(w, "  this node    key %s registered=%s owner=%s\n", d.OwnKey, yesNo(d.Registered), yesNo(d.Owner))
		fmt.Fprintf(w, "  peer         key %s registered=%s\n", d.PeerKey, yesNo(d.PeerRegistered))
		for _, n := range d.Notes {
			fmt.Fprintf(w, "  note: %s\n", n)
		}
	}
}

// writeSCSI2Disk prints a scsi2 disk: no keys, only who holds the SCSI-2
// reservation.
func writeSCSI2Disk(w io.Writer, d agent.DiskStatus) {
	fmt.Fprintln(w, "  mode         scsi2 (SCSI-2 reserve/release, no reservation keys)")
	switch d.Holder {
	case "":
		fmt.Fprintln(w, "  reservation  none held by another node; this node does not hold it")
	default:
		fmt.Fprintf(w, "  reservation  held by %s\n", d.Holder)
	}
	fmt.Fprintf(w, "  this node    holds (renewals on time)=%s\n", yesNo(d.Owner))
	fmt.Fprintf(w, "  other node   holds=%s\n", yesNo(d.PeerRegistered))
	if d.FenceMethod != "" {
		fmt.Fprintf(w, "  last fence   %s\n", d.FenceMethod)
	}
	for _, n := range d.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
}

// ExitCode is the exit status of Run's error, as internal/exitcode's
// table documents it: a command's own code (disk, sbd, raid-tool
// validate), 2 for usage errors in every subcommand, 3 for a peer not
// heard or not reachable and for an agent that cannot be reached, 1
// otherwise.
func ExitCode(err error) int {
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	if code, ok := raidcli.ExitCode(err); ok {
		return code
	}
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitcode.OK
	case errors.Is(err, ErrUsage), errors.Is(err, hbcli.ErrUsage), errors.Is(err, niccli.ErrUsage):
		return exitcode.Usage
	case errors.Is(err, hbcli.ErrPeerNotHeard), errors.Is(err, hbcli.ErrCableLoss):
		return exitcode.HBNoPeer
	case errors.Is(err, niccli.ErrNotReachable):
		return exitcode.NICNoPeer
	case errors.Is(err, ErrCaptureDiffers):
		return exitcode.CompareDiffers
	case errors.Is(err, agent.ErrUnreachable):
		return exitcode.Unreachable
	}
	return exitcode.Failure
}

// MaxProcs is the number of Ps the daemon of cfg wants (see
// Program.SetMaxProcs): 2 with the real-time serial heartbeat, else 1.
func MaxProcs(cfg *agent.Config) int {
	if realtime(cfg) {
		return 2
	}
	return 1
}

// realtime: cfg runs the serial heartbeat at a real-time priority.
func realtime(cfg *agent.Config) bool {
	return cfg.Serial.Port != "" && cfg.Serial.RealtimePriority > 0
}

// Report writes what a person needs of err to stderr (nothing for
// success, the usage mistake, or the error after "hwagent:") and returns
// the exit status (ExitCode).
func Report(stderr io.Writer, err error) int {
	code := ExitCode(err)
	switch {
	case code == 0:
	case errors.Is(err, ErrUsage):
		fmt.Fprintln(stderr, err)
	default:
		var ee *ExitError
		if errors.As(err, &ee) {
			err = ee.Err
		}
		fmt.Fprintln(stderr, "hwagent:", err)
	}
	return code
}
