// Package diskcli is the field command line for shared disks: identify a
// LUN, read and change its persistent reservations, fence a peer, reset
// it. A front end (hwagent disk ...) calls Run with its arguments.
//
// A device is /dev/sdX or /dev/sgN (Linux SG_IO) or an iSCSI URL in
// libiscsi's form, iscsi://[user[%password]@]host[:port]/target-iqn/lun.
// Output reads like sg_persist's; --json prints one JSON object instead.
package diskcli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/hakit/hakit/internal/cliflag"
	"github.com/hakit/hakit/internal/exitcode"
	"github.com/hakit/hakit/scsi"
	"github.com/hakit/hakit/scsi/iscsi"
	"github.com/hakit/hakit/scsi/opener"
)

// Opener opens a device for one command. The returned closer ends the
// session or closes the file.
type Opener func(ctx context.Context, device string, o OpenOptions) (scsi.Transport, io.Closer, error)

// OpenOptions are the options of the command line that concern opening.
type OpenOptions struct {
	// Initiator is the iSCSI initiator name (iscsi:// devices).
	Initiator string
	// ISID is the iSCSI session's ISID; zero means the command line's own
	// (iscsi.DerivedISID with iscsi.ISIDTool), so that it never ends the
	// running hwagent's session to the same target.
	ISID   [6]byte
	Logger *slog.Logger
}

// Runner runs the command line. The zero value opens real devices.
type Runner struct {
	// Open opens devices; nil means OpenDevice.
	Open Opener
	// Discover runs an iSCSI SendTargets discovery; nil means
	// iscsi.Discover.
	Discover func(ctx context.Context, portal iscsi.URL, cfg iscsi.Config) ([]iscsi.Target, error)
	// Stdin is write's data; nil means os.Stdin.
	Stdin io.Reader
}

// Run runs the command line with real devices: Runner{}.Run.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return Runner{}.Run(ctx, args, stdout, stderr)
}

// UsageError is a command line that cannot run: unknown command, bad flag,
// missing device or key.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usagef(format string, args ...any) error { return &UsageError{Msg: fmt.Sprintf(format, args...)} }

// DeviceError is a device that could not be opened.
type DeviceError struct {
	Device string
	Err    error
}

func (e *DeviceError) Error() string {
	hint := ""
	if errors.Is(e.Err, iscsi.ErrTargetNotFound) || errors.Is(e.Err, iscsi.ErrNotAuthorized) {
		hint = " (give --initiator with a name the target's ACL allows, as disks[].initiator of hwagent.yaml)"
	}
	if msg := e.Err.Error(); strings.Contains(msg, e.Device) {
		return "cannot open device: " + msg + hint // the cause names the device already
	}
	return fmt.Sprintf("cannot open device %s: %v%s", e.Device, e.Err, hint)
}

func (e *DeviceError) Unwrap() error { return e.Err }

// meansSomething reports a unit attention worth a line without -v: the
// reservations or registrations changed under this node (ASC 0x2A with
// ASCQ 03 reservations preempted, 04 released, 05 registrations
// preempted). Power-on, reset and bus-device notices are routine on every
// new session and are shown with -v only.
func meansSomething(s scsi.Sense) bool {
	return s.ASC == 0x2a && s.ASCQ >= 0x03 && s.ASCQ <= 0x05
}

// ExitCode maps Run's error to a process exit status, as sg3_utils does:
// 0 success, 1 usage, 2 not ready, 5 illegal request, 6 unit attention,
// 15 device cannot be opened, 24 reservation conflict, 67 timeout, 99
// other errors.
func ExitCode(err error) int {
	var ue *UsageError
	var de *DeviceError
	var nr *NotRegisteredError
	var re *scsi.RegionError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &re):
		return 1
	case errors.As(err, &nr):
		return 2
	case errors.As(err, &ue):
		return 1
	case errors.As(err, &de):
		return 15
	case errors.Is(err, scsi.ErrReservationConflict):
		return 24
	case errors.Is(err, scsi.ErrUnitAttention):
		return 6
	case errors.Is(err, scsi.ErrNotReady):
		return 2
	case errors.Is(err, scsi.ErrIllegalRequest):
		return 5
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return 67
	}
	return 99
}

// OpenDevice opens /dev/... with SG_IO and iscsi://... with the userspace
// initiator (scsi/opener.Open).
func OpenDevice(ctx context.Context, device string, o OpenOptions) (scsi.Transport, io.Closer, error) {
	return opener.Open(ctx, device, opener.Options{Initiator: o.Initiator, ISID: o.ISID, Logger: o.Logger})
}

