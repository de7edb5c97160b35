package scsi_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/hakit/hakit/scsi"
)

// TestIntegrationBlocksFencedWrite: on tgtd over the iSCSI initiator, both
// nodes register under Write Exclusive Registrants Only and each writes and
// reads back with READ(16)/WRITE(16) FUA; A fences B (PREEMPT); B's next
// WRITE(16) is a RESERVATION CONFLICT reported as ErrReservationConflict,
// and a write outside the named region is refused before it is sent.
func TestIntegrationBlocksFencedWrite(t *testing.T) {
	_, a, b := tgtdPair(t, scsi.TypeWriteExclusiveRegistrantsOnly)
	ctx := ctxT(t)
	chk(a.owner.Register(ctx))(t)
	chk(b.owner.Register(ctx))(t)
	chk(a.owner.Acquire(ctx))(t)
	region := scsi.Region{Start: 16, Len: 8}
	da := &scsi.Device{Transport: a.sess, Name: "A", UnitAttentionRetries: 8}
	db := &scsi.Device{Transport: b.sess, Name: "B", UnitAttentionRetries: 8}
	for i, d := range []*scsi.Device{da, db} {
		data := bytes.Repeat([]byte{byte('a' + i)}, 1024)
		if err := d.WriteBlocks(ctx, region, 16+uint64(2*i), data, 512, true); err != nil {
			t.Fatalf("%s WRITE(16): %v", d.Name, err)
		}
		got, err := d.ReadBlocks(ctx, 16+uint64(2*i), 2, 512, true)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%s READ(16): %v, equal %v", d.Name, err, bytes.Equal(got, data))
		}
	}
	var re *scsi.RegionError
	if err := da.WriteBlocks(ctx, region, 23, make([]byte, 1024), 512, true); !errors.As(err, &re) {
		t.Fatalf("write across the region's end: %v, want *RegionError", err)
	}
	if _, err := a.owner.Fence(ctx, keyB); err != nil {
		t.Fatal(err)
	}
	err := db.WriteBlocks(ctx, region, 16, make([]byte, 512), 512, true)
	if !errors.Is(err, scsi.ErrReservationConflict) {
		t.Fatalf("fenced B WRITE(16): %v, want reservation conflict", err)
	}
	t.Logf("fenced write: %v", err)
	if err := da.WriteBlocks(ctx, region, 16, make([]byte, 512), 512, true); err != nil {
		t.Fatalf("A WRITE(16) after the fence: %v", err)
	}
}
