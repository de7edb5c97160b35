package hw_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/scsi"
)

// Three agents on one tgtd LUN without a disk heartbeat: m2's fence of
// the holder m1 makes m2 the holder for lockout only (it did not hold
// before); m3's acquire is refused with the typed code and the word on
// the disk heartbeat (no handover without it); m2's own acquire claims
// the reservation, and a fence by a node that already holds leaves it
// claimed.
func TestIntegrationLockoutAfterFence(t *testing.T) {
	_, cs := members(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, c := range cs {
		if _, err := c.Action(ctx, agent.ActionRegister); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cs[0].Action(ctx, agent.ActionAcquire); err != nil {
		t.Fatal(err)
	}
	r, err := cs[1].Fence(ctx, "m1")
	if err != nil {
		t.Fatal(err)
	}
	if d := r.Disks[0]; !d.Owner || !d.Lockout {
		t.Fatalf("m2 after fencing the holder: %+v, want holder for lockout only", d)
	}
	r, err = cs[2].Action(ctx, agent.ActionAcquire)
	if !errors.Is(err, scsi.ErrReservedByOther) || r.Code != agent.CodeReservedByOther || !strings.Contains(err.Error(), "a disk heartbeat (sbd:") {
		t.Fatalf("m3's acquire while m2 holds for lockout, no disk heartbeat: %v, code %q", err, r.Code)
	}
	r, err = cs[1].Action(ctx, agent.ActionAcquire)
	if err != nil {
		t.Fatal(err)
	}
	if d := r.Disks[0]; !d.Owner || d.Lockout {
		t.Fatalf("m2 after its acquire: %+v, want holder, claimed", d)
	}
	// m2 holds and claims: its fence of m3 changes neither.
	r, err = cs[1].Fence(ctx, "m3")
	if err != nil {
		t.Fatal(err)
	}
	if d := r.Disks[0]; !d.Owner || d.Lockout {
		t.Errorf("m2 after fencing a non-holder while holding: %+v, want still claimed", d)
	}
}
