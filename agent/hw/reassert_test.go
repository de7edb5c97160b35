package hw

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/scsi"
	"github.com/hakit/hakit/scsi/scsitest"
)

// refusingPROut answers every PR OUT with RESERVATION CONFLICT while refuse
// is set: a reassert the device turns down.
type refusingPROut struct {
	scsi.Transport
	refuse atomic.Bool
}

func (r *refusingPROut) Execute(ctx context.Context, cmd *scsi.Command) (*scsi.Response, error) {
	if r.refuse.Load() && len(cmd.CDB) > 0 && cmd.CDB[0] == scsi.OpPROut {
		return &scsi.Response{Status: scsi.StatusReservationConflict}, nil
	}
	return r.Transport.Execute(ctx, cmd)
}

// After a reconnect the old session's registration stays as an orphan
// (tgtd keeps it; the fake LUN does the same), so READ KEYS still lists
// this node's key. When the reconnect hook's reassert fails, the disk's
// status must not report this node registered or owner until a reassert
// through the live session succeeds, which each status retries; Generation
// fails meanwhile so the watcher keeps reading the status.
func TestFailedReassertIsNotRegistered(t *testing.T) {
	const keyA, keyB = scsi.Key(0x686b000000000001), scsi.Key(0x686b000000000002)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lun := scsitest.New(scsitest.Config{NoPreemptAndAbort: true, NoReadFullStatus: true, NoAPTPL: true})
	nx := lun.Connect("iqn.2026-11.io.hakit:a", "")
	tr := &refusingPROut{Transport: nx}
	o, err := scsi.NewOwner(scsi.OwnerConfig{Transport: tr, Name: "lun0", Key: keyA})
	if err != nil {
		t.Fatal(err)
	}
	d := &Disk{cfg: agent.DiskConfig{Device: "iscsi://fake/lun0"}, own: keyA, peer: keyB, log: slog.New(slog.NewTextHandler(t.Output(), nil)), sess: io.NopCloser(nil), owner: o}
	b := testOwner(t, lun, "b", keyB)
	if _, err := b.Register(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d.Register(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	status := func(what string, registered bool) agent.DiskStatus {
		t.Helper()
		s, err := d.Status(ctx)
		if err != nil {
			t.Fatalf("%s: status: %v", what, err)
		}
		if s.Registered != registered || s.Owner != registered {
			t.Errorf("%s: registered=%v owner=%v (keys %v, holder %s, notes %q), want both %v", what, s.Registered, s.Owner, s.Keys, s.Holder, s.Notes, registered)
		}
		return s
	}
	status("before the reconnect", true)

	// The session is replaced; the hook's reassert is turned down.
	nx.Reconnect()
	tr.refuse.Store(true)
	if err := d.reassert(ctx, o); err == nil {
		t.Fatal("reassert succeeded although the device refused PR OUT")
	}
	s := status("reassert refused", false)
	if !strings.Contains(strings.Join(s.Keys, " "), keyA.String()) {
		t.Errorf("keys %v: want the old session's orphan still listed (else this test shows nothing)", s.Keys)
	}
	if !strings.Contains(strings.Join(s.Notes, "|"), "not restored on the live session") {
		t.Errorf("notes %q do not say why", s.Notes)
	}
	if _, err := d.Generation(ctx); err == nil {
		t.Error("Generation succeeded while the registration is unconfirmed: the watcher would not read the status again")
	}
	status("still refused", false)

	// The device takes PR OUT again: the next status's reassert succeeds.
	tr.refuse.Store(false)
	s = status("reassert retried", true)
	if n := strings.Count(strings.Join(s.Keys, " "), keyA.String()); n != 1 {
		t.Errorf("keys %v: own key %d times, want once (orphan dropped)", s.Keys, n)
	}
	if _, err := d.Generation(ctx); err != nil {
		t.Errorf("Generation after the reassert: %v", err)
	}
}
