// Package hbcli is the command-line front of serialhb, as a library: the
// agent mounts it as `hwagent hb ...` and its tests call Run directly.
package hbcli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hakit/hakit/internal/cliflag"
	"github.com/hakit/hakit/internal/exitcode"
	"github.com/hakit/hakit/internal/jsonout"
	"github.com/hakit/hakit/serialhb"
)

// ErrUsage wraps errors in the command line (the caller may exit with 2).
var ErrUsage = errors.New("usage")

// ErrPeerNotHeard: status found no peer within its wait; ErrCableLoss: the
// cable test lost or damaged pings. Both come after the report is printed.
var (
	ErrPeerNotHeard = errors.New("peer not heard")
	ErrCableLoss    = errors.New("cable test lost or damaged pings")
)

const usage = `usage: hb <command> [flags]

Heartbeat over a null-modem serial cable (see serialhb/PROTOCOL.md).

commands:
  run        heartbeat with the peer and print every event until interrupted
  status     heartbeat until the peer's state is known, print the status
  cabletest  send a burst of pings: loss, corrupted frames, RTT min/median/max
  ports      list serial ports and USB serial adapters (VID, PID, serial)

Every command takes --json. Run "hb <command> --help" for its flags.
`

// Run runs the command line args (without the program name).
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: no command", ErrUsage)
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	case "run":
		return cmdRun(ctx, args[1:], stdout, stderr)
	case "status":
		return cmdStatus(ctx, args[1:], stdout, stderr)
	case "cabletest":
		return cmdCableTest(ctx, args[1:], stdout, stderr)
	case "ports":
		return cmdPorts(args[1:], stdout, stderr)
	}
	hint := cliflag.CommandHint("hwagent hb", args, []string{"run", "status", "cabletest", "ports"})
	if hint == "" {
		hint = ` (run "hwagent hb --help" for the list)`
	}
	return fmt.Errorf("%w: unknown command %q%s", ErrUsage, args[0], hint)
}

// common holds the flags shared by the commands that open a port.
type common struct {
	fs                                      *flag.FlagSet
	port, keyFile                           string
	baud, cluster, node, peer               int
	keepalive, warntime, deadtime, initdead int
	json, verbose                           bool
	realtime                                int
	kworkerNice                             int
}

func newFlags(name, summary string, stdout io.Writer, withPort bool) *common {
	c := &common{fs: flag.NewFlagSet(name, flag.ContinueOnError)}
	c.fs.SetOutput(stdout)
	c.fs.Usage = func() {
		fmt.Fprintf(stdout, "usage: hb %s [flags]\n\n%s\n\nExamples:\n%s\nFlags:\n", name, summary, hbExamples[name])
		c.fs.PrintDefaults()
		fmt.Fprintf(stdout, "\n%s", exitcode.Help("hwagent hb"))
	}
	c.fs.BoolVar(&c.json, "json", false, "print JSON")
	if !withPort {
		return c
	}
	c.fs.StringVar(&c.port, "port", "", "serial port device, e.g. /dev/ttyS0 (required)")
	c.fs.StringVar(&c.keyFile, "key-file", "", "shared key file, mode 0600, at least 16 bytes (required)")
	c.fs.IntVar(&c.baud, "baud", serialhb.DefaultBaud, "baud rate: 9600, 19200, 38400, 57600 or 115200")
	c.fs.IntVar(&c.cluster, "cluster", 1, "cluster id")
	c.fs.IntVar(&c.node, "node", 1, "this node's id (1..65535)")
	c.fs.IntVar(&c.peer, "peer", 0, "the peer's node id (0: the first heard)")
	c.fs.IntVar(&c.keepalive, "keepalive", 1000, "keepalive in ms (ha.cf)")
	c.fs.IntVar(&c.warntime, "warntime", 0, "warntime in ms (0: deadtime/2)")
	c.fs.IntVar(&c.deadtime, "deadtime", 30000, "deadtime in ms, more than 2 x keepalive")
	c.fs.IntVar(&c.initdead, "initdead", 0, "initdead in ms (0: 2 x deadtime)")
	c.fs.BoolVar(&c.verbose, "v", false, "log to stderr")
	c.fs.IntVar(&c.realtime, "realtime", 0, "run the heartbeat threads at this real-time (SCHED_RR) priority, 1..99, and lock memory, as Heartbeat's realtime on (needs root or CAP_SYS_NICE; 0: off)")
	c.fs.IntVar(&c.kworkerNice, "kworker-nice", 0, "renice the kernel's unbound workqueue workers, which hand received bytes to the reader, to this nice value (-20..-1) while running; with --realtime, 0 means -20 (1: off)")
	return c
}

