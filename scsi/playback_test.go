package scsi_test

import (
	"strings"
	"testing"

	"github.com/hakit/hakit/scsi"
	"github.com/hakit/hakit/scsi/scsitest"
)

// Fence replayed from a tgtd 1.0.85 recording (testdata/tgtd-fence.json,
// rewritten by go test -run IntegrationFence -args -record-tgtd): tgtd
// answers PREEMPT AND ABORT with ILLEGAL REQUEST 24/00 and Fence falls back
// to PREEMPT (SPC-4 5.12.11.4), then verifies with READ KEYS and READ
// RESERVATION.
func TestPlaybackTgtdFence(t *testing.T) {
	pb := scsitest.LoadPlayback(t, "testdata/tgtd-fence.json")
	o, err := scsi.NewOwner(scsi.OwnerConfig{Transport: pb, Key: keyB, Type: scsi.TypeWriteExclusive, AllowPreemptWithoutAbort: true})
	if err != nil {
		t.Fatal(err)
	}
	r, err := o.Fence(ctxT(t), keyA)
	if err != nil {
		t.Fatal(err)
	}
	if r.Method != scsi.PROutPreempt || !strings.Contains(r.Fallback, "ILLEGAL REQUEST 24/00") {
		t.Errorf("method %s fallback %q", r.MethodName, r.Fallback)
	}
	if len(r.Keys.Keys) != 1 || r.Keys.Keys[0] != keyB || r.Reservation.Key != keyB {
		t.Errorf("read back: keys %v reservation %+v", r.Keys.Keys, r.Reservation)
	}
	if err := pb.Close(); err != nil {
		t.Error(err)
	}
}

// Identify and READ CAPACITY(16) replayed from tgtd (two NAA designators
// and a T10 vendor ID; a unit attention 29/00 absorbed on READ CAPACITY).
func TestPlaybackTgtdIdentify(t *testing.T) {
	pb := scsitest.LoadPlayback(t, "testdata/tgtd-identify.json")
	dev := &scsi.Device{Transport: pb, UnitAttentionRetries: 4}
	ctx := ctxT(t)
	id, err := dev.Identify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if id.ID != "naa.60000000000000000e00000000010001" || id.Source != "NAA" || id.Vendor != "IET" || id.Product != "VIRTUAL-DISK" || len(id.Designators) != 3 {
		t.Errorf("identity %+v", id)
	}
	c, err := dev.ReadCapacity(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c.Bytes() != 64<<20 || c.BlockSize != 512 {
		t.Errorf("capacity %+v", c)
	}
	if err := pb.Close(); err != nil {
		t.Error(err)
	}
}
