//go:build linux

package main

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// A process that wakes briefly and often runs well under a 10 ms clock
// tick per wake-up: the schedstat sum still sees it, where utime+stime
// may read 0 (Heartbeat's reading in earlier runs).
func TestCPUTimeSeesShortWakeups(t *testing.T) {
	cmd := exec.Command("sh", "-c", "while :; do sleep 0.01; done")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	time.Sleep(100 * time.Millisecond)
	before := cpuOf([]int{cmd.Process.Pid})
	if len(before) != 1 {
		t.Fatalf("cpuOf: %v", before)
	}
	time.Sleep(500 * time.Millisecond)
	used, ok := cpuSince(before, []int{cmd.Process.Pid})
	if !ok || used <= 0 {
		t.Fatalf("a shell looping on sleep 0.01 for 0.5 s used %v (read %v)", used, ok)
	}
}

// The sum over threads agrees with the kernel's own account of this
// process (getrusage), whatever share of a core the machine gives it.
func TestCPUTimeCountsThreads(t *testing.T) {
	usage := func() time.Duration {
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru) // fails only on a bad argument
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	before, err := cpuTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	r0 := usage()
	// Two threads spin until the process has used 100 ms of CPU.
	done := make(chan struct{})
	for range 2 {
		go func() {
			for usage()-r0 < 100*time.Millisecond {
			}
			done <- struct{}{}
		}()
	}
	<-done
	<-done
	after, err := cpuTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	got, want := after-before, usage()-r0
	if got < want*7/10 || got > want*13/10 {
		t.Errorf("schedstat sum grew by %v, getrusage by %v", got, want)
	}
}

func TestCPUSinceGoneProcess(t *testing.T) {
	if _, ok := cpuSince(map[int]time.Duration{1 << 30: 0}, []int{1 << 30}); ok {
		t.Error("a pid that does not exist was read")
	}
	// A process born inside the window counts all it ran.
	self, err := cpuTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	used, ok := cpuSince(map[int]time.Duration{}, []int{os.Getpid()})
	if !ok || used < self {
		t.Errorf("a process not in before: %v, %v; want at least %v", used, ok, self)
	}
}

func TestParentOf(t *testing.T) {
	pp, err := parentOf(os.Getpid())
	if err != nil || pp != os.Getppid() {
		t.Errorf("parentOf(self) = %d, %v; want %d", pp, err, os.Getppid())
	}
}