// parse parses args; errHelp tells the caller to return nil.
func (c *common) parse(args []string) (help bool, err error) {
	pos, err := cliflag.ParseInterleaved(c.fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return true, nil
		}
		return false, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	if len(pos) > 0 {
		return false, fmt.Errorf("%w: unexpected arguments %q", ErrUsage, pos)
	}
	return false, nil
}

// parseRunner parses args and builds the runner; a nil runner with a nil
// error means --help was shown.
func (c *common) parseRunner(args []string, stderr io.Writer) (*serialhb.Runner, error) {
	if help, err := c.parse(args); help || err != nil {
		return nil, err
	}
	return c.runner(stderr)
}

func (c *common) runner(stderr io.Writer) (*serialhb.Runner, error) {
	if c.port == "" {
		return nil, fmt.Errorf("%w: --port is required", ErrUsage)
	}
	if c.keyFile == "" {
		return nil, fmt.Errorf("%w: --key-file is required", ErrUsage)
	}
	if c.node < 1 || c.node > 65535 || c.peer < 0 || c.peer > 65535 || c.cluster < 0 || int64(c.cluster) > 1<<32-1 {
		return nil, fmt.Errorf("%w: --node must be 1..65535, --peer 0..65535, --cluster 0..4294967295", ErrUsage)
	}
	key, err := serialhb.LoadKey(c.keyFile)
	if errors.Is(err, fs.ErrPermission) {
		return nil, fmt.Errorf("%w (the key file is root's, mode 0600: run with sudo)", err)
	}
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.DiscardHandler)
	if c.verbose {
		log = slog.New(slog.NewTextHandler(stderr, nil))
	}
	r, err := serialhb.NewRunner(serialhb.Config{
		Path: c.port,
		Port: serialhb.PortConfig{Baud: c.baud},
		Link: serialhb.LinkConfig{
			Cluster: uint32(c.cluster), Node: uint16(c.node), Peer: uint16(c.peer), Key: key,
			Timers: serialhb.TimersMS(c.keepalive, c.warntime, c.deadtime, c.initdead),
		},
		Realtime:    c.realtime,
		KworkerNice: kworkerNice(c.kworkerNice, c.realtime),
		Logger:      log,
	})
	if err == nil && c.realtime > 0 {
		if lerr := serialhb.LockMemory(); lerr != nil {
			fmt.Fprintf(stderr, "hb: warning: %v: pages may be swapped out under memory pressure\n", lerr)
		}
	}
	return r, err
}

// kworkerNice is --kworker-nice: 0 means -20 with --realtime, 1 off.
func kworkerNice(flag, realtime int) int {
	switch {
	case flag == 0 && realtime > 0:
		return -20
	case flag > 0:
		return 0
	}
	return flag
}

// busyHint adds what to do to a port that another heartbeat holds: on a
// node, that is hwagent.
func busyHint(err error) error {
	if errors.Is(err, serialhb.ErrPortBusy) {
		return fmt.Errorf("%w (while hwagent runs it holds the cable: stop it first, systemctl stop hwagent, or test the cable through the running agents with hwcheck)", err)
	}
	return err
}

func stop(r *serialhb.Runner) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = r.Stop(ctx)
}

// printJSON writes one document (docs/JSON.md); a list is "ports".
func printJSON(w io.Writer, v any) error {
	return jsonout.Document(w, "ports", v)
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newFlags("run", "Heartbeat with the peer and print every event (one JSON object a line with --json).", stdout, true)
	duration := c.fs.Duration("duration", 0, "stop after this long (0: until interrupted)")
	r, err := c.parseRunner(args, stderr)
	if r == nil || err != nil {
		return err
	}
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	events, unsubscribe := r.Subscribe(256)
	defer unsubscribe()
	if err := r.Start(ctx); err != nil {
		return busyHint(err)
	}
	defer stop(r)
	if !c.json {
		fmt.Fprintf(stdout, "node %d on %s, incarnation %d\n", c.node, c.port, r.Incarnation())
	}
	for {
		select {
		case ev := <-events:
			if c.json {
				if err := jsonout.Line(stdout, ev); err != nil {
					return err
				}
			} else {
				fmt.Fprintln(stdout, ev)
			}
		case <-ctx.Done():
			st := r.Status()
			if c.json {
				return printJSON(stdout, st)
			}
			WriteStatus(stdout, st)
			return nil
		}
	}
}

func cmdStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newFlags("status", "Heartbeat until the peer is heard (or --wait passes), then print the link status.", stdout, true)
	wait := c.fs.Duration("wait", 0, "how long to wait for the peer (0: initdead)")
	r, err := c.parseRunner(args, stderr)
	if r == nil || err != nil {
		return err
	}
	if *wait <= 0 {
		*wait = serialhb.TimersMS(c.keepalive, c.warntime, c.deadtime, c.initdead).WithDefaults().Initdead
	}
	ctx, cancel := context.WithTimeout(ctx, *wait)
	defer cancel()
	events, unsubscribe := r.Subscribe(16)
	defer unsubscribe()
	if err := r.Start(ctx); err != nil {
		return busyHint(err)
	}
	defer stop(r)
	// Said with --json too: stderr, so the JSON on stdout stays one document.
	fmt.Fprintf(stderr, "hb: waiting up to %v for the peer on %s (--wait)...\n", *wait, c.port)
wait:
	for {
		select {
		case ev := <-events:
			if ev.Kind == serialhb.EventState && ev.From == serialhb.StateInitDead {
				break wait
			}
		case <-ctx.Done():
			break wait
		}
	}
	st := r.Status()
	if c.json {
		if err := printJSON(stdout, st); err != nil {
			return err
		}
	} else {
		WriteStatus(stdout, st)
	}
	if st.LastHeard.IsZero() {
		return fmt.Errorf("%w within %v on %s", ErrPeerNotHeard, *wait, c.port)
	}
	return nil
}

// WriteStatus prints a heartbeat's status for people, one fact a line
// (hb status, and hwagent heartbeat -v for each cable).
func WriteStatus(w io.Writer, st serialhb.Status) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	heard := "never"
	if !st.LastHeard.IsZero() {
		heard = fmt.Sprintf("%s (%v ago)", st.LastHeard.Format(time.RFC3339Nano), st.Silence.Round(time.Millisecond))
	}
	c := st.Counters
	fmt.Fprintf(tw, "port\t%s (open %v)\n", st.Path, st.PortOpen)
	if st.PortErr != "" {
		fmt.Fprintf(tw, "port error\t%s\n", st.PortErr)
	}
	fmt.Fprintf(tw, "state\t%s since %s\n", st.State, st.Since.Format(time.RFC3339Nano))
	fmt.Fprintf(tw, "cable\t%s\n", st.Cable)
	fmt.Fprintf(tw, "modem\tdsr=%s cts=%s dcd=%s\n", st.Modem.DSR, st.Modem.CTS, st.Modem.DCD)
	fmt.Fprintf(tw, "this node\t%d incarnation %d\n", st.Node, st.Incarnation)
	fmt.Fprintf(tw, "peer\t%d incarnation %d role %s resources %#x\n", st.Peer.Node, st.Peer.Incarnation, st.Peer.State.Role, st.Peer.State.Resources)
	fmt.Fprintf(tw, "last heard\t%s\n", heard)
	fmt.Fprintf(tw, "longest silence\t%v (the peer sent %v apart; the rest was the line and this node)\n", st.MaxSilence.Round(time.Microsecond), st.MaxSilencePeerGap.Round(time.Microsecond))
	fmt.Fprintf(tw, "rtt\tlast %v smoothed %v jitter %v min %v max %v (%d samples)\n", st.RTT.Last, st.RTT.Smoothed, st.RTT.Jitter, st.RTT.Min, st.RTT.Max, st.RTT.Samples)
	fmt.Fprintf(tw, "timers\t%s\n", st.Timers)
	switch {
	case st.Realtime > 0:
		fmt.Fprintf(tw, "scheduling\treal-time SCHED_RR priority %d\n", st.Realtime)
	case st.RealtimeErr != "":
		fmt.Fprintf(tw, "scheduling\tnormal (real-time refused: %s)\n", st.RealtimeErr)
	default:
		fmt.Fprintf(tw, "scheduling\tnormal\n")
	}
	switch {
	case st.KworkerNice < 0:
		fmt.Fprintf(tw, "kernel workers\tunbound kworkers at nice %d\n", st.KworkerNice)
	case st.KworkerErr != "":
		fmt.Fprintf(tw, "kernel workers\tleft at nice 0 (refused: %s)\n", st.KworkerErr)
	}
	fmt.Fprintf(tw, "frames\tsent %d received %d gaps %d duplicates %d replays %d unproven %d restarts %d deaths %d\n", c.Sent, c.Received, c.Gaps, c.Duplicates, c.Replays, c.Unproven, c.Restarts, c.Deaths)
	fmt.Fprintf(tw, "faults\tcrc %d cobs %d malformed %d oversize %d resyncs %d auth %d foreign-cluster %d foreign-node %d\n",
		c.CRCErrors, c.COBSErrors, c.Malformed, c.Oversize, c.Resyncs, c.AuthFailures, c.ForeignCluster, c.ForeignNode)
	tw.Flush()
}