// defaultInitiator is open-iscsi's initiator name when the file exists,
// else one derived from the host name.
func defaultInitiator() string {
	if b, err := os.ReadFile("/etc/iscsi/initiatorname.iscsi"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "InitiatorName="); ok && v != "" {
				return v
			}
		}
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown"
	}
	return "iqn.2026-11.io.hakit:" + strings.ToLower(host)
}

// command is one subcommand.
type command struct {
	name, args, short, long string
	// needsKey: the command acts with this node's key.
	needsKey bool
	run      func(ctx context.Context, e *env) error
}

// env is what a command runs with.
type env struct {
	out     io.Writer
	json    bool
	device  string
	owner   *scsi.Owner // nil when no key is known
	dev     *scsi.Device
	opts    *options
	tr      scsi.Transport
	cluster string
	stdin   io.Reader
}

type options struct {
	json      bool
	verbose   bool
	key       string
	cluster   string
	node      int
	nodeName  string
	layout    string
	typ       string
	initiator string
	timeout   time.Duration
	victim    string
	level     string
	yes       bool
	aptpl     bool
	asAgent   bool
	noAbort   bool
	blocks    blockFlags
}

func commonFlags(fs *flag.FlagSet, o *options) {
	fs.BoolVar(&o.json, "json", false, "print one JSON object instead of text")
	fs.BoolVar(&o.verbose, "v", false, "log each SCSI step to stderr")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "deadline of the whole command")
	fs.StringVar(&o.initiator, "initiator", "", "iSCSI initiator name (default: /etc/iscsi/initiatorname.iscsi, else iqn.2026-11.io.hakit:<hostname>)")
	fs.StringVar(&o.key, "key", "", "this node's reservation key in hex (e.g. 0x686b8ed3f6ad0001)")
	fs.StringVar(&o.cluster, "cluster", "", "cluster id: with --node, derives this node's key")
	fs.IntVar(&o.node, "node", 0, "this node's id (1-65535; fence_scsi layout: position 1-9999)")
	fs.StringVar(&o.nodeName, "node-name", "", "node name, for --layout fence_scsi-hash")
	fs.StringVar(&o.layout, "layout", "hakit", "key layout with --cluster: hakit, fence_scsi or fence_scsi-hash")
	fs.StringVar(&o.typ, "type", "we-ro", "reservation type: we, ea, we-ro, ea-ro, we-ar, ea-ar (or 1, 3, 5-8)")
	fs.BoolVar(&o.asAgent, "as-agent", false, "iSCSI: log in with the node's own ISID, the I_T nexus that carries hwagent's registration (only while no hwagent runs: the login ends its session); default: the command line's own ISID")
}

// key resolves this node's key from the flags; 0 when none was given.
func (o *options) ownKey() (scsi.Key, error) {
	switch {
	case o.key != "" && o.cluster != "":
		return 0, usagef("give --key or --cluster/--node, not both")
	case o.key != "":
		k, err := scsi.ParseKey(o.key)
		if err != nil {
			return 0, usagef("--key: %v", err)
		}
		if k == 0 {
			return 0, usagef("--key: 0 is not a valid reservation key")
		}
		return k, nil
	case o.cluster == "" || (o.node == 0 && o.nodeName == ""):
		// A cluster alone only labels the keys.
		return 0, nil
	}
	var k scsi.Key
	var err error
	switch o.layout {
	case "hakit":
		k, err = scsi.NodeKey(o.cluster, o.node)
	case "fence_scsi":
		k, err = scsi.FenceSCSIKey(o.cluster, o.node)
	case "fence_scsi-hash":
		k, err = scsi.FenceSCSIHashKey(o.cluster, o.nodeName)
	default:
		return 0, usagef("--layout %q: want hakit, fence_scsi or fence_scsi-hash", o.layout)
	}
	if err != nil {
		return 0, usagef("%v", err)
	}
	return k, nil
}

const overview = `usage: disk <command> [flags] <device>

Reads and changes the ownership of a shared disk with SCSI persistent
reservations (SPC-4) or SCSI-2 reserve/release.

A device is /dev/sdX or /dev/sgN (Linux SG_IO, needs root) or an iSCSI LUN:
iscsi://[user[%%password]@]host[:port]/target-iqn/lun

Commands:
%s
This node's key comes from --key, or from --cluster and --node by hakit's
rule ("hk", 4 bytes of SHA-256 of the cluster id, the node id), or by
fence_scsi's (--layout fence_scsi or fence_scsi-hash) to work beside it.

Exit status (as sg3_utils): 0 success, 1 usage, 2 not ready, 5 illegal
request, 6 unit attention, 15 device cannot be opened, 24 reservation
conflict, 67 timeout, 99 other. status: 0 this node is registered, 2 not.

Run "disk <command> --help" for its flags.
`

