//go:build linux

package serialhb

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// SetRealtime gives every thread of this process the real-time round-robin
// policy at priority (1..99) and locks its memory, as Heartbeat does with
// `realtime on`, so that heartbeats and timers keep their pace on a fully
// loaded machine. Threads the runtime creates later, and programs the
// process runs, do not get it (SCHED_RESET_ON_FORK): a Runner with
// Config.Realtime sets it on its own locked threads instead. It needs root or
// CAP_SYS_NICE and CAP_IPC_LOCK; it is for a main (the agent), not a
// library. Memory locking is best effort: its failure is returned wrapped
// after the policy is set.
func SetRealtime(priority int) error {
	if priority < 1 || priority > 99 {
		return fmt.Errorf("%w: real-time priority %d (use 1..99)", ErrBadConfig, priority)
	}
	if err := processRealtime(priority); err != nil {
		return err
	}
	if err := unix.Mlockall(unix.MCL_CURRENT | unix.MCL_FUTURE | unix.MCL_ONFAULT); err != nil {
		return fmt.Errorf("serialhb: realtime: policy set, but mlockall: %w", err)
	}
	return nil
}

// processRealtime gives every thread of the process the real-time
// round-robin policy at priority (threads already at it are left alone).
func processRealtime(priority int) error {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return fmt.Errorf("serialhb: realtime: %w", err)
	}
	attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_RR, Flags: unix.SCHED_FLAG_RESET_ON_FORK, Priority: uint32(priority)}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if cur, err := unix.SchedGetAttr(tid, 0); err == nil && cur.Policy == unix.SCHED_RR && cur.Priority == uint32(priority) {
			continue
		}
		if err := unix.SchedSetAttr(tid, &attr, 0); err != nil && err != unix.ESRCH {
			return fmt.Errorf("serialhb: realtime: sched_setattr SCHED_RR %d on thread %d: %w (needs root or CAP_SYS_NICE)", priority, tid, err)
		}
	}
	return nil
}

// LockMemory locks the process's memory (mlockall current and future, on
// fault), so that a heartbeat never waits for a page-in; it needs root or
// CAP_IPC_LOCK (or a large enough RLIMIT_MEMLOCK). MCL_ONFAULT locks pages
// as they are touched: the Go runtime's large address-space reservations
// are not faulted in (which on a small machine would exhaust its memory).
func LockMemory() error {
	if err := unix.Mlockall(unix.MCL_CURRENT | unix.MCL_FUTURE | unix.MCL_ONFAULT); err != nil {
		return fmt.Errorf("serialhb: mlockall: %w (needs root or CAP_IPC_LOCK)", err)
	}
	return nil
}
