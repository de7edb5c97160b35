// Command lab boots the two-node QEMU lab and runs its acceptance scenarios
// against real guest kernel drivers, printing what each one measured.
//
//	go run ./tools/lab/cmd/lab [-scenarios all|name,name] [-cache DIR] [-nic e1000|virtio-net-pci]
//
// It fetches missing parts (QEMU from apt, the Debian kernel, u-root) into
// the cache, rebuilds the initramfs when hakit's guest binaries changed, and
// leaves no QEMU, tgtd or temporary file behind.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintf(os.Stderr, "lab: %v\n", err)
		os.Exit(1)
	}
}

type options struct {
	cache     string
	scenarios string
	nic       string
	list      bool
	verbose   bool
	noInstall bool
	// bootTimeout bounds each node's boot to the ready marker.
	bootTimeout time.Duration
}

func parse(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("lab", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: lab [flags]\n\nBoots two QEMU nodes wired like a hot-standby pair (serial crossover, heartbeat\nNIC, shared iSCSI disk from a host tgtd as a guest SCSI device) and runs the\nacceptance scenarios through hakit's commands inside the guests. Needs root.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&o.cache, "cache", "", "cache directory for kernel, u-root and initramfs (default $XDG_CACHE_HOME/hakit-lab or /var/cache/hakit-lab)")
	fs.StringVar(&o.scenarios, "scenarios", "all", "comma-separated scenario names, or all, or ci")
	fs.StringVar(&o.nic, "nic", "e1000", "heartbeat NIC model: e1000 or virtio-net-pci")
	fs.DurationVar(&o.bootTimeout, "boot-timeout", 2*time.Minute, "kill a node that is not ready within this bound and show its console")
	fs.BoolVar(&o.list, "list", false, "list the scenarios and exit")
	fs.BoolVar(&o.verbose, "v", false, "log every step")
	fs.BoolVar(&o.noInstall, "no-install", false, "do not apt-get install a missing QEMU; fail with instructions")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return o, nil
}

func newLogger(w io.Writer, verbose bool) *slog.Logger {
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}
