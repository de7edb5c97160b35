//go:build linux

package serialhb

import (
	"fmt"
	"os"
	"strconv"
	"strings"

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
// round-robin policy at priority (threads already at it, or at a higher
// real-time priority, are left alone).
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
		if cur, err := unix.SchedGetAttr(tid, 0); err == nil && (cur.Policy == unix.SCHED_RR || cur.Policy == unix.SCHED_FIFO) && cur.Priority >= uint32(priority) {
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

// kthread is what reniceKworkers knows of a kernel thread.
type kthread int8

const (
	otherKthread kthread = iota // not an unbound worker: never read again
	worker                      // an unbound worker left alone (not at nice 0 when seen)
	reniced                     // an unbound worker reniced here
)

// reniceKworkers sets the nice value of the kernel's unbound workqueue
// workers (kworker/uN:M, children of kthreadd) that run at the default nice
// 0 to nice, and records what it saw of each kernel thread in seen (read
// once per thread's life; a worker's nice is read again at every call, so
// one that another process set back to 0 is reniced again). Workers at
// another nice value (the high-priority pools, or set by the administrator)
// are left alone. The tty layer runs flush_to_ldisc, which moves received
// bytes from a port's flip buffer to the reader, as work on the unbound
// queue for every serial port and pty; at nice 0 it waits behind the busy
// processes of a loaded machine.
func reniceKworkers(nice int, seen map[int]kthread) error {
	pids, err := kernelThreads()
	if err != nil {
		return fmt.Errorf("serialhb: kworkers: %w", err)
	}
	live := make(map[int]bool, len(pids))
	for _, pid := range pids {
		live[pid] = true
	}
	for pid := range seen {
		if !live[pid] {
			delete(seen, pid) // exited: its pid may come back as another thread
		}
	}
	for _, pid := range pids {
		k, ok := seen[pid]
		if !ok {
			k = otherKthread
			if unboundKworker(pid) {
				k = worker
			}
			seen[pid] = k
		}
		if k != worker && k != reniced {
			continue
		}
		cur, err := unix.Getpriority(unix.PRIO_PROCESS, pid)
		if err != nil || 20-cur != 0 { // the raw syscall returns 20 - nice
			continue
		}
		if err := unix.Setpriority(unix.PRIO_PROCESS, pid, nice); err != nil {
			if err == unix.ESRCH {
				continue
			}
			return fmt.Errorf("serialhb: kworkers: setpriority %d on kworker %d: %w (needs root or CAP_SYS_NICE)", nice, pid, err)
		}
		seen[pid] = reniced
	}
	return nil
}

// kernelThreads lists kthreadd's children (every kernel thread) from
// /proc/2/task/2/children, a few dozen entries, rather than every process
// of the machine; without that file (a kernel without
// CONFIG_PROC_CHILDREN), every pid in /proc.
func kernelThreads() ([]int, error) {
	var names []string
	if b, err := os.ReadFile("/proc/2/task/2/children"); err == nil {
		names = strings.Fields(string(b))
	} else {
		ents, err := os.ReadDir("/proc")
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			names = append(names, e.Name())
		}
	}
	var pids []int
	for _, n := range names {
		if pid, err := strconv.Atoi(n); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// restoreKworkers puts the workers reniceKworkers reniced, and still at
// nice, back to nice 0, and forgets what it saw.
func restoreKworkers(nice int, seen map[int]kthread) {
	for pid, k := range seen {
		if k == reniced && unboundKworker(pid) {
			if cur, err := unix.Getpriority(unix.PRIO_PROCESS, pid); err == nil && 20-cur == nice {
				_ = unix.Setpriority(unix.PRIO_PROCESS, pid, 0)
			}
		}
		delete(seen, pid)
	}
}

// unboundKworker reports whether pid is a kernel thread of an unbound
// workqueue pool.
func unboundKworker(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	return err == nil && unboundKworkerStat(string(b))
}

// unboundKworkerStat reports whether a /proc/PID/stat line is an unbound
// workqueue worker's: named kworker/u..., a child of kthreadd (pid 2).
func unboundKworkerStat(s string) bool {
	// "PID (comm) S PPID ...": comm may hold spaces and parentheses.
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return false
	}
	f := strings.Fields(s[end+1:])
	return strings.HasPrefix(s[open+1:end], "kworker/u") && len(f) > 1 && f[1] == "2"
}
