// Package sbdcli is the field command line for SBD devices, with sbd's
// verbs: hwagent sbd -d DEV create|dump|list|allocate NODE|message NODE
// MSG|watch. It reads and writes the same device as ClusterLabs' sbd 1.5.2.
package sbdcli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/hakit/hakit/blockio"
	"github.com/hakit/hakit/internal/cliflag"
	"github.com/hakit/hakit/internal/exitcode"
	"github.com/hakit/hakit/internal/jsonout"
	"github.com/hakit/hakit/sbd"
)

// Opener opens a device for sector I/O.
type Opener func(ctx context.Context, device, initiator string) (blockio.SectorCloser, error)

// Runner runs the command line; the zero value opens real devices.
type Runner struct {
	Open Opener
	// Sleep replaces the waits (allocate, msgwait, the watch loop); nil
	// means real time.
	Sleep func(ctx context.Context, d time.Duration) error
}

// UsageError is a command line that cannot run.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usagef(format string, args ...any) error { return &UsageError{Msg: fmt.Sprintf(format, args...)} }

const usage = `usage: sbd -d DEVICE [flags] <command> [args]

Reads and writes an SBD device (ClusterLabs sbd 1.5.2 format) as sbd does,
on /dev/sdX, /dev/loopN (O_DIRECT) or iscsi://host[:port]/target-iqn/lun
(READ(16)/WRITE(16) with FUA).

Commands:
  create               write a new header (-1 -2 -3 -4 timeouts) and empty 255 slots
  dump                 print the header
  list                 print the allocated slots and their messages
  allocate NODE        give NODE a slot (waits the allocate timeout)
  message NODE MSG     write test|reset|off|clear|exit|crashdump into NODE's slot,
                       then wait msgwait (not for exit), as sbd does
  watch                watch this node's slot (-n): answer test, report a poison
                       pill and exit 3 (the agent fences; this tool does not)

Examples:
  hwagent sbd -d /dev/disk/by-id/scsi-SBD create
  hwagent sbd -d /dev/disk/by-id/scsi-SBD list
  hwagent sbd -d /dev/disk/by-id/scsi-SBD -n node-a message node-b test

Flags:
`

