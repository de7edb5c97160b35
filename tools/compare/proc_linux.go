//go:build linux

package main

import (
	"bufio"
	"context"
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

// parentOf is pid's parent, from /proc/PID/stat.
func parentOf(pid int) (int, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no comm", pid)
	}
	// f[0] is the state (field 3), f[1] the parent (field 4).
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	return strconv.Atoi(f[1])
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
		if pp, err := parentOf(p); err == nil {
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

// cpuTime is the CPU time pid's threads have run, from each thread's
// /proc/PID/task/TID/schedstat (the scheduler's own nanosecond sum). The
// clock-tick figures of /proc/PID/stat are 10 ms samples: a daemon that
// wakes for a few microseconds every 100 ms reads 0 ticks over a window of
// seconds although it ran.
func cpuTime(pid int) (time.Duration, error) {
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	var sum time.Duration
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name(), "schedstat"))
		if err != nil {
			continue // the thread ended
		}
		f := strings.Fields(string(b))
		if len(f) < 1 {
			return 0, fmt.Errorf("%s/%s/schedstat: empty", dir, e.Name())
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s/%s/schedstat: %w", dir, e.Name(), err)
		}
		sum += time.Duration(ns)
	}
	return sum, nil
}

// cpuOf reads cpuTime of each pid (a process gone is left out).
func cpuOf(pids []int) map[int]time.Duration {
	m := map[int]time.Duration{}
	for _, p := range pids {
		if d, err := cpuTime(p); err == nil {
			m[p] = d
		}
	}
	return m
}

// cpuSince is the CPU the processes now used since before was read: a
// process of before counts what it ran since then, one born since counts
// all it ran (it ran inside the window), one gone since counts nothing (a
// thread or process that ended takes its time with it). ok is false when
// none of now could be read.
func cpuSince(before map[int]time.Duration, now []int) (used time.Duration, ok bool) {
	for _, p := range now {
		t, err := cpuTime(p)
		if err != nil {
			continue
		}
		ok = true
		if n, seen := before[p]; !seen {
			used += t
		} else if t >= n {
			used += t - n
		}
	}
	return used, ok
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
