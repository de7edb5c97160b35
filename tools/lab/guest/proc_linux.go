package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// procs returns the pids (other than this process) whose command line,
// its arguments joined by spaces, contains phrase.
func procs(phrase string) []int {
	dirs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	var out []int
	for _, p := range dirs {
		pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil || len(b) == 0 {
			continue
		}
		if strings.Contains(strings.ReplaceAll(strings.TrimRight(string(b), "\x00"), "\x00", " "), phrase) {
			out = append(out, pid)
		}
	}
	return out
}

// pgrep: hakit pgrep WORDS...: prints the pids whose command line contains
// the words (as one phrase); exit 1 when none.
func pgrep(_ context.Context, args []string, stdout, _ io.Writer) error {
	if len(args) == 0 {
		return &exitError{2, errors.New("usage: hakit pgrep WORD [WORD ...]")}
	}
	pids := procs(strings.Join(args, " "))
	if len(pids) == 0 {
		return &exitError{1, errors.New("no such process")}
	}
	for _, p := range pids {
		fmt.Fprintln(stdout, p)
	}
	return nil
}

// pkill: hakit pkill WORDS...: SIGTERM to every process pgrep would name,
// then waits up to 5 s for them to exit (SIGKILL after). It prints how many
// it stopped; none is not an error.
func pkill(ctx context.Context, args []string, stdout, _ io.Writer) error {
	if len(args) == 0 {
		return &exitError{2, errors.New("usage: hakit pkill WORD [WORD ...]")}
	}
	phrase := strings.Join(args, " ")
	pids := procs(phrase)
	for _, p := range pids {
		_ = syscall.Kill(p, syscall.SIGTERM)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(procs(phrase)) > 0 {
		if time.Now().After(deadline) || ctx.Err() != nil {
			for _, p := range procs(phrase) {
				_ = syscall.Kill(p, syscall.SIGKILL)
			}
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	fmt.Fprintf(stdout, "stopped %d\n", len(pids))
	return nil
}
