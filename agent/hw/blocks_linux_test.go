package hw_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/agent/hw"
	"github.com/hakit/hakit/internal/rig/rigpair"
	"github.com/hakit/hakit/scsi"
)

var _ agent.BlockDisk = (*hw.Disk)(nil)

// registeredAHolding registers both agents' keys and lets A take the disk.
func registeredAHolding(ctx context.Context, t *testing.T, p *rigpair.Pair) (a, b *agent.Client) {
	t.Helper()
	a, b = p.Clients[0], p.Clients[1]
	for _, c := range []*agent.Client{a, b} {
		if _, err := c.Action(ctx, "register"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.Action(ctx, "acquire"); err != nil {
		t.Fatal(err)
	}
	return a, b
}

// TestIntegrationBlocksThroughAgent: data blocks move through each
// agent's own registered session. A holds the disk and writes a pattern;
// B reads it back through its agent; a write outside the named region is
// refused before it is sent; after B fenced A, the LUN answers A's write
// with RESERVATION CONFLICT and the API says so (409,
// scsi.ErrReservationConflict), and the blocks are as A last wrote them.
func TestIntegrationBlocksThroughAgent(t *testing.T) {
	_, p := rigPair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, b := registeredAHolding(ctx, t, p)
	dev := p.Configs[0].Disks[0].Device
	devB := p.Configs[1].Disks[0].Device
	region := scsi.Region{Start: 4096, Len: 64}
	data := bytes.Repeat([]byte("hakit-blocks-"), 512*8/13+1)[:512*8]
	start := time.Now()
	if r, err := a.WriteBlocks(ctx, dev, region, 4100, data); err != nil || r.Blocks != 8 || r.BlockSize != 512 {
		t.Fatalf("A's write: %+v %v", r, err)
	}
	t.Logf("8 blocks written through A's agent in %v", time.Since(start).Round(time.Microsecond))
	r, err := b.ReadBlocks(ctx, devB, 4100, 8)
	if err != nil || !bytes.Equal(r.Data, data) {
		t.Fatalf("B's read of A's blocks: %d bytes, equal %v, %v", len(r.Data), bytes.Equal(r.Data, data), err)
	}
	if _, err := a.WriteBlocks(ctx, dev, region, 4160, data); err == nil || !strings.Contains(err.Error(), "outside the allowed region") {
		t.Errorf("a write past the region's end: %v, want it refused", err)
	}
	if _, err := a.ReadBlocks(ctx, "/dev/nonexistent", 0, 1); err == nil || !strings.Contains(err.Error(), "not a disk of this node") {
		t.Errorf("read of an unknown device: %v", err)
	}
	if _, err := b.Fence(ctx, "node-a"); err != nil {
		t.Fatal(err)
	}
	_, err = a.WriteBlocks(ctx, dev, region, 4100, bytes.Repeat([]byte{0xee}, 512))
	if !errors.Is(err, scsi.ErrReservationConflict) || !strings.Contains(err.Error(), "RESERVATION CONFLICT") {
		t.Fatalf("the fenced A's write = %v, want the LUN's RESERVATION CONFLICT", err)
	}
	t.Logf("fenced node's write: %v", err)
	if r, err := b.ReadBlocks(ctx, devB, 4100, 8); err != nil || !bytes.Equal(r.Data, data) {
		t.Fatalf("after the refused write B reads changed blocks (%v)", err)
	}
}

// TestIntegrationReleaseKeepsFencedPeerOut: with no reservation any
// initiator may write, registered or not, so a release while the peer is
// fenced would let the fenced peer write again. A fences B and releases:
// the reservation is kept (lockout, claimed by nobody) and B's write is
// still refused; once B is unfenced, A's agent releases it and B can
// take the disk.
func TestIntegrationReleaseKeepsFencedPeerOut(t *testing.T) {
	_, p := rigPair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, b := registeredAHolding(ctx, t, p)
	if _, err := a.Fence(ctx, "node-b"); err != nil {
		t.Fatal(err)
	}
	r, err := a.Action(ctx, "release")
	if err != nil {
		t.Fatal(err)
	}
	if d := r.Disks[0]; !d.Lockout || !d.Owner || d.PeerRegistered {
		t.Fatalf("A after the release with B fenced: %+v: want the reservation kept for lockout", d)
	}
	devB := p.Configs[1].Disks[0].Device
	if _, err := b.WriteBlocks(ctx, devB, scratchRegion, scratchRegion.Start, make([]byte, 512)); !errors.Is(err, scsi.ErrReservationConflict) {
		t.Fatalf("the fenced B's write after A's release = %v, want RESERVATION CONFLICT", err)
	}
	if _, err := b.Action(ctx, "unfence"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for {
		ds, err := a.Disks(ctx)
		if err == nil && ds[0].Holder == "" && !ds[0].Lockout && ds[0].PeerRegistered {
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("A still holds the lockout 10 s after B's unfence: %+v %v", ds, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("B unfenced: A released the lockout %v later", time.Since(start).Round(time.Millisecond))
	if _, err := b.Action(ctx, "acquire"); err != nil {
		t.Fatalf("B's acquire after the lockout went: %v", err)
	}
}

var scratchRegion = scsi.Region{Start: 20000, Len: 8}