// Run runs one command line. --help (or "help") prints the overview to
// stdout and returns nil.
func (r Runner) Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmds := commands()
	if len(args) == 0 || args[0] == "help" || args[0] == "--help" || args[0] == "-h" || args[0] == "-help" {
		if len(args) > 1 {
			args = []string{args[1], "--help"}
		} else {
			var list strings.Builder
			for _, c := range cmds {
				fmt.Fprintf(&list, "  %-12s %s\n", c.name, c.short)
			}
			fmt.Fprintf(stdout, overview, list.String())
			if len(args) == 0 {
				return usagef("no command given")
			}
			return nil
		}
	}
	var cmd *command
	for i := range cmds {
		if cmds[i].name == args[0] {
			cmd = &cmds[i]
		}
	}
	if cmd == nil {
		names := make([]string, len(cmds))
		for i, c := range cmds {
			names[i] = c.name
		}
		hint := cliflag.CommandHint("hwagent disk", args, names)
		if hint == "" {
			hint = ` (run "hwagent disk --help" for the list)`
		}
		return usagef("unknown command %q%s", args[0], hint)
	}
	o := &options{}
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	commonFlags(fs, o)
	switch cmd.name {
	case "preempt", "fence":
		fs.StringVar(&o.victim, "victim", "", "key of the node to fence (required; also accepted as a second argument)")
		fs.BoolVar(&o.noAbort, "allow-preempt-without-abort", false, "when the target refuses PREEMPT AND ABORT, fence with PREEMPT, which does not abort the victim's queued writes")
	case "reset":
		fs.StringVar(&o.level, "level", "lun", "reset scope: lun, target or bus")
	case "clear":
		fs.BoolVar(&o.yes, "yes", false, "confirm: CLEAR removes every node's registration and the reservation")
	case "read", "write":
		fs.Uint64Var(&o.blocks.lba, "lba", 0, "first logical block")
		fs.Uint64Var(&o.blocks.count, "count", 1, "number of blocks")
		fs.BoolVar(&o.blocks.noFUA, "no-fua", false, "clear FUA (default: set, so the medium is read or written, not a cache)")
		if cmd.name == "write" {
			fs.Uint64Var(&o.blocks.regionStart, "region-start", 0, "first block of the region this write may touch")
			fs.Uint64Var(&o.blocks.regionLen, "region-len", 0, "blocks in that region (required: the consent to overwrite them)")
			fs.StringVar(&o.blocks.pattern, "pattern", "", "write this byte (e.g. 0xa5) in every position instead of reading stdin")
		}
	case "register":
		fs.BoolVar(&o.aptpl, "aptpl", false, "ask the target to keep the registration through power loss")
	}
	pos, err := cliflag.ParseInterleaved(fs, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(stdout, "usage: disk %s [flags] %s\n\n%s\n", cmd.name, cmd.args, cmd.long)
		if ex := diskExamples(cmd.name); ex != "" {
			fmt.Fprintf(stdout, "\nExamples:\n%s", ex)
		}
		fmt.Fprint(stdout, "\nFlags:\n")
		printOwnFlags(stdout, fs, cmd)
		fmt.Fprintf(stdout, "\n%s", exitcode.Help("hwagent disk"))
		return nil
	}
	if err != nil {
		return usagef("%s: %v", cmd.name, err)
	}
	if (cmd.name == "preempt" || cmd.name == "fence") && o.victim == "" && len(pos) == 2 {
		o.victim, pos = pos[1], pos[:1]
	}
	if len(pos) != 1 {
		return usagef("%s: want one device, got %d arguments (usage: disk %s [flags] %s)", cmd.name, len(pos), cmd.name, cmd.args)
	}
	key, err := o.ownKey()
	if err != nil {
		return err
	}
	if cmd.needsKey && key == 0 {
		return usagef("%s: needs this node's key: --key 0x... or --cluster ID --node N", cmd.name)
	}
	typ, err := scsi.ParseReservationType(o.typ)
	if err != nil {
		return usagef("--type: %v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if o.verbose {
		log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if o.initiator == "" {
		o.initiator = defaultInitiator()
	}
	if cmd.name == "discover" {
		return r.discover(ctx, pos[0], o, log, stdout)
	}
	open := r.Open
	if open == nil {
		open = OpenDevice
	}
	device := pos[0]
	oo := OpenOptions{Initiator: o.initiator, Logger: log}
	if o.asAgent {
		oo.ISID = iscsi.DefaultISID(o.initiator)
	}
	tr, closer, err := open(ctx, device, oo)
	if err != nil {
		return &DeviceError{Device: device, Err: err}
	}
	defer closer.Close()
	stdin := r.Stdin
	if stdin == nil {
		stdin = os.Stdin
	}
	e := &env{out: stdout, json: o.json, device: device, opts: o, tr: tr, cluster: o.cluster, stdin: stdin,
		dev: &scsi.Device{Transport: tr, Name: device, UnitAttentionRetries: 8, TransportRetries: 2,
			OnUnitAttention: func(s scsi.Sense) {
				if o.verbose || meansSomething(s) {
					fmt.Fprintf(stderr, "note: %s: %s (absorbed)\n", device, s)
				}
			}}}
	if key != 0 {
		e.owner, err = scsi.NewOwner(scsi.OwnerConfig{Transport: tr, Name: device, Key: key, Type: typ, APTPL: o.aptpl, AllowPreemptWithoutAbort: o.noAbort, Logger: log})
		if err != nil {
			return usagef("%v", err)
		}
	}
	return cmd.run(ctx, e)
}

// keyFlags are the flags that name this node's key; typeFlag the
// reservation type. A command's help lists them only where they act.
var keyFlags = map[string]bool{"key": true, "cluster": true, "node": true, "node-name": true, "layout": true}

// printOwnFlags prints the flags cmd uses: the key flags for the commands
// that act with a key or mark it (keys, reservation), the type for those
// that reserve, release or fence; every flag is still accepted.
func printOwnFlags(w io.Writer, fs *flag.FlagSet, cmd *command) {
	marks := cmd.name == "keys" || cmd.name == "reservation"
	own := flag.NewFlagSet(fs.Name(), flag.ContinueOnError)
	fs.VisitAll(func(f *flag.Flag) {
		switch {
		case keyFlags[f.Name] && !cmd.needsKey && !marks:
		case f.Name == "type" && !cmd.needsKey:
		default:
			own.Var(f.Value, f.Name, f.Usage)
		}
	})
	own.SetOutput(w)
	own.PrintDefaults()
}

// diskExamples is the Examples section of each disk command's help.
func diskExamples(name string) string {
	return map[string]string{
		"identify":    "  hwagent disk identify /dev/sdb\n  hwagent disk identify iscsi://192.0.2.10/iqn.2001-04.com.example:shared/1 --json\n",
		"keys":        "  hwagent disk keys /dev/sdb\n  hwagent disk keys /dev/sdb --cluster 42 --node 1    # marks this node's key\n",
		"reservation": "  hwagent disk reservation /dev/sdb\n",
		"status":      "  hwagent disk status /dev/sdb --cluster 42 --node 1\n  hwagent disk status /dev/sdb --key 0x686b8ed3f6ad0001 --json\n",
		"register":    "  hwagent disk register /dev/sdb --cluster 42 --node 1\n",
		"unregister":  "  hwagent disk unregister /dev/sdb --cluster 42 --node 1\n",
		"reserve":     "  hwagent disk reserve /dev/sdb --cluster 42 --node 1\n  hwagent disk reserve /dev/sdb --cluster 42 --node 1 --type ea-ro\n",
		"release":     "  hwagent disk release /dev/sdb --cluster 42 --node 1\n",
		"preempt":     "  hwagent disk preempt /dev/sdb 0x686b8ed3f6ad0002 --cluster 42 --node 1\n",
		"fence":       "  hwagent disk fence /dev/sdb --victim 0x686b8ed3f6ad0002 --cluster 42 --node 1\n",
		"unfence":     "  hwagent disk unfence /dev/sdb --cluster 42 --node 1\n",
		"clear":       "  hwagent disk clear /dev/sdb --cluster 42 --node 1 --yes\n",
		"discover":    "  hwagent disk discover iscsi://192.0.2.10 --initiator iqn.2026-01.com.example:node-a\n",
		"read":        "  hwagent disk read /dev/sdb --lba 0 --count 1 | xxd | head\n",
		"write":       "  hwagent disk write /dev/sdb --lba 2048 --count 1 --region-start 2048 --region-len 8 --pattern 0xa5\n",
		"reset":       "  hwagent disk reset /dev/sdb --level lun\n",
	}[name]
}

// CommandNames are the disk subcommands, in the order of the help.
func CommandNames() []string {
	var names []string
	for _, c := range commands() {
		names = append(names, c.name)
	}
	return names
}
