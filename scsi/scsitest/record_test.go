package scsitest_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/hakit/hakit/scsi"
	"github.com/hakit/hakit/scsi/scsitest"
)

// fakeTB records errors instead of failing, to test that Playback reports.
type fakeTB struct {
	testing.TB
	errs int
}

func (f *fakeTB) Errorf(string, ...any) { f.errs++ }
func (f *fakeTB) Helper()               {}

func TestRecordPlayback(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	lun := scsitest.New(scsitest.Config{})
	rec := &scsitest.Recorder{Transport: lun.Connect("iqn.x:a", "")}
	dev := &scsi.Device{Transport: rec}
	if err := dev.PROut(ctx, scsi.PROutRegister, 0, scsi.PROutParams{ServiceActionKey: 7}); err != nil {
		t.Fatal(err)
	}
	k, err := dev.ReadKeys(ctx)
	if err != nil || len(k.Keys) != 1 {
		t.Fatalf("keys %v %v", k, err)
	}
	path := filepath.Join(t.TempDir(), "rec.json")
	if err := rec.WriteFile(path); err != nil {
		t.Fatal(err)
	}

	pb := scsitest.LoadPlayback(t, path)
	dev = &scsi.Device{Transport: pb}
	if err := dev.PROut(ctx, scsi.PROutRegister, 0, scsi.PROutParams{ServiceActionKey: 7}); err != nil {
		t.Fatal(err)
	}
	if k2, err := dev.ReadKeys(ctx); err != nil || k2.Keys[0] != 7 {
		t.Errorf("replayed keys %v %v", k2, err)
	}
	if err := pb.Close(); err != nil {
		t.Error(err)
	}

	// A different command, an extra one, and unplayed ones are reported.
	ftb := &fakeTB{TB: t}
	pb = scsitest.LoadPlayback(t, path)
	pb.TB = ftb
	if _, err := pb.Execute(ctx, scsi.TestUnitReady()); err == nil || ftb.errs != 1 {
		t.Errorf("mismatch: %v, %d errors", err, ftb.errs)
	}
	if err := pb.Close(); err == nil || ftb.errs != 2 {
		t.Errorf("unplayed: %v, %d errors", err, ftb.errs)
	}
	pb = &scsitest.Playback{TB: ftb}
	if _, err := pb.Execute(ctx, scsi.TestUnitReady()); err == nil || ftb.errs != 3 {
		t.Errorf("extra: %v, %d errors", err, ftb.errs)
	}
}

func TestNexusDropAndSCSI2(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	lun := scsitest.New(scsitest.Config{})
	a := lun.Connect("iqn.x:a", "1")
	b := lun.Connect("iqn.x:b", "2")
	da, db := &scsi.Device{Transport: a}, &scsi.Device{Transport: b}
	if err := da.Reserve6(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.Reserve6(ctx); err == nil {
		t.Error("B reserved over A")
	}
	a.Drop()
	if err := da.TestUnitReady(ctx); err == nil {
		t.Error("dropped nexus answered")
	}
	// The session is lost: its SCSI-2 reservation goes with it.
	a.Reconnect()
	if err := db.Reserve6(ctx); err != nil {
		t.Errorf("B reserve after A's session loss: %v", err)
	}
	lun.SetOnline(false)
	if err := db.TestUnitReady(ctx); err == nil {
		t.Error("offline LUN ready")
	}
	if a.Initiator() != "iqn.x:a" {
		t.Error(a.Initiator())
	}
}
