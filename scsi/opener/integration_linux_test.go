package opener

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hakit/hakit/internal/rig"
	"github.com/hakit/hakit/scsi"
	"github.com/hakit/hakit/scsi/iscsi"
)

// Sessions logs in once per initiator port and target: two LUNs of the
// rig's target share one session, another ISID gets its own, and the
// session logs out when its last LUN is given back.
func TestIntegrationSessionsShare(t *testing.T) {
	const iqn = "iqn.2026-11.io.hakit.test:opener"
	d := rig.DiskFor(t, rig.DiskConfig{Initiators: []string{iqn}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	url1, err := d.AddLUN(ctx, 2, 1<<20, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var p Sessions
	o := Options{Initiator: iqn, CommandTimeout: 5 * time.Second}
	t0, c0, err := p.Open(ctx, d.URL(), o)
	if err != nil {
		t.Fatal(err)
	}
	t1, c1, err := p.Open(ctx, url1, o)
	if err != nil {
		t.Fatal(err)
	}
	other := o
	other.ISID = iscsi.DerivedISID(iqn, iscsi.ISIDHWCheckPath)
	t2, c2, err := p.Open(ctx, d.URL(), other)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	s0, s1, s2 := t0.(*iscsi.LogicalUnit).Session(), t1.(*iscsi.LogicalUnit).Session(), t2.(*iscsi.LogicalUnit).Session()
	if s0 != s1 {
		t.Error("two LUNs of one target from one initiator port got two sessions")
	}
	if s2 == s0 {
		t.Error("another ISID shared the session")
	}
	tur := &scsi.Command{CDB: []byte{0, 0, 0, 0, 0, 0}}
	if err := c0.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := t1.Execute(ctx, tur); err != nil {
		t.Errorf("LUN 2 after LUN 0 was given back: %v", err)
	}
	if err := c1.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := t1.Execute(ctx, tur); !errors.Is(err, iscsi.ErrClosed) {
		t.Errorf("after the last LUN was given back: %v, want the session closed", err)
	}
	if _, err := t2.Execute(ctx, tur); err != nil {
		t.Errorf("the other initiator port's session: %v", err)
	}
}
