package scsi_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hakit/hakit/internal/testutil"
	"github.com/hakit/hakit/scsi"
	"github.com/hakit/hakit/scsi/scsitest"
)

const (
	keyA = scsi.Key(0x686b8ed3f6ad0001)
	keyB = scsi.Key(0x686b8ed3f6ad0002)
)

type node struct {
	name  string
	nx    *scsitest.Nexus
	owner *scsi.Owner
	dev   *scsi.Device
}

func newNode(t *testing.T, lun *scsitest.LUN, name string, key scsi.Key, typ scsi.ReservationType) *node {
	t.Helper()
	nx := lun.Connect("iqn.2026-11.io.hakit:"+name, "23d00000000"+name[len(name)-1:])
	o, err := scsi.NewOwner(scsi.OwnerConfig{Transport: nx, Name: name, Key: key, Type: typ, AllowPreemptWithoutAbort: true})
	if err != nil {
		t.Fatal(err)
	}
	return &node{name: name, nx: nx, owner: o, dev: &scsi.Device{Transport: nx, Name: name}}
}

// registeredPair makes nodes A and B on a LUN with cfg and registers both.
func registeredPair(t *testing.T, ctx context.Context, cfg scsitest.Config, typ scsi.ReservationType) (*scsitest.LUN, *node, *node) {
	t.Helper()
	lun := scsitest.New(cfg)
	a, b := newNode(t, lun, "node-a", keyA, typ), newNode(t, lun, "node-b", keyB, typ)
	chk(a.owner.Register(ctx))(t)
	chk(b.owner.Register(ctx))(t)
	return lun, a, b
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func (n *node) write(ctx context.Context) error {
	cmd, err := scsi.Write10(0, make([]byte, 512), 512)
	if err != nil {
		return err
	}
	_, err = n.dev.Do(ctx, cmd)
	return err
}

func (n *node) read(ctx context.Context) error {
	_, err := n.dev.Do(ctx, scsi.Read10(0, 1, 512))
	return err
}

// writeAfterUA writes, skipping over unit attentions and sending once more
// after a transport failure (a connection dropped under the write, as an
// application would), and returns the unit attentions seen and the final
// error.
func (n *node) writeAfterUA(ctx context.Context) ([]scsi.Sense, error) {
	var uas []scsi.Sense
	lost := 0
	for range 8 {
		err := n.write(ctx)
		if scsi.IsTransportError(ctx, err) && lost == 0 {
			lost++
			continue
		}
		se, ok := scsi.AsSense(err)
		if !ok || !errors.Is(err, scsi.ErrUnitAttention) {
			return uas, err
		}
		uas = append(uas, se.Sense)
	}
	return uas, errors.New("unit attentions do not stop")
}

// chk(f())(t) fails t when f returned an error, else gives f's value.
func chk[T any](v T, err error) func(*testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func TestNewOwnerValidates(t *testing.T) {
	lun := scsitest.New(scsitest.Config{})
	nx := lun.Connect("i", "")
	for _, cfg := range []scsi.OwnerConfig{
		{Key: 1},
		{Transport: nx},
		{Transport: nx, Key: 1, Type: 2},
	} {
		if _, err := scsi.NewOwner(cfg); err == nil {
			t.Errorf("NewOwner(%+v): no error", cfg)
		}
	}
	o, err := scsi.NewOwner(scsi.OwnerConfig{Transport: nx, Key: 1})
	if err != nil || o.Type() != scsi.TypeWriteExclusiveRegistrantsOnly || o.Key() != 1 {
		t.Errorf("defaults: %v %v", o, err)
	}
}

// SPC-4 5.12.7 (registering) and 5.12.9 (reserving): both nodes register,
// A reserves Write Exclusive - Registrants Only. Registrants may write
// (SPC-4 table 63), an unregistered initiator may not.
func TestRegisterAcquireRegistrantsOnly(t *testing.T) {
	ctx := ctxT(t)
	lun := scsitest.New(scsitest.Config{})
	a, b := newNode(t, lun, "node-a", keyA, 0), newNode(t, lun, "node-b", keyB, 0)
	chk(a.owner.Register(ctx))(t)
	r := chk(b.owner.Register(ctx))(t)
	if d := cmp.Diff([]scsi.Key{keyA, keyB}, r.Keys.Keys); d != "" {
		t.Errorf("keys after register (-want +got):\n%s", d)
	}
	r = chk(a.owner.Acquire(ctx))(t)
	if want := (scsi.Reservation{Generation: r.Reservation.Generation, Held: true, Key: keyA, Type: scsi.TypeWriteExclusiveRegistrantsOnly}); r.Reservation != want {
		t.Errorf("reservation = %+v, want %+v", r.Reservation, want)
	}
	// Acquire again is a no-op.
	r = chk(a.owner.Acquire(ctx))(t)
	if len(r.Notes) == 0 || !strings.Contains(r.Notes[0], "already reserved") {
		t.Errorf("second acquire notes: %q", r.Notes)
	}
	if err := b.write(ctx); err != nil {
		t.Errorf("registrant B write under WE-RO: %v", err)
	}
	c := newNode(t, lun, "node-c", 0x99, 0)
	if err := c.write(ctx); !errors.Is(err, scsi.ErrReservationConflict) {
		t.Errorf("unregistered C write: %v, want reservation conflict", err)
	}
	// Acquire with another type while holding: a clear error.
	other, _ := scsi.NewOwner(scsi.OwnerConfig{Transport: a.nx, Key: keyA, Type: scsi.TypeExclusiveAccess})
	if _, err := other.Acquire(ctx); err == nil || !strings.Contains(err.Error(), "release it first") {
		t.Errorf("acquire with another type: %v", err)
	}
	// B cannot acquire: A holds it.
	if _, err := b.owner.Acquire(ctx); !errors.Is(err, scsi.ErrReservedByOther) {
		t.Errorf("B acquire: %v, want ErrReservedByOther", err)
	}
	st := chk(a.owner.Status(ctx))(t)
	if !st.Owned() || st.Holder != "self" || st.OwnRegistrations != 1 {
		t.Errorf("A status: owned %v holder %s own %d", st.Owned(), st.Holder, st.OwnRegistrations)
	}
	stB := chk(b.owner.Status(ctx))(t)
	if stB.Owned() || stB.Holder != "other" {
		t.Errorf("B status: owned %v holder %s", stB.Owned(), stB.Holder)
	}
}

// SPC-4 table 63: under Write Exclusive only the holder writes; every
// initiator reads.
func TestWriteExclusiveConflict(t *testing.T) {
	ctx := ctxT(t)
	_, a, b := registeredPair(t, ctx, scsitest.Config{}, scsi.TypeWriteExclusive)
	chk(a.owner.Acquire(ctx))(t)
	if err := b.write(ctx); !errors.Is(err, scsi.ErrReservationConflict) {
		t.Errorf("B write: %v, want conflict", err)
	}
	if err := b.read(ctx); err != nil {
		t.Errorf("B read: %v", err)
	}
	if err := a.write(ctx); err != nil {
		t.Errorf("A write: %v", err)
	}
}

// SPC-4 5.12.11.4 (PREEMPT AND ABORT): B preempts A's key; A's
// registration goes, A gets UNIT ATTENTION 2A/05 (registrations
// preempted) and then RESERVATION CONFLICT; the read-back shows A gone.
func TestFencePreemptAndAbort(t *testing.T) {
	for _, typ := range []scsi.ReservationType{scsi.TypeWriteExclusiveRegistrantsOnly, scsi.TypeWriteExclusive, scsi.TypeExclusiveAccess} {
		t.Run(typ.Short(), func(t *testing.T) {
			ctx := ctxT(t)
			_, a, b := registeredPair(t, ctx, scsitest.Config{}, typ)
			chk(a.owner.Acquire(ctx))(t)
			r, err := b.owner.Fence(ctx, keyA)
			if err != nil {
				t.Fatal(err)
			}
			if r.Method != scsi.PROutPreemptAndAbort || r.Fallback != "" || r.MethodName != "PREEMPT AND ABORT" {
				t.Errorf("method %v fallback %q", r.Method, r.Fallback)
			}
			if d := cmp.Diff([]scsi.Key{keyB}, r.Keys.Keys); d != "" {
				t.Errorf("keys (-want +got):\n%s", d)
			}
			if !r.Reservation.Held || r.Reservation.Key != keyB || r.Reservation.Type != typ {
				t.Errorf("reservation %+v", r.Reservation)
			}
			uas, err := a.writeAfterUA(ctx)
			if !errors.Is(err, scsi.ErrReservationConflict) {
				t.Errorf("A write after fence: %v, want conflict", err)
			}
			if len(uas) == 0 || uas[0].ASC != 0x2a || uas[0].ASCQ != 0x05 {
				t.Errorf("A unit attentions %v, want 2a/05", uas)
			}
			if err := b.write(ctx); err != nil {
				t.Errorf("B write: %v", err)
			}
			if b.owner.Support().PreemptAndAbort != scsi.Supported {
				t.Errorf("support %+v", b.owner.Support())
			}
		})
	}
}

// A target that refuses PREEMPT AND ABORT (tgtd: ILLEGAL REQUEST 24/00):
// Fence falls back to PREEMPT, says so, and remembers it.
func TestFenceFallbackToPreempt(t *testing.T) {
	ctx := ctxT(t)
	cfg := scsitest.Config{NoPreemptAndAbort: true, NoReadFullStatus: true, NoAPTPL: true}
	lun, a, b := registeredPair(t, ctx, cfg, 0)
	chk(a.owner.Acquire(ctx))(t)

	// By default a target without PREEMPT AND ABORT fails the fence and
	// changes nothing.
	strict, err := scsi.NewOwner(scsi.OwnerConfig{Transport: b.nx, Name: "node-b", Key: keyB})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := strict.Fence(ctx, keyA); !errors.Is(err, scsi.ErrAbortRefused) || !strings.Contains(err.Error(), "allow_preempt_without_abort") {
		t.Fatalf("strict fence on a target without PREEMPT AND ABORT: %v, want ErrAbortRefused naming the setting", err)
	}
	if !slices.Contains(lun.Keys(), keyA) {
		t.Fatal("the refused strict fence removed A's key")
	}

	// Allowed: PREEMPT, said in the result.
	r, err := b.owner.Fence(ctx, keyA)
	if err != nil {
		t.Fatal(err)
	}
	if r.Method != scsi.PROutPreempt || !strings.Contains(r.Fallback, "refused PREEMPT AND ABORT") || !strings.Contains(r.Fallback, "24/00") || !strings.Contains(r.Fallback, "not aborted") {
		t.Errorf("method %v fallback %q", r.Method, r.Fallback)
	}
	if b.owner.Support().PreemptAndAbort != scsi.Unsupported {
		t.Errorf("support not recorded: %+v", b.owner.Support())
	}
	if _, err := a.writeAfterUA(ctx); !errors.Is(err, scsi.ErrReservationConflict) {
		t.Errorf("A write: %v", err)
	}
	// A unfences and B fences again: PREEMPT AND ABORT is asked for again
	// (one refusal does not downgrade later fences).
	chk(a.owner.Unfence(ctx))(t)
	before := lun.Count(scsi.OpPROut)
	r, err = b.owner.Fence(ctx, keyA)
	if err != nil {
		t.Fatal(err)
	}
	if n := lun.Count(scsi.OpPROut) - before; n != 2 || r.Method != scsi.PROutPreempt {
		t.Errorf("second fence: %d PR OUT (want PREEMPT AND ABORT then PREEMPT), method %v, fallback %q", n, r.Method, r.Fallback)
	}
}

// One refusal of PREEMPT AND ABORT (here a 26/00 the target answered once,
// for another cause) does not stick: the next fence asks for the abort
// again and gets it.
func TestFenceAbortReprobed(t *testing.T) {
	ctx := ctxT(t)
	lun := scsitest.New(scsitest.Config{NoReadFullStatus: true})
	a := newNode(t, lun, "node-a", keyA, 0)
	bnx := lun.Connect("iqn.2026-11.io.hakit:node-b", "23d000000002")
	f := &scsitest.Faulty{T: bnx}
	b, err := scsi.NewOwner(scsi.OwnerConfig{Transport: f, Name: "node-b", Key: keyB, AllowPreemptWithoutAbort: true})
	if err != nil {
		t.Fatal(err)
	}
	chk(a.owner.Register(ctx))(t)
	chk(b.Register(ctx))(t)
	chk(a.owner.Acquire(ctx))(t)
	sense := []byte{0x70, 0, byte(scsi.SenseIllegalRequest), 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x26, 0x00, 0, 0, 0, 0}
	f.Add(&scsitest.Fault{Match: scsitest.IsPROut(scsi.PROutPreemptAndAbort), Reply: &scsi.Response{Status: scsi.StatusCheckCondition, Sense: sense}})
	r := chk(b.Fence(ctx, keyA))(t)
	if r.Method != scsi.PROutPreempt || r.Fallback == "" {
		t.Fatalf("first fence: method %v fallback %q, want PREEMPT with the reason", r.Method, r.Fallback)
	}
	chk(a.owner.Unfence(ctx))(t)
	r = chk(b.Fence(ctx, keyA))(t)
	if r.Method != scsi.PROutPreemptAndAbort || r.Fallback != "" {
		t.Errorf("second fence: method %v fallback %q, want PREEMPT AND ABORT", r.Method, r.Fallback)
	}
}

func TestFenceErrors(t *testing.T) {
	ctx := ctxT(t)
	_, a, b := registeredPair(t, ctx, scsitest.Config{}, 0)
	if _, err := a.owner.Fence(ctx, keyA); !errors.Is(err, scsi.ErrOwnKey) {
		t.Errorf("fence own key: %v", err)
	}
	if _, err := a.owner.Fence(ctx, 0); !errors.Is(err, scsi.ErrKeyNotRegistered) {
		t.Errorf("fence key 0: %v", err)
	}
	_, err := a.owner.Fence(ctx, 0x1234)
	if !errors.Is(err, scsi.ErrKeyNotRegistered) || !strings.Contains(err.Error(), "0x1234") {
		t.Errorf("fence unknown key: %v", err)
	}
	chk(a.owner.Fence(ctx, keyB))(t)
	// B was fenced: it cannot fence A.
	if _, err := b.owner.Fence(ctx, keyA); !errors.Is(err, scsi.ErrNotRegistered) {
		t.Errorf("fenced node fencing: %v", err)
	}
	// Fencing B again: already gone.
	if _, err := a.owner.Fence(ctx, keyB); !errors.Is(err, scsi.ErrKeyNotRegistered) {
		t.Errorf("fence twice: %v", err)
	}
}

// SPC-4 5.12.11.4.3: PREEMPT with no reservation only removes the
// registrations; Fence then reserves so the peer's writes conflict.
func TestFenceWithoutReservation(t *testing.T) {
	ctx := ctxT(t)
	_, a, b := registeredPair(t, ctx, scsitest.Config{}, 0)
	r := chk(a.owner.Fence(ctx, keyB))(t)
	if !r.Reserved || r.Reservation.Key != keyA {
		t.Errorf("reserved %v reservation %+v", r.Reserved, r.Reservation)
	}
	if _, err := b.writeAfterUA(ctx); !errors.Is(err, scsi.ErrReservationConflict) {
		t.Errorf("B write: %v", err)
	}
}

// A pending unit attention (29/00 after a reset) is absorbed, reported, and
// not mistaken for failure.
func TestUnitAttentionAbsorbed(t *testing.T) {
	ctx := ctxT(t)
	lun := scsitest.New(scsitest.Config{})
	a := newNode(t, lun, "node-a", keyA, 0)
	lun.QueueUnitAttention(a.nx, 0x29, 0x00)
	lun.QueueUnitAttention(a.nx, 0x2a, 0x03)
	r, err := a.owner.Register(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range r.UnitAttentions {
		got = append(got, s.String())
	}
	want := []string{"UNIT ATTENTION 29/00: power on, reset, or bus device reset occurred", "UNIT ATTENTION 2a/03: reservations preempted"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("unit attentions (-want +got):\n%s", d)
	}
	r = chk(a.owner.Register(ctx))(t)
	if len(r.UnitAttentions) != 0 {
		t.Errorf("unit attentions reported twice: %v", r.UnitAttentions)
	}
}

// tgtd ties registrations to the session: after a re-login the old
// registration and reservation stay as orphans and the new session is
// unregistered. Reassert restores a single registration and the
// reservation (REGISTER AND IGNORE, then PREEMPT own key by own key,
// SPC-4 5.12.11.4.3).
func TestReassertAfterReconnect(t *testing.T) {
	for _, cfg := range []scsitest.Config{{}, {NoPreemptAndAbort: true, NoReadFullStatus: true}} {
		t.Run(map[bool]string{false: "full", true: "tgtd-like"}[cfg.NoReadFullStatus], func(t *testing.T) {
			ctx := ctxT(t)
			_, a, _ := registeredPair(t, ctx, cfg, 0)
			chk(a.owner.Acquire(ctx))(t)
			a.nx.Reconnect()
			if err := a.write(ctx); !errors.Is(err, scsi.ErrReservationConflict) {
				t.Fatalf("A write after reconnect: %v, want conflict (new session unregistered)", err)
			}
			r, err := a.owner.Reassert(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff([]scsi.Key{keyB, keyA}, r.Keys.Keys); d != "" {
				t.Errorf("keys (-want +got):\n%s", d)
			}
			if r.Reservation.Key != keyA || r.Reservation.Type != scsi.TypeWriteExclusiveRegistrantsOnly {
				t.Errorf("reservation %+v", r.Reservation)
			}
			if err := a.write(ctx); err != nil {
				t.Errorf("A write after reassert: %v", err)
			}
			if !strings.Contains(strings.Join(r.Notes, "|"), "stale registration") {
				t.Errorf("notes %q", r.Notes)
			}
			// Reassert on a healthy session changes nothing.
			r = chk(a.owner.Reassert(ctx))(t)
			if len(r.Keys.Keys) != 2 || r.Notes[0] != "this I_T nexus is registered" {
				t.Errorf("healthy reassert: %+v", r)
			}
		})
	}
}

// A node fenced while nothing watched its key (its agent was down) must not
// get write access back through Acquire: under Write Exclusive -
// Registrants Only a registered node may write, so Acquire refuses to
// register a key that is gone; joining again is an explicit unfence.
func TestAcquireRefusesFencedNode(t *testing.T) {
	ctx := ctxT(t)
	_, a, b := registeredPair(t, ctx, scsitest.Config{}, 0)
	chk(a.owner.Acquire(ctx))(t)
	chk(b.owner.Fence(ctx, keyA))(t)
	_, err := a.owner.Acquire(ctx)
	var ue *scsi.UnregisteredError
	if !errors.As(err, &ue) || !errors.Is(err, scsi.ErrNotRegistered) || ue.Key != keyA {
		t.Fatalf("acquire of a fenced node: %v, want *UnregisteredError for key %s", err, keyA)
	}
	for _, want := range []string{"may have been fenced", "unfence", "register"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	st := chk(b.owner.Status(ctx))(t)
	if d := cmp.Diff([]scsi.Key{keyB}, st.Keys.Keys); d != "" || st.Reservation.Key != keyB {
		t.Errorf("after the refused acquire: keys (-want +got):\n%s reservation %+v", d, st.Reservation)
	}
	if err := a.write(ctx); !errors.Is(err, scsi.ErrReservationConflict) {
		t.Errorf("fenced A write after the refused acquire: %v, want conflict", err)
	}
	// The explicit step lets it join; then it is a registrant again.
	chk(a.owner.Unfence(ctx))(t)
	if _, err := a.owner.Acquire(ctx); !errors.Is(err, scsi.ErrReservedByOther) {
		t.Errorf("acquire after unfence while B holds: %v, want ErrReservedByOther", err)
	}
}

// A session replaced while the key stays registered (tgtd keeps the old
// session's registration as an orphan) is not a fence: Acquire restores
// this nexus's registration as Reassert does and reserves.
func TestAcquireAfterReplacedSession(t *testing.T) {
	ctx := ctxT(t)
	_, a, _ := registeredPair(t, ctx, scsitest.Config{NoPreemptAndAbort: true, NoReadFullStatus: true}, 0)
	a.nx.Reconnect()
	r := chk(a.owner.Acquire(ctx))(t)
	if n := len(slices.DeleteFunc(slices.Clone(r.Keys.Keys), func(k scsi.Key) bool { return k != keyA })); n != 1 || r.Reservation.Key != keyA {
		t.Errorf("after acquire: keys %v reservation %+v", r.Keys.Keys, r.Reservation)
	}
	if err := a.write(ctx); err != nil {
		t.Errorf("A write: %v", err)
	}
}

// Reassert never brings back a node that was fenced.
func TestReassertRefusesFencedNode(t *testing.T) {
	ctx := ctxT(t)
	lun, a, b := registeredPair(t, ctx, scsitest.Config{}, 0)
	chk(a.owner.Acquire(ctx))(t)
	a.nx.Reconnect()
	chk(b.owner.Fence(ctx, keyA))(t)
	if _, err := a.owner.Reassert(ctx); !errors.Is(err, scsi.ErrNotRegistered) {
		t.Fatalf("reassert of fenced node: %v", err)
	}
	if d := cmp.Diff([]scsi.Key{keyB}, lun.Keys()); d != "" {
		t.Errorf("keys (-want +got):\n%s", d)
	}
}

// Status flags duplicates, and READ FULL STATUS shows which session holds
// the stale key.
func TestStatusStaleAndDuplicates(t *testing.T) {
	ctx := ctxT(t)
	_, a, _ := registeredPair(t, ctx, scsitest.Config{}, 0)
	a.nx.Reconnect()
	// What a naive re-register does: a second registration of keyA.
	if err := a.dev.PROut(ctx, scsi.PROutRegisterAndIgnore, 0, scsi.PROutParams{ServiceActionKey: keyA}); err != nil {
		t.Fatal(err)
	}
	st := chk(a.owner.Status(ctx))(t)
	if d := cmp.Diff([]scsi.Key{keyA}, st.Duplicates); d != "" || st.OwnRegistrations != 2 {
		t.Errorf("duplicates (-want +got):\n%s own %d", d, st.OwnRegistrations)
	}
	if st.FullStatus == nil || len(st.Stale) != 2 || st.Support.ReadFullStatus != scsi.Supported {
		t.Fatalf("full status %+v stale %+v", st.FullStatus, st.Stale)
	}
	if st.Stale[0].Initiator.String() != "iqn.2026-11.io.hakit:node-a,i,0x23d00000000a" {
		t.Errorf("stale initiator %s", st.Stale[0].Initiator)
	}
	chk(a.owner.Register(ctx))(t)
	st = chk(a.owner.Status(ctx))(t)
	if len(st.Duplicates) != 0 || len(st.Stale) != 0 || st.OwnRegistrations != 1 {
		t.Errorf("after Register: duplicates %v stale %v", st.Duplicates, st.Stale)
	}

	lun2 := scsitest.New(scsitest.Config{NoReadFullStatus: true, NoReportCapabilities: true})
	c := newNode(t, lun2, "node-c", keyA, 0)
	st = chk(c.owner.Status(ctx))(t)
	if st.FullStatus != nil || st.Support.ReadFullStatus != scsi.Unsupported || st.Support.ReportCapabilities != scsi.Unsupported || len(st.Notes) == 0 || st.Holder != "none" {
		t.Errorf("status without READ FULL STATUS: %+v", st)
	}
}

// SPC-4 5.12.11.2 (releasing) and 5.12.7 (unregistering).
func TestReleaseUnregisterUnfence(t *testing.T) {
	ctx := ctxT(t)
	_, a, b := registeredPair(t, ctx, scsitest.Config{}, 0)
	r := chk(b.owner.Release(ctx))(t)
	if r.Notes[0] != "no reservation held: nothing to release" {
		t.Errorf("notes %q", r.Notes)
	}
	chk(a.owner.Acquire(ctx))(t)
	r = chk(b.owner.Release(ctx))(t)
	if !strings.Contains(r.Notes[0], "not released") || !r.Reservation.Held {
		t.Errorf("B release of A's reservation: %+v", r)
	}
	r = chk(a.owner.Release(ctx))(t)
	if r.Reservation.Held {
		t.Errorf("still reserved: %+v", r.Reservation)
	}
	// B got RESERVATIONS RELEASED (SPC-4 5.12.11.2, registrants-only type).
	if uas, err := b.writeAfterUA(ctx); err != nil || len(uas) != 1 || uas[0].ASCQ != 0x04 {
		t.Errorf("B after release: %v %v", uas, err)
	}
	r = chk(a.owner.Unregister(ctx))(t)
	if d := cmp.Diff([]scsi.Key{keyB}, r.Keys.Keys); d != "" {
		t.Errorf("keys after unregister (-want +got):\n%s", d)
	}
	r = chk(a.owner.Unfence(ctx))(t)
	if d := cmp.Diff([]scsi.Key{keyB, keyA}, r.Keys.Keys); d != "" || !r.Reservation.Held {
		t.Errorf("unfence: %+v (-want +got):\n%s", r.Reservation, d)
	}
}

// APTPL: a target that refuses it still registers, and says so.
func TestAPTPLRefused(t *testing.T) {
	ctx := ctxT(t)
	lun := scsitest.New(scsitest.Config{NoAPTPL: true})
	nx := lun.Connect("iqn.x:a", "")
	o, _ := scsi.NewOwner(scsi.OwnerConfig{Transport: nx, Key: keyA, APTPL: true})
	r := chk(o.Register(ctx))(t)
	if len(r.Notes) == 0 || !strings.Contains(r.Notes[0], "refused APTPL") || o.Support().APTPL != scsi.Unsupported {
		t.Errorf("notes %q support %+v", r.Notes, o.Support())
	}
	lun2 := scsitest.New(scsitest.Config{})
	o2, _ := scsi.NewOwner(scsi.OwnerConfig{Transport: lun2.Connect("iqn.x:a", ""), Key: keyA, APTPL: true})
	chk(o2.Register(ctx))(t)
	lun2.Restart()
	if d := cmp.Diff([]scsi.Key{keyA}, lun2.Keys()); d != "" {
		t.Errorf("APTPL registration lost on restart: %s", d)
	}
}

// splitRound: both nodes fence each other at the same instant; exactly one
// must keep write access and the other's writes must conflict, and the
// loser's error must say why. It returns the winner's name.
func splitRound(t *testing.T, round int, a, b *node) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	chk(a.owner.Unfence(ctx))(t)
	chk(b.owner.Unfence(ctx))(t)
	var wg sync.WaitGroup
	var errA, errB error
	start := make(chan struct{})
	wg.Add(2)
	go func() { defer wg.Done(); <-start; _, errA = a.owner.Fence(ctx, b.owner.Key()) }()
	go func() { defer wg.Done(); <-start; _, errB = b.owner.Fence(ctx, a.owner.Key()) }()
	close(start)
	wg.Wait()
	if (errA == nil) == (errB == nil) {
		t.Fatalf("round %d: both or neither won: A %v; B %v", round, errA, errB)
	}
	winner, loser, lerr := a, b, errB
	if errB == nil {
		winner, loser, lerr = b, a, errA
	}
	if !errors.Is(lerr, scsi.ErrNotRegistered) && !errors.Is(lerr, scsi.ErrKeyNotRegistered) {
		t.Errorf("round %d: loser's error does not say why: %v", round, lerr)
	}
	if _, err := winner.writeAfterUA(ctx); err != nil {
		t.Fatalf("round %d: winner %s write: %v", round, winner.name, err)
	}
	if _, err := loser.writeAfterUA(ctx); !errors.Is(err, scsi.ErrReservationConflict) {
		t.Fatalf("round %d: loser %s write: %v, want conflict", round, loser.name, err)
	}
	return winner.name
}

func TestSplitBrainFake(t *testing.T) {
	_, a, b := registeredPair(t, ctxT(t), scsitest.Config{NoPreemptAndAbort: true}, 0)
	for i := range 200 {
		splitRound(t, i, a, b)
		if t.Failed() {
			return
		}
	}
}

func quietLogger() *slog.Logger { return testutil.Discard() }

// A node whose session was replaced (tgtd) can still fence: the PREEMPT
// conflicts, its key is still registered (orphan), so its nexus is
// registered again and the PREEMPT repeated. Clear works the same way.
func TestFenceAndClearAfterReconnect(t *testing.T) {
	ctx := ctxT(t)
	lun, a, b := registeredPair(t, ctx, scsitest.Config{NoPreemptAndAbort: true}, 0)
	chk(a.owner.Acquire(ctx))(t)
	b.nx.Reconnect()
	r := chk(b.owner.Fence(ctx, keyA))(t)
	if !strings.Contains(strings.Join(r.Notes, "|"), "session replaced") || len(r.Keys.Keys) != 1 || r.Keys.Keys[0] != keyB {
		t.Errorf("fence after reconnect: notes %q keys %v", r.Notes, r.Keys.Keys)
	}
	if _, err := a.writeAfterUA(ctx); !errors.Is(err, scsi.ErrReservationConflict) {
		t.Errorf("A write: %v", err)
	}
	b.nx.Reconnect()
	chk(b.owner.Clear(ctx))(t)
	if len(lun.Keys()) != 0 {
		t.Errorf("keys after clear: %v", lun.Keys())
	}
	// A fenced node cannot clear.
	if _, err := a.owner.Clear(ctx); !errors.Is(err, scsi.ErrReservationConflict) {
		t.Errorf("clear by an unregistered node: %v", err)
	}
}

// flaky fails the first Execute of each listed operation code with a
// transport error (an answer lost with the connection) and passes the
// others.
type flaky struct {
	scsi.Transport
	fail map[byte]int
	// applied: the failed command is executed before the error (the
	// answer, not the command, was lost).
	applied bool
}

var errLost = errors.New("connection lost")

func (f *flaky) Execute(ctx context.Context, cmd *scsi.Command) (*scsi.Response, error) {
	if f.fail[cmd.CDB[0]] > 0 {
		f.fail[cmd.CDB[0]]--
		if f.applied {
			_, _ = f.Transport.Execute(ctx, cmd)
		}
		return nil, errLost
	}
	return f.Transport.Execute(ctx, cmd)
}

// Reads are repeated after a lost answer; a PREEMPT is not, and Fence
// judges it by the read-back.
func TestLostAnswers(t *testing.T) {
	ctx := ctxT(t)
	for _, applied := range []bool{true, false} {
		t.Run(fmt.Sprintf("applied=%v", applied), func(t *testing.T) {
			lun, a, _ := registeredPair(t, ctx, scsitest.Config{}, 0)
			f := &flaky{Transport: a.nx, fail: map[byte]int{}, applied: applied}
			o, err := scsi.NewOwner(scsi.OwnerConfig{Transport: f, Key: keyA})
			if err != nil {
				t.Fatal(err)
			}
			f.fail[scsi.OpPRIn], f.fail[scsi.OpTestUnitReady] = 2, 1
			chk(o.Status(ctx))(t)
			f.fail[scsi.OpPROut] = 1
			r, err := o.Fence(ctx, keyB)
			if applied {
				if err != nil || !strings.Contains(strings.Join(r.Notes, "|"), "was lost") {
					t.Errorf("fence with lost answer, applied: %v notes %q", err, r.Notes)
				}
				if d := cmp.Diff([]scsi.Key{keyA}, lun.Keys()); d != "" {
					t.Errorf("keys (-want +got):\n%s", d)
				}
			} else if !errors.Is(err, scsi.ErrNotVerified) {
				t.Errorf("fence with lost command: %v, want ErrNotVerified", err)
			}
			// A write is not repeated by the Device.
			f.fail[scsi.OpWrite10] = 1
			w, _ := scsi.Write10(0, make([]byte, 512), 512)
			if _, err := (&scsi.Device{Transport: f, TransportRetries: 3}).Do(ctx, w); !errors.Is(err, errLost) {
				t.Errorf("write: %v", err)
			}
		})
	}
}

// reconnecting replaces its nexus's session on the next command after
// drop() and calls hook first, as iscsi.Session does with OnReconnect.
type reconnecting struct {
	nx      *scsitest.Nexus
	hook    func(ctx context.Context)
	mu      sync.Mutex
	pending bool
}

func (r *reconnecting) drop() { r.mu.Lock(); r.pending = true; r.mu.Unlock() }

func (r *reconnecting) Execute(ctx context.Context, cmd *scsi.Command) (*scsi.Response, error) {
	r.mu.Lock()
	p := r.pending
	r.pending = false
	r.mu.Unlock()
	if p {
		r.nx.Reconnect()
		r.hook(ctx)
	}
	return r.nx.Execute(ctx, cmd)
}

// The reconnect hook may call Reassert on the Owner whose own call
// triggered the reconnect (it holds the lock): no deadlock, and the
// registration is whole afterwards.
func TestReassertFromReconnectHook(t *testing.T) {
	ctx := ctxT(t)
	lun, a, _ := registeredPair(t, ctx, scsitest.Config{NoReadFullStatus: true}, 0)
	chk(a.owner.Acquire(ctx))(t)
	rt := &reconnecting{nx: a.nx}
	o, err := scsi.NewOwner(scsi.OwnerConfig{Transport: rt, Key: keyA})
	if err != nil {
		t.Fatal(err)
	}
	var hookErr error
	rt.hook = func(ctx context.Context) { _, hookErr = o.Reassert(ctx) }
	rt.drop()
	done := make(chan struct{})
	var st *scsi.State
	go func() { defer close(done); st, err = o.Status(ctx) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Status with a reconnect hook calling Reassert did not return: deadlock")
	}
	if err != nil || hookErr != nil {
		t.Fatalf("status %v, hook %v", err, hookErr)
	}
	if st.OwnRegistrations != 1 || !st.Owned() || len(lun.Keys()) != 2 {
		t.Errorf("after hook: own %d owned %v keys %v", st.OwnRegistrations, st.Owned(), lun.Keys())
	}
	if _, err := a.writeAfterUA(ctx); err != nil {
		t.Errorf("write after hook reassert: %v", err)
	}
}

func TestDeviceResetUnsupported(t *testing.T) {
	d := &scsi.Device{Transport: &scsitest.Playback{TB: t}, Name: "rec"}
	err := d.Reset(ctxT(t), scsi.ResetLUN)
	if !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "rec: lun reset") {
		t.Errorf("reset on a transport without Resetter: %v", err)
	}
	if _, err := (&scsi.Device{}).Do(ctxT(t), scsi.TestUnitReady()); err == nil {
		t.Error("Device without transport: no error")
	}
}

// SPC-4 5.12.11.4.3: a third key holding the reservation keeps it when the
// peer is preempted; Fence succeeds (the peer is cut off) and says this
// node does not own the unit.
func TestFenceThirdKeyHoldsReservation(t *testing.T) {
	ctx := ctxT(t)
	lun, a, b := registeredPair(t, ctx, scsitest.Config{}, 0)
	c := newNode(t, lun, "node-c", 0x686b8ed3f6ad0003, scsi.TypeWriteExclusive)
	chk(c.owner.Register(ctx))(t)
	chk(c.owner.Acquire(ctx))(t)
	r := chk(a.owner.Fence(ctx, keyB))(t)
	if r.Reservation.Key != c.owner.Key() || r.Reserved {
		t.Errorf("reservation %+v reserved %v, want still C's", r.Reservation, r.Reserved)
	}
	if !slices.ContainsFunc(r.Notes, func(n string) bool { return strings.Contains(n, "does not own the unit") }) {
		t.Errorf("notes %q do not say the reservation is a third key's", r.Notes)
	}
	if _, err := b.writeAfterUA(ctx); !errors.Is(err, scsi.ErrReservationConflict) {
		t.Errorf("fenced B write: %v, want conflict", err)
	}
	st := chk(a.owner.Status(ctx))(t)
	if st.Owned() {
		t.Errorf("A owns the unit after fencing B while C holds it: %+v", st.Reservation)
	}
}

// A READ KEYS list longer than the first allocation length is read again
// with one that fits: never a shorter list (issue: Keys.Truncated was not
// checked). One longer than 65535 bytes, or cut short by the device, is
// ErrTruncated.
func TestReadKeysLongList(t *testing.T) {
	ctx := ctxT(t)
	lun := scsitest.New(scsitest.Config{})
	var want []scsi.Key
	for i := range 1100 { // 8800 bytes of keys: more than the first 8192
		n := newNode(t, lun, fmt.Sprintf("n%04d", i), scsi.Key(0x1000+i), 0)
		chk(n.owner.Register(ctx))(t)
		want = append(want, scsi.Key(0x1000+i))
	}
	dev := &scsi.Device{Transport: lun.Connect("iqn.x:reader", "")}
	k := chk(dev.ReadKeys(ctx))(t)
	if len(k.Keys) != len(want) || k.Truncated {
		t.Errorf("read %d keys (truncated %v), want %d", len(k.Keys), k.Truncated, len(want))
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"longer than 65535", append([]byte{0, 0, 0, 1, 0, 1, 0, 0}, make([]byte, 64)...)},
		{"cut short", append([]byte{0, 0, 0, 1, 0, 0, 0, 32}, make([]byte, 8)...)},
	} {
		short := &scsi.Device{Transport: fixedAnswer(tc.data)}
		if _, err := short.ReadKeys(ctx); !errors.Is(err, scsi.ErrTruncated) {
			t.Errorf("%s: %v, want ErrTruncated", tc.name, err)
		}
	}
}

// fixedAnswer answers every command GOOD with data (cut to AllocLen).
type fixedAnswer []byte

func (f fixedAnswer) Execute(_ context.Context, cmd *scsi.Command) (*scsi.Response, error) {
	d := []byte(f)
	if len(d) > cmd.AllocLen {
		d = d[:cmd.AllocLen]
	}
	return &scsi.Response{Status: scsi.StatusGood, Data: d}, nil
}