// Run runs one command line.
func (r Runner) Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sbd", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dev := fs.String("d", "", "the SBD device (required)")
	host, _ := os.Hostname()
	name := fs.String("n", host, "this node's name (the sender of messages, the slot watch uses)")
	wd := fs.Uint("1", 5, "create: watchdog timeout (s)")
	alloc := fs.Uint("2", 2, "create: allocate timeout (s)")
	loop := fs.Uint("3", 1, "create: loop timeout (s)")
	msgwait := fs.Uint("4", 0, "create: msgwait timeout (s); 0 means twice the watchdog timeout")
	asJSON := fs.Bool("json", false, "dump, list: print JSON")
	initiator := fs.String("initiator", "iqn.2026-11.io.hakit:sbd", "iSCSI initiator name (iscsi:// devices)")
	timeout := fs.Duration("timeout", 0, "deadline of the whole command (0: none for watch and message, else 30s)")
	once := fs.Bool("once", false, "watch: check the slot once and exit")
	pos, err := cliflag.ParseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) || (len(pos) > 0 && pos[0] == "help") {
		fmt.Fprint(stdout, usage)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		fmt.Fprintf(stdout, "\n%s", exitcode.Help("hwagent sbd"))
		return nil
	}
	if err != nil {
		return usagef("sbd: %v", err)
	}
	if len(pos) == 0 {
		return usagef("sbd: no command (run \"sbd --help\")")
	}
	if *dev == "" {
		return usagef("sbd: -d DEVICE is required")
	}
	want := map[string]int{"create": 1, "dump": 1, "list": 1, "allocate": 2, "message": 3, "watch": 1}
	n, ok := want[pos[0]]
	if !ok {
		return usagef("sbd: unknown command %q%s", pos[0], cliflag.DidYouMean(pos[0], []string{"create", "dump", "list", "allocate", "message", "watch"}))
	}
	if len(pos) != n {
		return usagef("sbd: %s wants %d argument(s), got %d", pos[0], n-1, len(pos)-1)
	}
	if *timeout == 0 && pos[0] != "watch" && pos[0] != "message" {
		*timeout = 30 * time.Second
	}
	if *timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *timeout)
		defer cancel()
	}
	open := r.Open
	if open == nil {
		open = sbd.Open
	}
	s, err := open(ctx, *dev, *initiator)
	if err != nil {
		return fmt.Errorf("cannot open %s: %w", *dev, err)
	}
	defer s.Close()
	d := &sbd.Disk{Sectors: s, Name: *dev, Sleep: r.Sleep}
	emit := func(v any, text func()) error {
		if *asJSON {
			return jsonout.Document(stdout, "slots", v)
		}
		text()
		return nil
	}
	switch pos[0] {
	case "create":
		h := sbd.DefaultHeader(s.SectorSize())
		h.Watchdog, h.Allocate, h.Loop, h.Msgwait = uint32(*wd), uint32(*alloc), uint32(*loop), uint32(*msgwait)
		if h.Msgwait == 0 {
			h.Msgwait = 2 * h.Watchdog
		}
		if _, err := newUUID(h.UUID[:]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Creating version %d.%d header on device %s (uuid: %s)\n", h.Version, h.MinorVersion, *dev, h.UUIDString())
		if err := d.Create(ctx, h); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Initializing %d slots on device %s\nDevice %s is initialized.\n", h.Slots, *dev, *dev)
		return nil
	case "dump":
		h, err := d.Header(ctx)
		if err != nil {
			return err
		}
		return emit(struct {
			sbd.Header
			UUID string
		}{h, h.UUIDString()}, func() {
			fmt.Fprintf(stdout, "==Dumping header on disk %s\n", *dev)
			fmt.Fprintf(stdout, "Header version     : %d.%d\n", h.Version, h.MinorVersion)
			if h.MinorVersion > 0 {
				fmt.Fprintf(stdout, "UUID               : %s\n", h.UUIDString())
			}
			fmt.Fprintf(stdout, "Number of slots    : %d\nSector size        : %d\nTimeout (watchdog) : %d\nTimeout (allocate) : %d\nTimeout (loop)     : %d\nTimeout (msgwait)  : %d\n",
				h.Slots, h.SectorSize, h.Watchdog, h.Allocate, h.Loop, h.Msgwait)
			fmt.Fprintf(stdout, "==Header on disk %s is dumped\n", *dev)
		})
	case "list":
		h, err := d.Header(ctx)
		if err != nil {
			return err
		}
		slots, err := d.Slots(ctx, h)
		if err != nil {
			return err
		}
		type row struct {
			Slot    int    `json:"slot"`
			Node    string `json:"node"`
			Message string `json:"message"`
			From    string `json:"from"`
		}
		rows := []row{}
		for _, s := range slots {
			rows = append(rows, row{s.Index, s.Node.Name, s.Mailbox.Msg.String(), s.Mailbox.From})
		}
		return emit(rows, func() {
			for _, r := range rows {
				fmt.Fprintf(stdout, "%d\t%s\t%s\t%s\n", r.Slot, r.Node, r.Message, r.From)
			}
		})
	case "allocate":
		slot, allocated, err := d.Allocate(ctx, pos[1])
		if err != nil {
			return err
		}
		if allocated {
			fmt.Fprintf(stdout, "Slot %d for %s has been allocated on %s.\n", slot, pos[1], *dev)
		} else {
			fmt.Fprintf(stdout, "Slot %d already belongs to %s on %s.\n", slot, pos[1], *dev)
		}
		return nil
	case "message":
		m, err := sbd.ParseMessage(pos[2])
		if err != nil {
			return usagef("%v", err)
		}
		slot, err := d.Message(ctx, pos[1], m, *name)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s successfully delivered to %s (slot %d) on %s\n", m, pos[1], slot, *dev)
		return nil
	}
	return r.watch(ctx, d, *name, *once, stdout)
}

// ExitCode: 0 success, 2 usage (as every hakit command), 3 a poison pill received by watch, 4 the
// device is not an SBD device, 99 other errors.
func ExitCode(err error) int {
	var ue *UsageError
	var pe *sbd.PoisonError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		return 2
	case errors.As(err, &pe):
		return 3
	case errors.Is(err, sbd.ErrNoHeader):
		return 4
	}
	return 99
}

func (r Runner) watch(ctx context.Context, d *sbd.Disk, name string, once bool, stdout io.Writer) error {
	w := &sbd.Watcher{Disk: d, Name: name}
	h, slot, err := w.Start(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Monitoring slot %d (%s) on %s every %ds\n", slot, name, d.Name, h.Loop)
	sleep := r.Sleep
	if sleep == nil {
		sleep = (&sbd.Disk{}).Wait
	}
	for {
		m, err := w.Check(ctx)
		if m.Msg != sbd.MsgClear {
			fmt.Fprintf(stdout, "Received command %s from %s on disk %s\n", m.Msg, m.From, d.Name)
		}
		if err != nil || once {
			return err
		}
		if err := sleep(ctx, time.Duration(h.Loop)*time.Second); err != nil {
			return err
		}
	}
}
