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
// loaded machine. Threads the runtime creates later inherit the policy;
// programs the process runs do not (SCHED_RESET_ON_FORK). It needs root or
// CAP_SYS_NICE and CAP_IPC_LOCK; it is for a main (the agent), not a
// library. Memory locking is best effort: its failure is returned wrapped
// after the policy is set.
func SetRealtime(priority int) error {
	if priority < 1 || priority > 99 {
		return fmt.Errorf("%w: real-time priority %d (use 1..99)", ErrBadConfig, priority)
	}
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
		if err := unix.SchedSetAttr(tid, &attr, 0); err != nil && err != unix.ESRCH {
			return fmt.Errorf("serialhb: realtime: sched_setattr SCHED_RR %d on thread %d: %w", priority, tid, err)
		}
	}
	if err := unix.Mlockall(unix.MCL_CURRENT | unix.MCL_FUTURE); err != nil {
		return fmt.Errorf("serialhb: realtime: policy set, but mlockall: %w", err)
	}
	return nil
}
