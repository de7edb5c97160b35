//go:build linux

package serialhb

import "testing"

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
