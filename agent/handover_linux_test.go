package agent_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/agent/agenttest"
	"github.com/hakit/hakit/internal/testutil"
	"github.com/hakit/hakit/scsi"
)

// handoverConfig is member self's configuration among n, with the disk
// heartbeat on (every 100 ms) when beat.
func handoverConfig(t *testing.T, dir string, self, n int, beat bool) *agent.Config {
	t.Helper()
	if !beat {
		return membersConfig(t, dir, self, n)
	}
	return membersConfigWith(t, dir, self, n, "sbd: {device: /dev/fake-sbd, heartbeat_ms: 100}\n")
}

// waitEvent waits for an event of kind on ch.
func waitEvent(t *testing.T, ch <-chan agent.Event, kind string) agent.Event {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case e := <-ch:
			if e.Kind == kind {
				return e
			}
		case <-timeout:
			t.Fatalf("no %s event", kind)
		}
	}
}

// Three members with the disk heartbeat: m1 holds; m2 fences m1 and so
// holds for lockout only; m3's acquire posts a handover request, m2 moves
// the reservation (its event names m3), m3 claims it, m2 stays
// registered. Then m2's own acquire asks m3, whose hold is a claim: it
// refuses, and m2's acquire fails with the typed code
// (agent.ErrHandoverClaimed, not scsi.ErrReservedByOther).
func TestHandoverThreeMembers(t *testing.T) {
	testutil.SkipUnlessRoot(t) // the API socket is chowned to root
	ctx := context.Background()
	lun := agenttest.NewLUN("naa.600140500000000000000000000000dd")
	disks := memberDisks(lun, 3)
	beats := agenttest.NewBeats()
	dir := t.TempDir()
	var nodes []*node
	for i := 1; i <= 3; i++ {
		nodes = append(nodes, startNode(t, handoverConfig(t, dir, i, 3, true), agent.Deps{Disks: []agent.Disk{disks[i-1]}, Mailbox: beats.Mailbox(fmt.Sprintf("m%d", i))}))
	}
	for _, n := range nodes {
		if _, err := n.client.Action(ctx, agent.ActionRegister); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := nodes[0].client.Action(ctx, agent.ActionAcquire); err != nil {
		t.Fatal(err)
	}
	ev2 := subscribe(t, nodes[1])
	beats.Stop("m1")
	res, err := nodes[1].client.Fence(ctx, "m1")
	if err != nil {
		t.Fatal(err)
	}
	if d := res.Disks[0]; !d.Owner || !d.Lockout {
		t.Fatalf("m2 after fencing the holder: %+v, want the holder for lockout only", d)
	}
	start := time.Now()
	res, err = nodes[2].client.Action(ctx, agent.ActionAcquire)
	if err != nil {
		t.Fatalf("m3's acquire: %v (%+v)", err, res)
	}
	t.Logf("m3's acquire through the handover: %v", time.Since(start).Round(time.Millisecond))
	if d := res.Disks[0]; !d.Owner || d.Lockout {
		t.Errorf("m3 after its acquire: %+v, want the holder, claimed", d)
	}
	e := waitEvent(t, ev2, "handover")
	if e.Data["member"] != "m3" {
		t.Errorf("m2's handover event %+v, want member m3", e)
	}
	if d := disks[1]; !containsKey(lun.Keys(), d.Own) {
		t.Errorf("m2's key left the LUN: %v", lun.Keys())
	}
	if st, _ := nodes[1].client.Disks(ctx); len(st) != 1 || st[0].Owner || st[0].Lockout {
		t.Errorf("m2 after the handover: %+v", st)
	}

	// Both blocks carry nothing once the requester has its answer.
	waitFor(t, "requests and answers taken down", func() bool {
		r2, a2 := beats.Posted("m2")
		r3, a3 := beats.Posted("m3")
		return r2 == nil && a2 == nil && r3 == nil && a3 == nil
	})

	// m3 claimed it: m2's acquire is refused by m3, typed.
	res, err = nodes[1].client.Action(ctx, agent.ActionAcquire)
	if !errors.Is(err, agent.ErrHandoverClaimed) || errors.Is(err, scsi.ErrReservedByOther) || res.Code != agent.CodeHandoverClaimed {
		t.Errorf("m2's acquire of m3's claim: %v, code %q; want %s only", err, res.Code, agent.CodeHandoverClaimed)
	}
}

// Without a disk heartbeat the acquire is refused as before, with the
// typed code and a word on what enables the handover.
func TestHandoverNeedsDiskHeartbeat(t *testing.T) {
	testutil.SkipUnlessRoot(t)
	ctx := context.Background()
	lun := agenttest.NewLUN("naa.600140500000000000000000000000de")
	disks := memberDisks(lun, 3)
	for _, d := range disks {
		if err := d.Register(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := disks[0].Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	n := startNode(t, handoverConfig(t, t.TempDir(), 3, 3, false), agent.Deps{Disks: []agent.Disk{disks[2]}})
	res, err := n.client.Action(ctx, agent.ActionAcquire)
	if !errors.Is(err, scsi.ErrReservedByOther) || res.Code != agent.CodeReservedByOther || !strings.Contains(err.Error(), "a disk heartbeat (sbd:") {
		t.Errorf("acquire without a disk heartbeat: %v, code %q", err, res.Code)
	}
}

func containsKey(ks []uint64, k uint64) bool {
	for _, x := range ks {
		if x == k {
			return true
		}
	}
	return false
}

// A holder that is not alive on the disk heartbeat gets no request: the
// acquire is refused at once, saying why.
func TestHandoverNotToADeadHolder(t *testing.T) {
	testutil.SkipUnlessRoot(t)
	ctx := context.Background()
	lun := agenttest.NewLUN("naa.600140500000000000000000000000df")
	disks := memberDisks(lun, 3)
	for _, d := range disks {
		if err := d.Register(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := disks[0].Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	beats := agenttest.NewBeats()
	beats.Mailbox("m1")
	beats.Stop("m1")
	n := startNode(t, handoverConfig(t, t.TempDir(), 3, 3, true), agent.Deps{Disks: []agent.Disk{disks[2]}, Mailbox: beats.Mailbox("m3")})
	start := time.Now()
	res, err := n.client.Action(ctx, agent.ActionAcquire)
	if !errors.Is(err, scsi.ErrReservedByOther) || res.Code != agent.CodeReservedByOther || !strings.Contains(err.Error(), "not alive on the disk heartbeat") {
		t.Errorf("acquire with a dead holder: %v, code %q", err, res.Code)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("refused after %v: no wait expected", d)
	}
}

// A holder alive on the disk heartbeat that never answers (no agent
// moves for it): the request times out after the bound, typed
// (agent.ErrHandoverTimeout, which also matches scsi.ErrReservedByOther:
// hakit-disk's start may try again), and the request is taken down.
func TestHandoverTimeout(t *testing.T) {
	testutil.SkipUnlessRoot(t)
	ctx := context.Background()
	lun := agenttest.NewLUN("naa.600140500000000000000000000000e0")
	disks := memberDisks(lun, 3)
	for _, d := range disks {
		if err := d.Register(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := disks[0].Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	beats := agenttest.NewBeats()
	beats.Mailbox("m1") // alive, silent
	n := startNode(t, handoverConfig(t, t.TempDir(), 3, 3, true), agent.Deps{Disks: []agent.Disk{disks[2]}, Mailbox: beats.Mailbox("m3")})
	waitFor(t, "m3 sees m1 on the disk heartbeat", func() bool {
		st, err := n.client.Status(ctx)
		return err == nil && st.DiskHeartbeat != nil && len(st.DiskHeartbeat.Peers) > 0
	})
	start := time.Now()
	res, err := n.client.Action(ctx, agent.ActionAcquire)
	took := time.Since(start)
	if !errors.Is(err, agent.ErrHandoverTimeout) || !errors.Is(err, scsi.ErrReservedByOther) || res.Code != agent.CodeHandoverTimeout {
		t.Errorf("acquire with a silent holder: %v, code %q", err, res.Code)
	}
	if took < 2*time.Second || took > 5*time.Second {
		t.Errorf("refused after %v, want the bound (2 s at heartbeat_ms 100)", took)
	}
	if r, _ := beats.Posted("m3"); r != nil {
		t.Errorf("request still posted after the timeout: %+v", r)
	}
}
