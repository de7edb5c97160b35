package agent

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestGuard(t *testing.T) {
	reg := func(dev string, r bool) DiskStatus { return DiskStatus{Device: dev, Registered: r} }
	for _, tt := range []struct {
		name   string
		steps  []DiskStatus
		unf    int // unfence before this step index (-1: never)
		want   []Verdict
		fenced bool
	}{
		{"never registered", []DiskStatus{reg("d", false), reg("d", false)}, -1, []Verdict{Steady, Steady}, false},
		{"registered then kept", []DiskStatus{reg("d", true), reg("d", true)}, -1, []Verdict{Claimed, Steady}, false},
		{"fenced", []DiskStatus{reg("d", true), reg("d", false), reg("d", false)}, -1, []Verdict{Claimed, SelfFenced, Steady}, true},
		{"read error is not a fence", []DiskStatus{reg("d", true), {Device: "d", Error: "timeout"}, reg("d", true)}, -1, []Verdict{Claimed, Steady, Steady}, false},
		{"fenced claims nothing until unfence", []DiskStatus{reg("d", true), reg("d", false), reg("d", true), reg("d", true)}, 3, []Verdict{Claimed, SelfFenced, Steady, Claimed}, false},
		{"one disk fenced drops every claim", []DiskStatus{reg("a", true), reg("b", true), reg("a", false), reg("b", true)}, -1, []Verdict{Claimed, Claimed, SelfFenced, Steady}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := NewGuard()
			var got []Verdict
			for i, s := range tt.steps {
				if i == tt.unf {
					g.Unfence()
				}
				got = append(got, g.Observe(s))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("verdicts (-want +got):\n%s", diff)
			}
			if g.Fenced() != tt.fenced {
				t.Errorf("Fenced = %v, want %v", g.Fenced(), tt.fenced)
			}
		})
	}
}

func TestGuardUnfenceVerified(t *testing.T) {
	reg := func(dev string, r bool) DiskStatus { return DiskStatus{Device: dev, Registered: r} }
	for _, tt := range []struct {
		name   string
		read   []DiskStatus
		ok     bool
		claims []string
	}{
		{"no disk read back", nil, false, nil},
		{"key not back", []DiskStatus{reg("a", false)}, false, nil},
		{"unreadable disk", []DiskStatus{reg("a", true), {Device: "b", Error: "timeout"}}, false, nil},
		{"one of two disks", []DiskStatus{reg("a", true), reg("b", false)}, false, nil},
		{"every disk", []DiskStatus{reg("a", true), reg("b", true)}, true, []string{"a", "b"}},
		// SCSI-2 has no key to put back: a readable scsi2 disk that this
		// node does not hold is verified, and not claimed.
		{"scsi2 not held", []DiskStatus{reg("a", true), {Device: "b", Mode: ModeSCSI2}}, true, []string{"a"}},
		{"scsi2 held", []DiskStatus{{Device: "a", Mode: ModeSCSI2, Registered: true}}, true, []string{"a"}},
		{"scsi2 unreadable", []DiskStatus{{Device: "a", Mode: ModeSCSI2, Error: "timeout"}}, false, nil},
		{"scsi2 latched", []DiskStatus{{Device: "a", Mode: ModeSCSI2, Latched: "x"}}, false, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := NewGuard()
			g.Observe(reg("a", true))
			g.Observe(reg("a", false))
			if got := g.UnfenceVerified(tt.read); got != tt.ok {
				t.Errorf("UnfenceVerified = %v, want %v", got, tt.ok)
			}
			if g.Fenced() == tt.ok {
				t.Errorf("Fenced = %v after UnfenceVerified = %v", g.Fenced(), tt.ok)
			}
			var claims []string
			for _, d := range []string{"a", "b"} {
				if g.Claims(d) {
					claims = append(claims, d)
				}
			}
			if diff := cmp.Diff(tt.claims, claims); diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGuardRelease(t *testing.T) {
	g := NewGuard()
	g.Observe(DiskStatus{Device: "d", Registered: true})
	g.Release("d")
	if v := g.Observe(DiskStatus{Device: "d"}); v != Steady || g.Fenced() {
		t.Errorf("after Release, key gone = %v fenced %v; want Steady, not fenced", v, g.Fenced())
	}
}

func TestHub(t *testing.T) {
	h := NewHub(3, nil)
	for i := 0; i < 5; i++ {
		h.Emit(Event{Kind: "k"})
	}
	var seqs []uint64
	for _, e := range h.Since(0) {
		seqs = append(seqs, e.Seq)
	}
	if diff := cmp.Diff([]uint64{3, 4, 5}, seqs); diff != "" {
		t.Errorf("ring (-want +got):\n%s", diff)
	}
	back, ch, cancel := h.Subscribe(4)
	defer cancel()
	if len(back) != 1 || back[0].Seq != 5 {
		t.Errorf("backlog = %+v, want seq 5", back)
	}
	h.Emit(Event{Kind: "new"})
	if e := <-ch; e.Seq != 6 || e.Kind != "new" {
		t.Errorf("got %+v", e)
	}
	for i := 0; i < 100; i++ {
		h.Emit(Event{})
	}
	if h.Dropped() == 0 {
		t.Error("slow subscriber dropped nothing")
	}
}
