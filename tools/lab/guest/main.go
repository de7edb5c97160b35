// Command guest is the multi-call binary put into the lab's initramfs as
// /lab/bin/hakit. Its first argument picks the tool:
//
//	hakit disk ...           the shared-disk command line (scsi/diskcli)
//	hakit hb ...             serialhb's command line (serialhb/hbcli)
//	hakit sg DEV OP [ARGS]   raw SCSI probe over SG_IO or iSCSI (sg_linux.go)
//	hakit nic ...            nic's command line (nic/niccli)
//	hakit lio setup          LIO with two initiator ports onto one LUN
//	hakit lio iscsi IQN INI.. LIO's iSCSI target on 127.0.0.1:3260
//	hakit hwagent ...        the node agent and its client (agent/cli)
//	hakit fence_hwagent      the fence agent (options on stdin, as Pacemaker)
//	hakit hwcheck ...        install-time diagnostics (check)
//	hakit put PATH [MODE]    write stdin to a file
//	hakit pgrep|pkill WORDS  find or stop processes by command line
//	hakit relay LISTEN DIAL  copy connections between unix: and tcp: ends
//	hakit spawned FILE ARGV  run ARGV, count the processes it ran (BSD accounting)
//	hakit prkeys DEV...      each device's registered keys, one line a device
//	hakit scsidisks          every SCSI disk as H:C:T:L /dev/sdX
//
// The agent's commands are dispatched here rather than built as binaries of
// their own: one Go binary keeps the initramfs small (the packages are
// shared), and its content hash alone decides when the initramfs is rebuilt.
//
// The lab's scenarios read what these print; exit codes follow sg_persist
// where they can (24 reservation conflict, 6 unit attention).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/hakit/hakit/nic/niccli"
	"github.com/hakit/hakit/scsi/diskcli"
	"github.com/hakit/hakit/serialhb/hbcli"
)

// exitError carries an exit code out of a tool.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	if err == nil {
		return
	}
	fmt.Fprintf(os.Stderr, "hakit: %v\n", err)
	var ee *exitError
	if errors.As(err, &ee) {
		os.Exit(ee.code)
	}
	os.Exit(1)
}

// tool is one command of the multi-call binary.
type tool func(ctx context.Context, args []string, stdout, stderr io.Writer) error

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	tools := map[string]tool{
		"disk":          disk,
		"hb":            usageCode(hbcli.Run, hbcli.ErrUsage),
		"sg":            sgTool,
		"nic":           usageCode(niccli.Run, niccli.ErrUsage),
		"lio":           lio,
		"hwagent":       hwagent,
		"fence_hwagent": fenceAgent(stdin),
		"hwcheck":       hwcheck,
		"put":           put(stdin),
		"pgrep":         pgrep,
		"pkill":         pkill,
		"relay":         relay,
		"spawned":       spawned(stdin),
		"prkeys":        prkeys,
		"scsidisks":     scsidisks,
	}
	if len(args) == 0 {
		return &exitError{2, errors.New("usage: hakit disk|hb|nic|sg|lio|hwagent|fence_hwagent|hwcheck|put|pgrep|pkill|relay|spawned|prkeys|scsidisks [ARGS]")}
	}
	f, ok := tools[args[0]]
	if !ok {
		return &exitError{2, fmt.Errorf("unknown tool %q", args[0])}
	}
	return f(ctx, args[1:], stdout, stderr)
}

// usageCode maps a front end's usage error to exit code 2.
func usageCode(f tool, usage error) tool {
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		err := f(ctx, args, stdout, stderr)
		if errors.Is(err, usage) {
			return &exitError{2, err}
		}
		return err
	}
}

// disk runs diskcli with its sg3_utils-style exit codes.
func disk(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if err := diskcli.Run(ctx, args, stdout, stderr); err != nil {
		return &exitError{diskcli.ExitCode(err), err}
	}
	return nil
}
