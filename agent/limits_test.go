package agent

import (
	"testing"
	"time"
)

func TestSlotsReserveRoot(t *testing.T) {
	s := newSlots(6, 2, 2)
	for i, tt := range []struct {
		uid  uint32
		want bool
	}{
		{1000, true}, {1000, true}, {1000, false}, // per-uid limit
		{1001, true}, {1001, true}, // non-root now holds max-reserved = 4
		{1002, false},        // the reserved slots stay root's
		{0, true}, {0, true}, // root takes the reserve
		{0, false}, // and no more than max
	} {
		if got := s.take(tt.uid); got != tt.want {
			t.Fatalf("step %d: take(%d) = %v, want %v", i, tt.uid, got, tt.want)
		}
	}
	s.put(1000)
	if s.take(0) != true {
		t.Error("root refused a freed slot")
	}
	s.put(0)
	if s.take(1002) != true {
		t.Error("uid 1002 refused a freed non-root slot")
	}
	if s.held() != 6 {
		t.Errorf("held %d, want 6", s.held())
	}
}

func TestLimitsDefaultsAndClamp(t *testing.T) {
	l := Limits{}.withDefaults(0)
	if l.MaxConns != 64 || l.PerUID != 8 || l.RootReserved != 16 || l.MaxStreams != 32 || l.WriteTimeout != 10*time.Second || l.IdleTimeout != 5*time.Second {
		t.Errorf("defaults: %+v", l)
	}
	// A lowered descriptor limit shrinks the connection counts below it,
	// and root keeps a reserve.
	l = Limits{}.withDefaults(40)
	if l.MaxConns+l.MetricsConns > 40 || l.RootReserved < 1 || l.RootReserved > l.MaxConns/2 || l.MaxStreams > l.MaxConns {
		t.Errorf("clamped to 40 descriptors: %+v", l)
	}
}
