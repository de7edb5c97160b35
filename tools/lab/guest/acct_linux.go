package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hakit/hakit/scsi"
	"github.com/hakit/hakit/scsi/diskcli"
)

// acctRecordSize is the size of one BSD process accounting record
// (struct acct_v3, CONFIG_BSD_PROCESS_ACCT_V3).
const acctRecordSize = 64

// spawned (spawned FILE ARGV...) runs argv with BSD process accounting on
// into FILE and prints, after argv's own output, one line
// "spawned: procs=N wall_us=U code=C": the processes that exited while it
// ran (argv's own process and every process it started; the kernel writes
// one record per process, none per thread), argv's wall time from start to
// exit, and its exit code. The guest runs nothing else meanwhile, so the
// count is argv's. The exit code is argv's.
func spawned(stdin io.Reader) tool {
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		if len(args) < 2 {
			return &exitError{2, errors.New("usage: hakit spawned ACCT-FILE ARGV...")}
		}
		file := args[0]
		f, err := os.OpenFile(file, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		f.Close()
		cmd := exec.CommandContext(ctx, args[1], args[2:]...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
		if err := unix.Acct(file); err != nil {
			return fmt.Errorf("spawned: acct(%s): %w (needs CONFIG_BSD_PROCESS_ACCT)", file, err)
		}
		start := time.Now()
		runErr := cmd.Run()
		wall := time.Since(start)
		if err := unix.Acct(""); err != nil {
			return fmt.Errorf("spawned: acct off: %w", err)
		}
		code := 0
		var ee *exec.ExitError
		switch {
		case errors.As(runErr, &ee):
			code = ee.ExitCode()
		case runErr != nil:
			return fmt.Errorf("spawned: %w", runErr)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		if len(b)%acctRecordSize != 0 || (len(b) > 0 && b[1] != 3) {
			return fmt.Errorf("spawned: %s: %d bytes, not acct_v3 records", file, len(b))
		}
		fmt.Fprintf(stdout, "spawned: procs=%d wall_us=%d code=%d\n", len(b)/acctRecordSize, wall.Microseconds(), code)
		if code != 0 {
			return &exitError{code, fmt.Errorf("%s exited %d", args[1], code)}
		}
		return nil
	}
}

// prkeys (prkeys DEV...) prints each device's registered keys, one line a
// device: "DEV 0xKEY,0xKEY" ("-" for none), read with PR IN READ KEYS.
func prkeys(ctx context.Context, args []string, stdout, _ io.Writer) error {
	if len(args) == 0 {
		return &exitError{2, errors.New("usage: hakit prkeys DEV...")}
	}
	for _, dev := range args {
		tr, closer, err := diskcli.OpenDevice(ctx, dev, diskcli.OpenOptions{})
		if err != nil {
			return err
		}
		d := &scsi.Device{Transport: tr, Name: dev, UnitAttentionRetries: 8, TransportRetries: 2}
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		k, err := d.ReadKeys(cctx)
		cancel()
		closer.Close()
		if err != nil {
			return err
		}
		keys := []string{}
		for _, key := range k.Keys {
			keys = append(keys, key.String())
		}
		if len(keys) == 0 {
			keys = append(keys, "-")
		}
		fmt.Fprintf(stdout, "%s %s\n", dev, strings.Join(keys, ","))
	}
	return nil
}
