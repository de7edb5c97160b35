package nictest

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hakit/hakit/nic"
)

func TestHost(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	h := New(func() time.Time { return t0 }, UpLink(2, "eth1"), UpLink(3, "eth2"))
	peer := netip.MustParseAddr("169.254.0.2")

	wctx, stop := context.WithCancel(ctx)
	snap, events, err := h.Watch(wctx, "eth1")
	if err != nil {
		t.Fatal(err)
	}
	if len(snap) != 1 || snap[2].Name != "eth1" {
		t.Fatalf("snapshot %+v, want eth1 only", snap)
	}
	if err := h.SetCarrier("eth2", false); err != nil { // filtered out
		t.Fatal(err)
	}
	if err := h.SetCarrier("eth1", false); err != nil {
		t.Fatal(err)
	}
	ev := <-events
	down := UpLink(2, "eth1").Link
	down.Carrier, down.OperState = nic.CarrierDown, nic.OperLowerLayerDown
	want := nic.Event{Time: t0, Change: nic.Change{Kind: nic.Changed, Old: UpLink(2, "eth1").Link, New: down, Fields: []string{"carrier", "operstate"}}}
	if diff := cmp.Diff(want, ev); diff != "" {
		t.Errorf("event (-want +got):\n%s", diff)
	}
	stop()
	for range events {
	}

	tests := []struct {
		name  string
		setup func()
		iface string
		want  nic.ProbeState
	}{
		{"no link", func() {}, "eth1", nic.ProbeNoLink},
		{"silent", func() { h.SetCarrier("eth1", true) }, "eth1", nic.ProbePeerSilent},
		{"reachable", func() { h.SetPeer(peer, time.Millisecond) }, "eth1", nic.ProbeReachable},
		{"silent again", func() { h.SetPeer(peer, -1) }, "eth1", nic.ProbePeerSilent},
		{"admin down", func() { h.SetAdmin("eth1", false) }, "eth1", nic.ProbeNoLink},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.setup()
			res, err := h.Probe(ctx, tt.iface, peer)
			if err != nil || res.State != tt.want {
				t.Fatalf("Probe = %+v, %v; want %s", res, err, tt.want)
			}
		})
	}
	if _, err := h.Status(ctx, "nope0"); !errors.Is(err, nic.ErrNoSuchInterface) {
		t.Errorf("Status(nope0) = %v", err)
	}
	if _, err := h.Status(ctx, "0123456789abcdefg"); !errors.Is(err, nic.ErrInvalidName) {
		t.Errorf("Status(long) = %v", err)
	}
}
