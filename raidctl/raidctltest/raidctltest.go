// Package raidctltest provides a scripted stand-in for the vendor CLIs that
// raidctl runs, so that live-controller code paths can be tested without
// the hardware or the tools.
package raidctltest

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// Reply is what one scripted command prints.
type Reply struct {
	Stdout, Stderr []byte
	// Exit, when non-zero, makes Run return an *exec.ExitError-like error
	// (a real *exec.ExitError from running "sh -c 'exit N'").
	Exit int
	// Delay blocks Run this long, or until ctx ends.
	Delay time.Duration
}

// Runner implements raidctl.Runner from a script: Installed names the
// binaries LookPath finds (resolved to "/usr/sbin/<name>"), and Replies
// maps "name arg arg ..." (the base name, not the path) to a Reply. A
// command not in the script fails the test. It is safe for concurrent use.
type Runner struct {
	TB        testing.TB
	Installed []string
	Replies   map[string]Reply

	mu    sync.Mutex
	calls []string
}

// LookPath finds a name listed in Installed.
func (r *Runner) LookPath(name string) (string, error) {
	for _, n := range r.Installed {
		if n == name {
			return "/usr/sbin/" + name, nil
		}
	}
	return "", &exec.Error{Name: name, Err: exec.ErrNotFound}
}

// Run plays the scripted reply.
func (r *Runner) Run(ctx context.Context, path string, args ...string) ([]byte, []byte, error) {
	name := path[strings.LastIndexByte(path, '/')+1:]
	key := strings.Join(append([]string{name}, args...), " ")
	r.mu.Lock()
	r.calls = append(r.calls, key)
	rep, ok := r.Replies[key]
	r.mu.Unlock()
	if !ok {
		r.TB.Errorf("raidctltest: unscripted command %q", key)
		return nil, nil, fmt.Errorf("raidctltest: unscripted command %q", key)
	}
	if rep.Delay > 0 {
		t := time.NewTimer(rep.Delay)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return rep.Stdout, rep.Stderr, ctx.Err()
		case <-t.C:
		}
	}
	if rep.Exit != 0 {
		err := exec.CommandContext(ctx, "sh", "-c", fmt.Sprintf("exit %d", rep.Exit)).Run()
		return rep.Stdout, rep.Stderr, err
	}
	return rep.Stdout, rep.Stderr, nil
}

// Calls returns the commands run so far, as "name arg ...".
func (r *Runner) Calls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}
