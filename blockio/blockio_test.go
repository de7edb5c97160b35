package blockio_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/hakit/hakit/blockio"
	"github.com/hakit/hakit/scsi"
	"github.com/hakit/hakit/scsi/scsitest"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// roundTrip writes two sectors, reads them back and checks a partial-sector
// buffer is refused.
func roundTrip(t *testing.T, s blockio.Sectors, lba uint64) {
	t.Helper()
	ctx := ctxT(t)
	ss := s.SectorSize()
	data := bytes.Repeat([]byte("hakit-sector-"), 2*ss/13+1)[:2*ss]
	if err := s.WriteSectors(ctx, lba, data); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 2*ss)
	if err := s.ReadSectors(ctx, lba, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("read back differs")
	}
	var se *blockio.SizeError
	if err := s.ReadSectors(ctx, lba, make([]byte, ss+1)); !errors.As(err, &se) {
		t.Fatalf("partial sector read: %v, want *SizeError", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.ReadSectors(cctx, lba, got); err == nil {
		t.Fatal("read with an ended context: no error")
	}
}

func TestSCSI(t *testing.T) {
	lun := scsitest.New(scsitest.Config{Blocks: 64})
	s := &blockio.SCSI{Device: &scsi.Device{Transport: lun.Connect("iqn.test:a", "1")}, BlockSize: 512, Allowed: scsi.Region{Start: 0, Len: 8}}
	roundTrip(t, s, 2)
	var re *scsi.RegionError
	if err := s.WriteSectors(ctxT(t), 7, make([]byte, 1024)); !errors.As(err, &re) {
		t.Fatalf("write across the region: %v, want *scsi.RegionError", err)
	}
	if lun.Count(scsi.OpWrite16) != 1 {
		t.Errorf("WRITE(16) sent %d times, want 1 (the refused write is not sent)", lun.Count(scsi.OpWrite16))
	}
}

func TestFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "disk")
	if err := os.WriteFile(p, make([]byte, 64*512), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := blockio.OpenFile(p)
	if runtime.GOOS != "linux" {
		if !errors.Is(err, errors.ErrUnsupported) {
			t.Fatalf("OpenFile on %s: %v, want ErrUnsupported", runtime.GOOS, err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.SectorSize() != 512 {
		t.Errorf("sector size %d", f.SectorSize())
	}
	roundTrip(t, f, 3)
	var short *blockio.ShortError
	if err := f.ReadSectors(ctxT(t), 63, make([]byte, 1024)); !errors.As(err, &short) {
		t.Errorf("read past the end: %v, want *ShortError", err)
	}
}
