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
	"github.com/hakit/hakit/scsi"
)

var _ agent.BlockDisk = (*hw.Disk)(nil)

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
	a, b := p.Clients[0], p.Clients[1]
	for _, c := range []*agent.Client{a, b} {
		if _, err := c.Action(ctx, "register"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.Action(ctx, "acquire"); err != nil {
		t.Fatal(err)
	}
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
