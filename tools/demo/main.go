//go:build linux

// Command demo builds hakit's two-node rig on this machine (node A and node
// B: their initiator names, one shared iSCSI LUN, a null-modem cable of
// pseudo-terminals and a veth heartbeat link between two network namespaces),
// prints what it set up, exercises each part once, and tears everything down
// on exit or Ctrl-C.
//
// Usage: demo [--hold] [--size BYTES]   (needs root; make demo runs it)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/hakit/hakit/internal/rig"
	"github.com/hakit/hakit/tools/demo/rigdemo"
	"golang.org/x/sys/unix"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

const (
	iqnA = "iqn.2026-11.io.hakit:node-a"
	iqnB = "iqn.2026-11.io.hakit:node-b"
)

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	hold := fs.Bool("hold", false, "keep the rig up until Ctrl-C (default: show it, exercise it, tear it down)")
	size := fs.Int64("size", 64<<20, "size of the shared LUN in bytes")
	verbose := fs.Bool("v", false, "log the rig's actions")
	rigOnly := fs.Bool("rig-only", false, "only build and exercise the rig; do not run the agents, hwcheck and the fencing sequence")
	raidA := fs.String("raid-a", "fixtures/raid/ipssend/synthetic__getconfig-1-AL-cluster-A.txt", "saved ipssend GETCONFIG output for node A's RAID controller")
	raidB := fs.String("raid-b", "fixtures/raid/ipssend/synthetic__getconfig-1-AL-cluster-B.txt", "saved ipssend GETCONFIG output for node B's RAID controller")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: demo [flags]\n\nBuilds hakit's two-node rig (shared iSCSI LUN on tgtd, serial null-modem cable\nof ptys, veth heartbeat link between two namespaces), shows it, exercises it,\nthen runs hwagent for node A and node B on it, runs hwcheck, pulls the serial\ncable, sets the heartbeat link down and fences node A from node B, showing\neach event; then removes everything. Needs root, tgt, iproute2.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("needs root (network namespaces); run: sudo make demo")
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	disk, err := rig.StartDisk(ctx, rig.DiskConfig{Size: *size, Initiators: []string{iqnA, iqnB}, Logger: log})
	if err != nil {
		return err
	}
	defer disk.Close()
	cable, err := rig.NewCable(rig.CableConfig{Logger: log})
	if err != nil {
		return err
	}
	defer cable.Close()
	nw, err := rig.NewNet(ctx, rig.NetConfig{Logger: log})
	if err != nil {
		return err
	}
	defer nw.Close()

	fmt.Fprintf(stdout, "hakit two-node rig\n\n")
	fmt.Fprintf(stdout, "shared disk   %s (tgtd pid %d, %d MiB sparse file %s)\n", disk.URL(), disk.PID(), disk.Size()>>20, disk.BackingFile())
	for _, n := range []struct {
		name string
		side rig.Side
		iqn  string
	}{{"node A", rig.A, iqnA}, {"node B", rig.B, iqnB}} {
		fmt.Fprintf(stdout, "%s        initiator %s\n", n.name, n.iqn)
		fmt.Fprintf(stdout, "              serial    %s -> %s\n", cable.Path(n.side), cable.PTS(n.side))
		fmt.Fprintf(stdout, "              netns     %s, %s %s\n", nw.Namespace(n.side), nw.Interface(n.side), nw.Addr(n.side))
	}
	fmt.Fprintln(stdout)

	if err := exercise(ctx, stdout, disk, cable, nw); err != nil {
		return err
	}
	if !*rigOnly {
		r := rigdemo.Rig{Disk: disk, Cable: cable, Net: nw, IQNA: iqnA, IQNB: iqnB, RAIDTool: "ipssend",
			RAIDFiles: [2]string{*raidA, *raidB}}
		if err := rigdemo.RunDemo(ctx, stdout, r, log); err != nil {
			return err
		}
	}
	if *hold {
		fmt.Fprintln(stdout, "\nrig is up; press Ctrl-C to tear it down")
		<-ctx.Done()
	}
	fmt.Fprintln(stdout, "\ntearing down")
	return nil
}

// exercise shows each part working once.
func exercise(ctx context.Context, w io.Writer, disk *rig.Disk, cable *rig.Cable, nw *rig.Net) error {
	// Disk: both initiators see the same LUN.
	if _, err := exec.LookPath("iscsi-inq"); err == nil {
		for _, iqn := range []string{iqnA, iqnB} {
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			out, err := exec.CommandContext(cctx, "iscsi-inq", "-i", iqn, "-e", "1", "-c", "131", disk.URL()).CombinedOutput()
			cancel()
			if err != nil {
				return fmt.Errorf("iscsi-inq as %s: %v: %s", iqn, err, out)
			}
			fmt.Fprintf(w, "disk    %s sees: %s\n", iqn, firstDesignator(string(out)))
		}
	}

	// Serial: bytes cross, and stop when the cable is cut.
	a, err := openTTY(cable.PathA())
	if err != nil {
		return err
	}
	defer a.Close()
	b, err := openTTY(cable.PathB())
	if err != nil {
		return err
	}
	defer b.Close()
	got, err := roundTrip(a, b, "ping from A")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "serial  A wrote %q, B read %q\n", "ping from A", got)
	cable.Cut()
	got, _ = roundTrip(a, b, "lost")
	fmt.Fprintf(w, "serial  cable cut: B read %q (%d bytes lost)\n", got, cable.Stats().Lost[rig.A])
	cable.Reconnect()

	// Net: carrier of A follows B's admin state.
	show := func(label string) error {
		out, err := nw.Command(ctx, rig.A, "cat", "/sys/class/net/"+nw.Interface(rig.A)+"/carrier", "/sys/class/net/"+nw.Interface(rig.A)+"/operstate").Output()
		if err != nil {
			return fmt.Errorf("read carrier: %w", err)
		}
		f := strings.Fields(string(out))
		fmt.Fprintf(w, "link    %-22s A carrier=%s operstate=%s\n", label, f[0], f[1])
		return nil
	}
	if err := show("both ends up:"); err != nil {
		return err
	}
	if err := nw.SetLink(ctx, rig.B, false); err != nil {
		return err
	}
	time.Sleep(50 * time.Millisecond)
	if err := show("B set down:"); err != nil {
		return err
	}
	if err := nw.SetLink(ctx, rig.B, true); err != nil {
		return err
	}
	time.Sleep(50 * time.Millisecond)
	return show("B set up again:")
}

func firstDesignator(out string) string {
	var last string
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "Designator:[") && strings.TrimSpace(strings.Trim(strings.TrimPrefix(l, "Designator:"), "[]")) != "" {
			last = "VPD 0x83 " + l
		}
	}
	if last == "" {
		return "(no printable designator)"
	}
	return last
}

func openTTY(path string) (*os.File, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return os.NewFile(uintptr(fd), path), nil
}

func roundTrip(from, to *os.File, msg string) (string, error) {
	if _, err := from.Write([]byte(msg)); err != nil {
		return "", err
	}
	buf := make([]byte, 0, len(msg))
	tmp := make([]byte, 64)
	deadline := time.Now().Add(300 * time.Millisecond)
	for len(buf) < len(msg) {
		_ = to.SetReadDeadline(deadline)
		n, err := to.Read(tmp)
		buf = append(buf, tmp[:n]...)
		if err != nil {
			break
		}
	}
	return string(buf), nil
}
