//go:build linux

// Command compare runs hakit and the peers a user would pick instead on the
// same stand-ins in one run, interleaving their trials (hakit, peer, hakit,
// peer...) so that both see the same machine noise, and prints a table of
// medians, p99s and the ratio peer / hakit per line (tools/compare/report).
//
// Rows: 1 serial heartbeat against Linux-HA Heartbeat 3.0.6 on one relayed
// pty cable; 2 the heartbeat NIC against resource-agents' ethmonitor and
// corosync knet on one veth pair; 3 fence_hwagent against fence_scsi on
// LIO LUNs in the QEMU lab (tools/lab's fence_scsi guest; reported as not
// run, with the reason, where the lab's parts cannot be had); 4 the disk
// heartbeat and poison pill against sbd 1.5.2 on one loop device.
//
// Usage: compare [--rows 1,2,3,4] [--trials N] [--short] [--json] [--readme README.md]
// (needs root; make compare runs the full form, make test the short one).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hakit/hakit/tools/compare/report"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == beatWriterArg {
		os.Exit(beatWriter(os.Args[2:]))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

// env is what every row gets: the options, the built binaries, a scratch
// directory and a logger.
type env struct {
	trials   int
	short    bool
	hwagent  string // the built hwagent binary
	self     string // this program, re-executed as a disk-heartbeat writer
	dir      string
	log      *slog.Logger
	progress io.Writer
	// hbSettings are row 1's keepalive/deadtime pairs.
	hbSettings []hbSetting

	mu    sync.Mutex
	reaps []func()
}

// track registers a kill run at the end of the run whatever happens (each
// must be safe to call when its process is already gone).
func (e *env) track(kill func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.reaps = append(e.reaps, kill)
}

func (e *env) reapAll() {
	e.mu.Lock()
	reaps := e.reaps
	e.reaps = nil
	e.mu.Unlock()
	for _, k := range reaps {
		k()
	}
}

func (e *env) say(format string, args ...any) {
	fmt.Fprintf(e.progress, "compare: "+format+"\n", args...)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rows := fs.String("rows", "1,2,3,4", "rows to run, comma-separated: 1 serial, 2 NIC, 3 fencing, 4 disk heartbeat and poison pill")
	trials := fs.Int("trials", 0, "trials per setting and side (0: 10, or 2 with --short)")
	short := fs.Bool("short", false, "the CI form: few trials and short windows, every row still exercised")
	asJSON := fs.Bool("json", false, "print the run as JSON instead of the table")
	readme := fs.String("readme", "", "also rewrite the generated comparison section of this README")
	hwagent := fs.String("hwagent", "", "the hwagent binary (empty: go build ./cmd/hwagent)")
	verbose := fs.Bool("v", false, "log the stand-ins' events to stderr")
	hbs := fs.String("hb-settings", defaultHBSettings, "row 1's settings, KEEPALIVE/DEADTIME comma-separated (both sides get each)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	settings, err := parseHBSettings(*hbs)
	if err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return errors.New("needs root: the stand-ins are namespaces, ptys, loop devices and daemons that run as root")
	}
	if *trials <= 0 {
		*trials = 10
		if *short {
			*trials = 2
		}
	}
	want := map[string]bool{}
	for _, r := range strings.Split(*rows, ",") {
		r = strings.TrimSpace(r)
		if r != "1" && r != "2" && r != "3" && r != "4" {
			return fmt.Errorf("--rows: %q is not a row (1, 2, 3 or 4)", r)
		}
		want[r] = true
	}
	dir, err := os.MkdirTemp("/var/tmp", "hakit-compare-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	lvl := slog.LevelWarn
	if *verbose {
		lvl = slog.LevelDebug
	}
	e := &env{trials: *trials, short: *short, hbSettings: settings, dir: dir, log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl})), progress: stderr}
	defer e.reapAll()
	if e.self, err = os.Executable(); err != nil {
		return err
	}
	e.hwagent = *hwagent
	if e.hwagent == "" {
		e.hwagent = filepath.Join(dir, "hwagent")
		e.say("building hwagent")
		b := exec.CommandContext(ctx, "go", "build", "-o", e.hwagent, "./cmd/hwagent")
		b.Stdout, b.Stderr = stderr, stderr
		if err := b.Run(); err != nil {
			return fmt.Errorf("go build ./cmd/hwagent (run from the repository's root): %w", err)
		}
	}
	rn := report.Run{Date: time.Now().UTC().Format("2006-01-02 15:04 UTC"), Machine: machine(), Load: loadavg(), Trials: *trials, Short: *short}
	steps := []struct {
		id string
		fn func(context.Context, *env) (report.Row, error)
	}{{"1", serialRow}, {"2", nicRow}, {"3", fenceRow}, {"4", sbdRow}}
	for _, s := range steps {
		if !want[s.id] {
			continue
		}
		start := time.Now()
		row, err := s.fn(ctx, e)
		if err != nil {
			return fmt.Errorf("row %s: %w", s.id, err)
		}
		e.say("row %s done in %v", s.id, time.Since(start).Round(time.Second))
		rn.Rows = append(rn.Rows, row)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rn); err != nil {
			return err
		}
	} else if err := rn.Text(stdout); err != nil {
		return err
	}
	if *readme != "" {
		b, err := os.ReadFile(*readme)
		if err != nil {
			return err
		}
		out, err := report.ReplaceSection(string(b), rn.Markdown())
		if err != nil {
			return fmt.Errorf("%s: %w", *readme, err)
		}
		if err := os.WriteFile(*readme, []byte(out), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// machine is "N-core MODEL, Linux RELEASE".
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	var u syscall.Utsname
	rel := ""
	if syscall.Uname(&u) == nil {
		var b []byte
		for _, c := range u.Release {
			if c == 0 {
				break
			}
			b = append(b, byte(c))
		}
		rel = ", Linux " + string(b)
	}
	return fmt.Sprintf("%d-core %s%s", runtime.NumCPU(), model, rel)
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
