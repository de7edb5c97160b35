//go:build linux

package serialhb

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/hakit/hakit/internal/testutil"
)

func TestUnboundKworkerStat(t *testing.T) {
	for _, tc := range []struct {
		stat string
		want bool
	}{
		{"31332 (kworker/u8:4-events_unbound) I 2 0 0 0 -1 69238880 0 0 0 0 0 81 0 0 20 0 1 0", true},
		{"50 (kworker/u9:0) I 2 0 0 0 -1 69238880 0 0 0 0 0 0 0 0 0 -20 1 0", true},
		{"10 (kworker/0:0H-events_highpri) I 2 0 0 0", false}, // per-CPU pool
		{"4242 (kworker/u8:1) S 1 4242 4242", false},          // a process that took the name
		{"77 (evil) (kworker/u8:1) I 2", false},               // the comm is "evil) (kworker/u8:1"
		{"1 (systemd) S 0 1 1 0", false},
		{"", false},
		{"garbage", false},
		{"12 (kworker/u8:1)", false},
	} {
		if got := unboundKworkerStat(tc.stat); got != tc.want {
			t.Errorf("%q: %v, want %v", tc.stat, got, tc.want)
		}
	}
}

// reniceKworkers renices the unbound workers at nice 0, renices again one
// set back to 0, and restoreKworkers puts back only its own. Called
// directly, so another agent's scan (a parallel test's) cannot take the
// workers in between.
func TestReniceKworkers(t *testing.T) {
	testutil.SkipUnlessRoot(t)
	const nice = -4
	pids, err := kernelThreads()
	if err != nil {
		t.Fatal(err)
	}
	var workers []int
	for _, pid := range pids {
		if unboundKworker(pid) {
			workers = append(workers, pid)
		}
	}
	if len(workers) == 0 {
		t.Fatal("no unbound kworker on this machine")
	}
	niceOf := func(pid int) int {
		cur, err := unix.Getpriority(unix.PRIO_PROCESS, pid)
		if err != nil {
			return 99 // gone
		}
		return 20 - cur
	}
	count := func() (n int) {
		for _, pid := range workers {
			if niceOf(pid) == nice {
				n++
			}
		}
		return n
	}
	reset := func() {
		for _, pid := range workers {
			_ = unix.Setpriority(unix.PRIO_PROCESS, pid, 0)
		}
	}
	seen := map[int]kthread{}
	defer restoreKworkers(nice, seen)
	reset()
	if err := reniceKworkers(nice, seen); err != nil {
		t.Fatal(err)
	}
	if n := count(); n == 0 {
		t.Fatalf("0 of %d unbound workers at nice %d after the renice", len(workers), nice)
	}
	reset()
	if err := reniceKworkers(nice, seen); err != nil {
		t.Fatal(err)
	}
	if n := count(); n == 0 {
		t.Fatalf("workers set back to 0 were not reniced again (0 of %d at %d)", len(workers), nice)
	}
	// A worker at another value (an administrator's) is left alone.
	_ = unix.Setpriority(unix.PRIO_PROCESS, workers[0], -7)
	if err := reniceKworkers(nice, seen); err != nil {
		t.Fatal(err)
	}
	if got := niceOf(workers[0]); got != -7 && got != 99 {
		t.Errorf("a worker at -7 was set to %d", got)
	}
	_ = unix.Setpriority(unix.PRIO_PROCESS, workers[0], nice)
	restoreKworkers(nice, seen)
	if n := count(); n != 0 {
		t.Errorf("%d workers still at nice %d after the restore", n, nice)
	}
}
