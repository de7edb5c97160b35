package check

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/internal/exitcode"
	"github.com/hakit/hakit/internal/version"
	"github.com/hakit/hakit/scsi"
)

// ErrUsage wraps command-line mistakes.
var ErrUsage = errors.New("hwcheck: usage")

// Main is hwcheck's command line: it runs every probe and prints the
// report. The exit code is 0 without failures, 1 with failures (or
// warnings with --strict), 2 for usage errors.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("hwcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "/etc/hakit/hwagent.yaml", "this node's hwagent configuration")
	peerCfg := fs.String("peer-config", "", "the peer's configuration, when readable from here (the rig): the disk tests drive the peer's iscsi:// disks from here (SCSI-2, arbitration, capabilities, failover, MPIO)")
	sock := fs.String("socket", "", "this node's agent socket (default: from --config)")
	peerSock := fs.String("peer-socket", "", "the peer agent's socket (default: peer.socket of --config)")
	prTest := fs.Bool("pr-test", false, "consent to change reservations and registrations (never data): runs the SCSI-2 test, the PR matrix, the arbitration, capability and MPIO tests (and Disk Failover with --test-region); use a test LUN or a maintenance window")
	rounds := fs.Int("rounds", 0, fmt.Sprintf("rounds of each kind (at once, alternating) of Multiple Arbitration (default %d, %d with --long)", DefaultRounds, LongRounds))
	long := fs.Bool("long", false, fmt.Sprintf("run the long variants: %d arbitration rounds of each kind, %d latency READs per node per disk", LongRounds, longLatencyReads))
	region := fs.String("test-region", "", "START+LEN: blocks of every shared disk that Disk Failover and MPIO may overwrite (they restore them); the consent to write there. Without it the failover tests and MPIO's writes are skipped")
	corosyncConf := fs.String("corosync-conf", "/etc/corosync/corosync.conf", "corosync's configuration, read for the timeout audit when corosync does not run (else its running cmap is read)")
	inv := fs.Bool("inventory", false, "list this node's hardware (disks, NICs, RAID/SAS controllers, serial ports)")
	jsonOut := fs.Bool("json", false, "print the report as JSON")
	htmlOut := fs.String("html", "", "also write the report as a self-contained HTML page to this file (to hand over)")
	junit := fs.String("junit", "", "also write the report as JUnit XML to this file (for CI systems)")
	strict := fs.Bool("strict", false, "exit 1 on warnings too")
	verbose := fs.Bool("v", false, "log what the probes do")
	showVersion := fs.Bool("version", false, "print the build's commit and exit")
	help := func(w io.Writer) {
		fmt.Fprintf(w, "Usage: hwcheck [flags]\n\nInstall-time diagnostics of a hakit pair, run on one node with access to both agents:\ninventory, serial cable, heartbeat NIC, shared disks by VPD 0x83 identity, Disk Access\nLatency, and with --pr-test the SCSI-2 test, the PR matrix, Disk Arbitration and Multiple\nArbitration, the SCSI-3 PR capabilities (REPORT CAPABILITIES, APTPL, PREEMPT AND ABORT),\nand with --test-region too Disk Failover and Simultaneous Failover; then the RAID pair\nsettings, the fence delay and the timeout audit (corosync, stonith-timeout, watchdog).\nEach check says pass, warn, fail or skip, what it measured, and how to fix it. The disk\ntests use hwcheck's own sessions and test keys, never the agents' registrations, refuse\nto run while a reservation is held, and check that they left each disk as they found it.\n\nExamples:\n  hwcheck --config /etc/hakit/hwagent.yaml\n  hwcheck --config /etc/hakit/hwagent.yaml --pr-test --junit report.xml\n  hwcheck --inventory --json\n\nFlags:\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(stderr)
		fmt.Fprintf(w, "\n%s", exitcode.Help("hwcheck"))
	}
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			help(stdout)
			return exitcode.OK
		}
		fmt.Fprintln(stderr, "hwcheck: run \"hwcheck --help\" for the flags")
		return exitcode.Usage
	}
	if *showVersion {
		fmt.Fprintln(stdout, version.String("hwcheck"))
		return exitcode.OK
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "hwcheck: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	lvl := slog.LevelWarn
	if *verbose {
		lvl = slog.LevelDebug
	}
	if *rounds < 0 {
		fmt.Fprintf(stderr, "hwcheck: --rounds %d: want 1 or more\n", *rounds)
		return 2
	}
	var tr scsi.Region
	if *region != "" {
		var err error
		if tr, err = ParseRegion(*region); err != nil {
			fmt.Fprintln(stderr, "hwcheck: --test-region:", err)
			return 2
		}
	}
	env := Env{PRTest: *prTest, Inventory: *inv, Rounds: *rounds, Long: *long, TestRegion: tr, Corosync: CorosyncFrom(*corosyncConf, exec.CommandContext), Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))}
	cfg, err := agent.LoadConfig(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, "hwcheck:", err)
		return 2
	}
	env.LocalConfig = cfg
	if *peerCfg != "" {
		if env.PeerConfig, err = agent.LoadConfig(*peerCfg); err != nil {
			fmt.Fprintln(stderr, "hwcheck:", err)
			return 2
		}
	}
	ls := cfg.API.Socket
	if *sock != "" {
		ls = *sock
	}
	env.Local = agent.NewClient(ls)
	ps := cfg.Peer.Socket
	if *peerSock != "" {
		ps = *peerSock
	}
	if ps == "" && env.PeerConfig != nil {
		ps = env.PeerConfig.API.Socket
	}
	if ps != "" {
		env.Peer = agent.NewClient(ps)
	}
	// Both agents must answer before anything runs: a clear message, not a
	// page of failures.
	for i, c := range []*agent.Client{env.Local, env.Peer} {
		if c == nil {
			continue
		}
		if _, err := c.Status(ctx); err != nil {
			fmt.Fprintf(stderr, "hwcheck: %s's agent does not answer: %v\n", sideNames[i], err)
			return 1
		}
	}
	if pl := cfg.PeerList(); len(pl) > 1 {
		for _, p := range pl[1:] {
			if p.Socket == "" {
				continue // its member checks say it is skipped
			}
			m := Member{Name: p.Name, Client: agent.NewClient(p.Socket)}
			if _, err := m.Client.Status(ctx); err != nil {
				fmt.Fprintf(stderr, "hwcheck: member %s's agent does not answer: %v\n", p.Name, err)
				return 1
			}
			env.Others = append(env.Others, m)
		}
	}
	if !*jsonOut {
		env.Progress = stderr
	}
	rep := Run(ctx, env)
	if *junit != "" {
		if err := writeFile(*junit, rep.WriteJUnit); err != nil {
			fmt.Fprintln(stderr, "hwcheck: --junit:", err)
			return 1
		}
	}
	if *htmlOut != "" {
		if err := writeFile(*htmlOut, rep.WriteHTML); err != nil {
			fmt.Fprintln(stderr, "hwcheck: --html:", err)
			return 1
		}
	}
	if *jsonOut {
		if err := rep.WriteJSON(stdout); err != nil {
			fmt.Fprintln(stderr, "hwcheck:", err)
			return 1
		}
	} else {
		rep.WriteText(stdout)
	}
	return rep.ExitCode(*strict)
}

// ErrRegion is a --test-region that does not parse.
var ErrRegion = errors.New("want START+LEN in blocks, LEN 1 or more")

// ParseRegion reads a block region written START+LEN.
func ParseRegion(s string) (scsi.Region, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "+")
	start, err1 := strconv.ParseUint(a, 10, 64)
	n, err2 := strconv.ParseUint(b, 10, 64)
	if !ok || err1 != nil || err2 != nil || n == 0 || start+n < start {
		return scsi.Region{}, fmt.Errorf("%q: %w", s, ErrRegion)
	}
	return scsi.Region{Start: start, Len: n}, nil
}

// writeFile writes a report file through write, replacing it only when
// complete.
func writeFile(path string, write func(io.Writer) error) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}
