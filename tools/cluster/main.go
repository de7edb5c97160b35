//go:build linux

// Command cluster brings up the install guide's two-node cluster on this
// machine with hakit underneath (make cluster): node-a and node-b each in
// their own network, UTS, mount and PID namespaces, with the serial
// cable, the heartbeat NIC, a public network with a client namespace and
// the shared iSCSI LUN and an SBD LUN (the disk heartbeat); corosync, Pacemaker, hwagent, hakit-disk and
// hakit-health on each node; fence_hwagent as the stonith device; one
// group {shared disk, floating IP, a data service whose records live on
// the LUN}. It shows the cluster working (crm_mon, hwagent status, a
// client's record written and read back through the floating IP) and
// tears everything down, or with --hold keeps it up until Ctrl-C.
//
// Usage: cluster [--hold] [-v]   (needs root; make cluster runs it)
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
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hakit/hakit/internal/rig/pcmk"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	fs.SetOutput(stderr)
	hold := fs.Bool("hold", false, "keep the cluster up until Ctrl-C (default: show it working, then tear it down)")
	verbose := fs.Bool("v", false, "log the set-up steps")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: cluster [flags]

Brings up a real two-node Pacemaker cluster on this machine with hakit underneath
(serial cable, heartbeat NIC, public network with a client, shared iSCSI LUN;
hwagent, hakit-disk, hakit-health and fence_hwagent on each node) and one group
{shared disk, floating IP `+pcmk.PublicIP+`, a data service on the LUN}; shows it
working, then removes everything. Needs root, pacemaker, corosync, tgt, go.

With --hold, try in another shell (the node's commands run inside it):
  nsenter -t PID -n -m -u -p crm_mon -1        (PID: printed below)
  nsenter -t PID -n -m -u -p crm_resource --move --resource app --node node-b
  nsenter -t PID -n -m -u -p stonith_admin --fence node-b
  nsenter -t PID -n -m -u -p hwagent status --config /run/hakit/hwagent.yaml

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	fmt.Fprintln(stdout, "cluster: building hakit and starting node-a and node-b (about 30 s)")
	sctx, cancel := context.WithTimeout(ctx, 4*time.Minute)
	defer cancel()
	start := time.Now()
	c, err := pcmk.StartBuilt(sctx, pcmk.Config{Serial: true, Public: true, SBD: true, Logger: log})
	if err != nil {
		return err
	}
	defer func() {
		fmt.Fprintln(stdout, "cluster: tearing down")
		if err := c.Close(); err != nil {
			fmt.Fprintln(stderr, "cluster: teardown:", err)
		}
	}()
	fmt.Fprintf(stdout, "cluster: both nodes online after %v\n", time.Since(start).Round(time.Millisecond))
	holder, _, err := c.ConfigureApp(sctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "cluster: the group runs on %s\n\n", holder.Name)
	a := c.Nodes()[0]
	if out, err := a.Run(sctx, "crm_mon", "-1"); err == nil {
		fmt.Fprintln(stdout, out)
	}
	for _, n := range c.Nodes() {
		out, err := n.Run(sctx, filepath.Join(c.BinDir(), "hwagent"), "status", "--config", pcmk.HwagentConfig)
		if err != nil {
			out = err.Error()
		}
		fmt.Fprintf(stdout, "== hwagent status on %s\n%s\n", n.Name, out)
	}
	payload := fmt.Sprintf("hello-from-the-client-%d", time.Now().Unix())
	put, err := c.Client(sctx, c.RecordsvcPath(), "put", "--addr", pcmk.AppAddr, "0", payload)
	if err != nil {
		return fmt.Errorf("the client's record: %w", err)
	}
	get, err := c.Client(sctx, c.RecordsvcPath(), "get", "--addr", pcmk.AppAddr, "0")
	if err != nil || !strings.Contains(get, payload) {
		return fmt.Errorf("the client's record read back %q: %v", get, err)
	}
	fmt.Fprintf(stdout, "client (%s): record 0 written through %s: %s", pcmk.ClientAddr, pcmk.AppAddr, put)
	fmt.Fprintf(stdout, "client: record 0 read back: %s\n", get)
	if !*hold {
		return nil
	}
	for _, n := range c.Nodes() {
		fmt.Fprintf(stdout, "%s: PID %d (nsenter -t %d -n -m -u -p CMD), logs in %s\n", n.Name, n.PID(), n.PID(), n.Dir)
	}
	fmt.Fprintln(stdout, "cluster: up; Ctrl-C tears it down")
	<-ctx.Done()
	return nil
}
