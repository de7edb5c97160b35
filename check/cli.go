package check

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/internal/exitcode"
	"github.com/hakit/hakit/internal/version"
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
	peerCfg := fs.String("peer-config", "", "the peer's configuration, when readable from here (the rig); enables the SCSI-2 test")
	sock := fs.String("socket", "", "this node's agent socket (default: from --config)")
	peerSock := fs.String("peer-socket", "", "the peer agent's socket (default: peer.socket of --config)")
	prTest := fs.Bool("pr-test", false, "consent to change reservations and registrations (never data): runs the PR matrix and the SCSI-2 test; use a test LUN or a maintenance window")
	inv := fs.Bool("inventory", false, "list this node's hardware (disks, NICs, RAID/SAS controllers, serial ports)")
	jsonOut := fs.Bool("json", false, "print the report as JSON")
	junit := fs.String("junit", "", "also write the report as JUnit XML to this file (for CI systems)")
	strict := fs.Bool("strict", false, "exit 1 on warnings too")
	verbose := fs.Bool("v", false, "log what the probes do")
	showVersion := fs.Bool("version", false, "print the build's commit and exit")
	help := func(w io.Writer) {
		fmt.Fprintf(w, "Usage: hwcheck [flags]\n\nInstall-time diagnostics of a hakit pair, run on one node with access to both agents:\ninventory, serial cable, heartbeat NIC, shared disks by VPD 0x83 identity, SCSI-2 and\npersistent reservation tests (with --pr-test), RAID pair settings. Each check says pass,\nwarn, fail or skip, what it measured, and how to fix it.\n\nExamples:\n  hwcheck --config /etc/hakit/hwagent.yaml\n  hwcheck --config /etc/hakit/hwagent.yaml --pr-test --junit report.xml\n  hwcheck --inventory --json\n\nFlags:\n")
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
	env := Env{PRTest: *prTest, Inventory: *inv, Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))}
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
