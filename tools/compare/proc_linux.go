//go:build linux

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// stamp is a state a daemon reported (dead or alive), timed when its line
// reached this program.
type stamp struct {
	at   time.Time
	kind string
}

// watchLines reads r line by line and sends what classify makes of each
// line ("" drops it); deaths counts the "dead" ones. The channel is never
// closed: a reader gives up by its own deadline.
func watchLines(log *slog.Logger, name string, r io.Reader, classify func(string) string, ch chan<- stamp, deaths *atomic.Int64, last *atomic.Value) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		now := time.Now()
		k := classify(sc.Text())
		log.Debug("line", "from", name, "state", k, "text", sc.Text())
		if k == "" {
			continue
		}
		if k == "dead" && deaths != nil {
			deaths.Add(1)
		}
		if last != nil {
			last.Store(k)
		}
		select {
		case ch <- stamp{now, k}:
		default: // nobody is waiting for it: only counted
		}
	}
}

// waitKind waits for a stamp of kind k.
func waitKind(ctx context.Context, ch <-chan stamp, k string, within time.Duration) (stamp, error) {
	t := time.NewTimer(within)
	defer t.Stop()
	for {
		select {
		case s := <-ch:
			if s.kind == k {
				return s, nil
			}
		case <-t.C:
			return stamp{}, fmt.Errorf("no %s within %v", k, within)
		case <-ctx.Done():
			return stamp{}, ctx.Err()
		}
	}
}

func drain(ch <-chan stamp) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

// cpuTicks is utime+stime of pid in clock ticks (USER_HZ, 100 on Linux).
func cpuTicks(pid int) (int64, int, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: no comm", pid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is the state (field 3); ppid is field 4, utime 14, stime 15.
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	ppid, _ := strconv.Atoi(f[1])
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, 0, err
	}
	return u + st, ppid, nil
}

// tree is pid and its descendants now.
func tree(pid int) []int {
	parent := map[int]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if _, pp, err := cpuTicks(p); err == nil {
			parent[p] = pp
		}
	}
	out := []int{pid}
	for changed := true; changed; {
		changed = false
		for p, pp := range parent {
			if contains(out, pp) && !contains(out, p) {
				out = append(out, p)
				changed = true
			}
		}
	}
	return out
}

func contains(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// ticksOf reads cpuTicks of each pid (a process gone is left out).
func ticksOf(pids []int) map[int]int64 {
	m := map[int]int64{}
	for _, p := range pids {
		if n, _, err := cpuTicks(p); err == nil {
			m[p] = n
		}
	}
	return m
}

// ticksSince is the CPU the processes of before used since: a process gone
// since counts what it had used by then (nothing after), so a short-lived
// child never makes the figure negative.
func ticksSince(before map[int]int64) int64 {
	var t int64
	for p, n := range before {
		if now, _, err := cpuTicks(p); err == nil && now >= n {
			t += now - n
		}
	}
	return t
}

// killTree SIGKILLs pid and its descendants.
func killTree(pid int) {
	for _, p := range tree(pid) {
		_ = syscall.Kill(p, syscall.SIGKILL)
	}
}

// killTreeOf is killTree when pid is still a process whose command line
// holds name (a tracked pid may have exited and been reused since).
func killTreeOf(pid int, name string) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err == nil && strings.Contains(string(b), name) {
		killTree(pid)
	}
}

// signalTree sends sig to pid and its descendants.
func signalTree(pid int, sig syscall.Signal) {
	for _, p := range tree(pid) {
		_ = syscall.Kill(p, sig)
	}
}

// gone reports whether pid has exited (no process, or a zombie).
func gone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] == 'Z' || s[i+2] == 'X'
}

// load starts n busy-looping shells (the CPU load of a busy node); stop
// kills them.
func load(n int) (stop func(), err error) {
	var cmds []*exec.Cmd
	stop = func() {
		for _, c := range cmds {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
	}
	for range n {
		c := exec.Command("sh", "-c", "while :; do :; done")
		if err := c.Start(); err != nil {
			stop()
			return nil, err
		}
		cmds = append(cmds, c)
	}
	return stop, nil
}

// mkfifo makes a FIFO at path and opens it read-write (so that it never
// reads EOF while writers come and go).
func mkfifo(path string) (*os.File, error) {
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		return nil, fmt.Errorf("mkfifo %s: %w", path, err)
	}
	return os.OpenFile(path, os.O_RDWR, 0)
}

func writeFile(path, content string, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(content), mode)
}

// need checks that the tools a row runs are installed.
func need(tools ...string) error {
	var missing []string
	for _, t := range tools {
		if _, err := exec.LookPath(t); err != nil {
			if _, serr := os.Stat(t); serr != nil {
				missing = append(missing, t)
			}
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s (make deps installs them: tools/deps.sh)", strings.Join(missing, ", "))
	}
	return nil
}
