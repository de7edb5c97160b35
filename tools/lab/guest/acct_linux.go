package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
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
// "spawned: procs=N wall_us=U code=C comms=NAME*K,...": the processes that
// ran and ended while it ran (argv's own process and every process it
// started), argv's wall time from start to exit, its exit code and the
// processes by name. The kernel writes a record when a task exits, tagged
// with its process id (for a thread, its process's): a process counts once
// however many of its threads ended. This process's own records and those
// of the probes Go's os/exec forks on its first start are left out. The
// guest runs nothing else meanwhile, so the count is argv's. The exit code
// is argv's.
func spawned(stdin io.Reader) tool {
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		if len(args) < 2 {
			return &exitError{2, errors.New("usage: hakit spawned ACCT-FILE COMMAND [ARG ...]")}
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
		// acct(NULL) turns accounting off; unix.Acct takes no NULL.
		if _, _, errno := unix.Syscall(unix.SYS_ACCT, 0, 0, 0); errno != 0 {
			return fmt.Errorf("spawned: acct off: %w", errno)
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
		n, comms := acctProcesses(b, os.Getpid(), cmd.Process.Pid)
		fmt.Fprintf(stdout, "spawned: procs=%d wall_us=%d code=%d comms=%s\n", n, wall.Microseconds(), code, comms)
		if code != 0 {
			return &exitError{code, fmt.Errorf("%s exited %d", args[1], code)}
		}
		return nil
	}
}

// acctProcesses counts the processes of acct_v3 records (distinct ac_pid,
// bytes 16 to 19; ac_ppid is 20 to 23, ac_comm 48 to 63), leaving out self
// and self's children other than child, and lists them by command name
// with a count for repeats: "python3,sg_persist*4".
func acctProcesses(b []byte, self, child int) (int, string) {
	seen := map[uint32]bool{}
	n := map[string]int{}
	var order []string
	for off := 0; off+acctRecordSize <= len(b); off += acctRecordSize {
		r := b[off : off+acctRecordSize]
		pid, ppid := binary.LittleEndian.Uint32(r[16:]), binary.LittleEndian.Uint32(r[20:])
		if int(pid) == self || (int(ppid) == self && int(pid) != child) || seen[pid] {
			continue
		}
		seen[pid] = true
		c := r[48:64]
		if i := bytes.IndexByte(c, 0); i >= 0 {
			c = c[:i]
		}
		name := string(c)
		if n[name] == 0 {
			order = append(order, name)
		}
		n[name]++
	}
	var out []string
	for _, name := range order {
		if n[name] > 1 {
			name = fmt.Sprintf("%s*%d", name, n[name])
		}
		out = append(out, name)
	}
	return len(seen), strings.Join(out, ",")
}

// prkeys (prkeys DEV...) prints each device's registered keys, one line a
// device: "DEV 0xKEY,0xKEY" ("-" for none), read with PR IN READ KEYS.
func prkeys(ctx context.Context, args []string, stdout, _ io.Writer) error {
	if len(args) == 0 {
		return &exitError{2, errors.New("usage: hakit prkeys DEV [DEV ...]")}
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

// scsidisks prints every SCSI disk as "H:C:T:L /dev/sdX", one a line.
func scsidisks(_ context.Context, _ []string, stdout, _ io.Writer) error {
	matches, _ := filepath.Glob("/sys/block/sd*/device")
	for _, m := range matches {
		addr, err := filepath.EvalSymlinks(m)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s /dev/%s\n", filepath.Base(addr), filepath.Base(filepath.Dir(m)))
	}
	return nil
}