func cmdCableTest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newFlags("cabletest", "Send a burst of pings to the peer (its heartbeat must run) and report loss, corrupted frames and RTT.", stdout, true)
	count := c.fs.Int("count", 100, "pings to send")
	interval := c.fs.Duration("interval", 10*time.Millisecond, "between pings")
	timeout := c.fs.Duration("timeout", time.Second, "wait for the last pong")
	r, err := c.parseRunner(args, stderr)
	if r == nil || err != nil {
		return err
	}
	if *count < 1 || *interval <= 0 || *timeout <= 0 {
		return fmt.Errorf("%w: --count, --interval and --timeout must be positive", ErrUsage)
	}
	if err := r.Start(ctx); err != nil {
		return busyHint(err)
	}
	defer stop(r)
	rep, err := r.CableTest(ctx, serialhb.CableTestConfig{Count: *count, Interval: *interval, Timeout: *timeout})
	if err != nil {
		return err
	}
	if c.json {
		if err := printJSON(stdout, rep); err != nil {
			return err
		}
		return CableVerdict(rep)
	}
	if err := WriteCableReport(stdout, rep); err != nil {
		return err
	}
	return CableVerdict(rep)
}

// WriteCableReport prints a cable test's report for people (hb cabletest,
// and hwagent cabletest through the agent).
func WriteCableReport(w io.Writer, rep serialhb.CableReport) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "port\t%s\n", rep.Port)
	if rep.Member != "" {
		fmt.Fprintf(tw, "member\t%s\n", rep.Member)
	}
	fmt.Fprintf(tw, "pings\tsent %d received %d loss %.1f%%\n", rep.Sent, rep.Received, 100*rep.Loss)
	fmt.Fprintf(tw, "damaged\tcorrupted %d auth-failures %d\n", rep.Corrupted, rep.AuthFail)
	fmt.Fprintf(tw, "rtt\tmin %v median %v max %v\n", rep.RTTMin, rep.RTTMedian, rep.RTTMax)
	fmt.Fprintf(tw, "modem\tdsr=%s cts=%s dcd=%s\n", rep.Modem.DSR, rep.Modem.CTS, rep.Modem.DCD)
	fmt.Fprintf(tw, "cable\t%s\n", rep.Cable)
	return tw.Flush()
}

// CableVerdict is the cable test's result as an error wrapping
// ErrCableLoss: nil only when every ping came back undamaged.
func CableVerdict(rep serialhb.CableReport) error {
	if rep.Received < rep.Sent || rep.Corrupted > 0 || rep.AuthFail > 0 {
		return fmt.Errorf("%w on %s: %d of %d pings answered, %d corrupted, %d failed authentication", ErrCableLoss, rep.Name(), rep.Received, rep.Sent, rep.Corrupted, rep.AuthFail)
	}
	return nil
}

func cmdPorts(args []string, stdout, stderr io.Writer) error {
	c := newFlags("ports", "List the serial ports of this machine, with USB adapter details.", stdout, false)
	if help, err := c.parse(args); help || err != nil {
		return err
	}
	ports, err := serialhb.ListPorts()
	if err != nil {
		return err
	}
	if c.json {
		if ports == nil {
			ports = []serialhb.PortInfo{}
		}
		return printJSON(stdout, ports)
	}
	if len(ports) == 0 {
		fmt.Fprintln(stdout, "no serial ports found")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PORT\tUSB\tVID:PID\tSERIAL\tPRODUCT\tBY-ID")
	for _, p := range ports {
		id := "-"
		if p.USB {
			id = strings.ToLower(p.VID + ":" + p.PID)
		}
		fmt.Fprintf(tw, "%s\t%v\t%s\t%s\t%s\t%s\n", p.Name, p.USB, id, dash(p.Serial), dash(p.Product), dash(p.ByID))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// hbExamples is the Examples section of each hb command's help.
var hbExamples = map[string]string{
	"run":       "  hwagent hb run --port /dev/ttyS0 --key-file /etc/hakit/hb.key --node 1\n",
	"status":    "  hwagent hb status --port /dev/ttyS0 --key-file /etc/hakit/hb.key --node 1 --wait 10s\n",
	"cabletest": "  hwagent hb cabletest --port /dev/ttyS0 --key-file /etc/hakit/hb.key --node 1 --count 200\n",
	"ports":     "  hwagent hb ports\n  hwagent hb ports --json\n",
}
