package scsi_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hakit/hakit/internal/rig"
	"github.com/hakit/hakit/internal/testutil"
	"github.com/hakit/hakit/scsi"
	"github.com/hakit/hakit/scsi/iscsi"
	"github.com/hakit/hakit/scsi/scsitest"
)

var recordTgtd = flag.Bool("record-tgtd", false, "with the integration tests: rewrite testdata/tgtd-*.json from the live tgtd")

const (
	iqnA = "iqn.2026-11.io.hakit.test:node-a"
	iqnB = "iqn.2026-11.io.hakit.test:node-b"
)

func diskFor(t testing.TB) *rig.Disk {
	return rig.DiskFor(t, rig.DiskConfig{Initiators: []string{iqnA, iqnB}, Logger: quietLogger()})
}

// tgtdPair starts a rig disk and dials nodes A and B with type typ.
func tgtdPair(t *testing.T, typ scsi.ReservationType) (*rig.Disk, *tnode, *tnode) {
	t.Helper()
	d := diskFor(t)
	return d, dialNode(t, d, iqnA, keyA, typ, nil), dialNode(t, d, iqnB, keyB, typ, nil)
}

// tnode is one node on the rig's tgtd: a node over an iSCSI session.
type tnode struct {
	*node
	sess *iscsi.Session
}

func dialNode(t testing.TB, d *rig.Disk, iqn string, key scsi.Key, typ scsi.ReservationType, wrap func(scsi.Transport) scsi.Transport) *tnode {
	t.Helper()
	u, err := iscsi.ParseURL(d.URL())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := iscsi.Dial(ctx, u, iscsi.Config{InitiatorName: iqn, CommandTimeout: 10 * time.Second, Logger: quietLogger()})
	if err != nil {
		t.Fatalf("dial %s as %s: %v", d.URL(), iqn, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	var tr scsi.Transport = s
	if wrap != nil {
		tr = wrap(s)
	}
	o, err := scsi.NewOwner(scsi.OwnerConfig{Transport: tr, Name: iqn, Key: key, Type: typ, AllowPreemptWithoutAbort: true})
	if err != nil {
		t.Fatal(err)
	}
	return &tnode{node: &node{name: iqn, owner: o, dev: &scsi.Device{Transport: s, Name: iqn}}, sess: s}
}

// The scenario of a two-node fence on tgtd: both register; A acquires
// (Write Exclusive, so that B, a registrant, is kept from writing); B's
// WRITE conflicts; B fences A (tgtd refuses PREEMPT AND ABORT: PREEMPT,
// reported); A's commands conflict and A sees the unit attention; A
// re-registers after unfence.
func TestIntegrationFence(t *testing.T) {
	d := diskFor(t)
	var rec *scsitest.Recorder
	wrapB := func(tr scsi.Transport) scsi.Transport { rec = &scsitest.Recorder{Transport: tr}; return rec }
	a := dialNode(t, d, iqnA, keyA, scsi.TypeWriteExclusive, nil)
	b := dialNode(t, d, iqnB, keyB, scsi.TypeWriteExclusive, wrapB)
	ctx := ctxT(t)

	chk(a.owner.Register(ctx))(t)
	chk(b.owner.Register(ctx))(t)
	r := chk(a.owner.Acquire(ctx))(t)
	if r.Reservation.Key != keyA || r.Reservation.Type != scsi.TypeWriteExclusive {
		t.Fatalf("reservation after acquire: %+v", r.Reservation)
	}
	if _, err := b.writeAfterUA(ctx); !errors.Is(err, scsi.ErrReservationConflict) {
		t.Fatalf("B write under A's reservation: %v, want reservation conflict", err)
	}
	if err := a.write(ctx); err != nil {
		t.Fatalf("A write: %v", err)
	}

	support := chk(b.owner.Detect(ctx))(t)
	if support.ReadFullStatus != scsi.Unsupported || support.ReportCapabilities != scsi.Supported {
		t.Errorf("tgtd support: %+v (tgtd.md: REPORT CAPABILITIES yes, READ FULL STATUS no)", support)
	}
	before := len(rec.Ops())
	fr, err := b.owner.Fence(ctx, keyA)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("fence: method %s, fallback %q", fr.MethodName, fr.Fallback)
	if fr.Method != scsi.PROutPreempt || !strings.Contains(fr.Fallback, "24/00") {
		t.Errorf("fence on tgtd: method %s fallback %q, want PREEMPT after 24/00", fr.MethodName, fr.Fallback)
	}
	if *recordTgtd {
		ops := rec.Ops()[before:]
		if err := writeOps("testdata/tgtd-fence.json", ops); err != nil {
			t.Fatal(err)
		}
	}

	uas, err := a.writeAfterUA(ctx)
	if !errors.Is(err, scsi.ErrReservationConflict) {
		t.Errorf("A write after fence: %v, want reservation conflict", err)
	}
	t.Logf("A's unit attentions on WRITE: %v", uas)
	// A's registration is gone; a PR OUT with its key conflicts.
	if _, err := a.owner.Fence(ctx, keyB); !errors.Is(err, scsi.ErrNotRegistered) {
		t.Errorf("fenced A fencing B: %v", err)
	}
	// A unit attention reaches A (registrations preempted or
	// reservations preempted), here or on the commands above.
	seen := append([]scsi.Sense{}, uas...)
	st, err := a.owner.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seen = append(seen, st.UnitAttentions...)
	if !hasUA(seen, 0x2a) {
		t.Errorf("A saw no 2A/xx unit attention after the fence: %v", seen)
	}
	if st.OwnRegistrations != 0 || st.Holder != "other" || st.Reservation.Key != keyB {
		t.Errorf("A's status after fence: own %d holder %s reservation %+v", st.OwnRegistrations, st.Holder, st.Reservation)
	}

	r = chk(a.owner.Unfence(ctx))(t)
	if countKeys(r.Keys.Keys, keyA) != 1 || countKeys(r.Keys.Keys, keyB) != 1 {
		t.Errorf("keys after unfence: %v", r.Keys.Keys)
	}
	// Under B's Write Exclusive reservation A still may not write.
	if _, err := a.writeAfterUA(ctx); !errors.Is(err, scsi.ErrReservationConflict) {
		t.Errorf("A write after unfence under B's WE: %v", err)
	}
}

func writeOps(path string, ops []scsitest.Op) error {
	r := &scsitest.Recorder{}
	for _, op := range ops {
		r.Transport = replay{op}
		if _, err := r.Execute(context.Background(), &scsi.Command{CDB: op.CDB, Data: op.Out}); err != nil && op.Err == "" {
			return err
		}
	}
	return r.WriteFile(path)
}

// replay answers one recorded operation (to re-record a slice of ops).
type replay struct{ op scsitest.Op }

func (r replay) Execute(context.Context, *scsi.Command) (*scsi.Response, error) {
	if r.op.Err != "" {
		return nil, errors.New(r.op.Err)
	}
	return &scsi.Response{Status: r.op.Status, Data: r.op.In, Sense: r.op.Sense}, nil
}

func hasUA(ss []scsi.Sense, asc byte) bool {
	for _, s := range ss {
		if s.Key == scsi.SenseUnitAttention && s.ASC == asc {
			return true
		}
	}
	return false
}

// Write Exclusive - Registrants Only (the default): registrants write, a
// fenced node does not.
func TestIntegrationRegistrantsOnly(t *testing.T) {
	_, a, b := tgtdPair(t, 0)
	ctx := ctxT(t)
	chk(a.owner.Register(ctx))(t)
	chk(a.owner.Acquire(ctx))(t)
	if _, err := b.writeAfterUA(ctx); !errors.Is(err, scsi.ErrReservationConflict) {
		t.Errorf("unregistered B write: %v, want conflict", err)
	}
	chk(b.owner.Register(ctx))(t)
	if _, err := b.writeAfterUA(ctx); err != nil {
		t.Errorf("registered B write under WE-RO: %v", err)
	}
	chk(a.owner.Fence(ctx, keyB))(t)
	if _, err := b.writeAfterUA(ctx); !errors.Is(err, scsi.ErrReservationConflict) {
		t.Errorf("fenced B write: %v, want conflict", err)
	}
	r := chk(a.owner.Release(ctx))(t)
	if r.Reservation.Held {
		t.Errorf("after release: %+v", r.Reservation)
	}
}

// SCSI-2: A reserves, B conflicts, a LUN reset clears it; then the
// challenge/defense pattern with a short period, against a live and a
// dead owner.
func TestIntegrationSCSI2(t *testing.T) {
	_, a, b := tgtdPair(t, 0)
	ctx := ctxT(t)
	const period = 50 * time.Millisecond
	sa, err := scsi.NewSCSI2(scsi.SCSI2Config{Transport: a.sess, Name: "A", Period: period})
	if err != nil {
		t.Fatal(err)
	}
	sb, err := scsi.NewSCSI2(scsi.SCSI2Config{Transport: b.sess, Name: "B", Period: period})
	if err != nil {
		t.Fatal(err)
	}
	if err := sa.Reserve(ctx); err != nil {
		t.Fatal(err)
	}
	if err := sb.Reserve(ctx); !errors.Is(err, scsi.ErrReservationConflict) {
		t.Errorf("B reserve: %v, want conflict", err)
	}
	if _, err := b.writeAfterUA(ctx); !errors.Is(err, scsi.ErrReservationConflict) {
		t.Errorf("B write: %v, want conflict", err)
	}
	if _, err := b.dev.Inquiry(ctx); err != nil {
		t.Errorf("B INQUIRY under A's RESERVE(6): %v", err)
	}
	if err := b.dev.Reset(ctx, scsi.ResetLUN); err != nil {
		t.Fatalf("LUN reset: %v", err)
	}
	if err := sb.Reserve(ctx); err != nil {
		t.Fatalf("B reserve after LUN reset: %v", err)
	}
	if err := sa.Renew(ctx); !errors.Is(err, scsi.ErrReservationLost) {
		t.Errorf("A renew after B took over: %v", err)
	}

	// B is the owner now and defends; A challenges and loses.
	dctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	var defendErr error
	go func() { defer wg.Done(); defendErr = sb.Defend(dctx) }()
	r, err := sa.Challenge(ctx)
	if !errors.Is(err, scsi.ErrOwnerAlive) || r.Won {
		t.Errorf("challenge of a live owner: %+v %v", r, err)
	}
	stop()
	wg.Wait()
	if defendErr != nil {
		t.Errorf("Defend: %v", defendErr)
	}
	// B stopped renewing (dead): A's challenge wins.
	r, err = sa.Challenge(ctx)
	if err != nil || !r.Won || r.Waited < 3*period {
		t.Errorf("challenge of a dead owner: %+v %v", r, err)
	}
	if _, err := b.writeAfterUA(ctx); !errors.Is(err, scsi.ErrReservationConflict) {
		t.Errorf("B write after takeover: %v", err)
	}
	if err := sa.Release(ctx); err != nil {
		t.Error(err)
	}
}

// A dropped session: tgtd keeps the old session's registration and
// reservation as orphans; the reconnected session is unregistered until
// Reassert repairs it.
func TestIntegrationDroppedSession(t *testing.T) {
	d, a, b := tgtdPair(t, 0)
	ctx := ctxT(t)
	chk(b.owner.Register(ctx))(t)
	chk(a.owner.Register(ctx))(t)
	chk(a.owner.Acquire(ctx))(t)
	if n, err := d.DropConnections(ctx, iqnA); err != nil || n != 1 {
		t.Fatalf("drop A: %d, %v", n, err)
	}
	// The next command reconnects; the new session is not registered.
	if _, err := a.writeAfterUA(ctx); !errors.Is(err, scsi.ErrReservationConflict) {
		t.Fatalf("A write after reconnect: %v, want conflict (tgtd ties registrations to the session)", err)
	}
	if a.sess.Stats().Reconnects != 1 {
		t.Errorf("reconnects %d", a.sess.Stats().Reconnects)
	}
	r, err := a.owner.Reassert(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("reassert notes: %q", r.Notes)
	if countKeys(r.Keys.Keys, keyA) != 1 || countKeys(r.Keys.Keys, keyB) != 1 || r.Reservation.Key != keyA || r.Reservation.Type != scsi.TypeWriteExclusiveRegistrantsOnly {
		t.Errorf("after reassert: keys %v reservation %+v", r.Keys.Keys, r.Reservation)
	}
	if _, err := a.writeAfterUA(ctx); err != nil {
		t.Errorf("A write after reassert: %v", err)
	}
	// B can still fence A (the orphan is gone, the one registration too).
	chk(b.owner.Fence(ctx, keyA))(t)
	if _, err := a.writeAfterUA(ctx); !errors.Is(err, scsi.ErrReservationConflict) {
		t.Errorf("A write after fence: %v", err)
	}
	// A fenced node that reconnects is not brought back by Reassert.
	if _, err := d.DropConnections(ctx, iqnA); err != nil {
		t.Fatal(err)
	}
	if _, err := a.owner.Reassert(ctx); !errors.Is(err, scsi.ErrNotRegistered) {
		t.Errorf("reassert of a fenced node: %v", err)
	}
}

// The reconnect hook (iscsi.Config.OnReconnect calling Owner.Reassert) keeps the registration whole across dropped sessions without the
// caller noticing: each write after a drop succeeds.
func TestIntegrationReconnectHook(t *testing.T) {
	d := diskFor(t)
	a, hookErr := dialWithRecovery(t, d)
	ctx := ctxT(t)
	for range 3 {
		if n, err := d.DropConnections(ctx, iqnA); err != nil || n != 1 {
			t.Fatalf("drop: %d %v", n, err)
		}
		rejoin(t, a, hookErr)
	}
	// A drop noticed by an Owner call: the hook runs inside it.
	if _, err := d.DropConnections(ctx, iqnA); err != nil {
		t.Fatal(err)
	}
	_, err := a.owner.Status(ctx)
	if scsi.IsTransportError(ctx, err) { // the answer was lost with the connection
		_, err = a.owner.Status(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := <-hookErr; err != nil {
		t.Fatalf("hook: %v", err)
	}
	st := chk(a.owner.Status(ctx))(t)
	if st.OwnRegistrations != 1 || !st.Owned() || len(st.Keys.Keys) != 1 {
		t.Errorf("after 4 drops: keys %v reservation %+v", st.Keys.Keys, st.Reservation)
	}
	if _, err := a.writeAfterUA(ctx); err != nil {
		t.Errorf("write: %v", err)
	}
}

// A tgtd restart loses the PR state (no APTPL): Status says so, Reassert
// does not re-register on its own (fenced and lost look alike), nor does
// Acquire; Register then Acquire rebuild the state.
func TestIntegrationTargetRestart(t *testing.T) {
	d, a, b := tgtdPair(t, 0)
	ctx := ctxT(t)
	chk(b.owner.Register(ctx))(t)
	chk(a.owner.Register(ctx))(t)
	chk(a.owner.Acquire(ctx))(t)
	if err := d.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := a.owner.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Keys.Keys) != 0 || st.Reservation.Held || st.Owned() {
		t.Errorf("status after restart: keys %v reservation %+v", st.Keys.Keys, st.Reservation)
	}
	if _, err := a.owner.Reassert(ctx); !errors.Is(err, scsi.ErrNotRegistered) {
		t.Errorf("reassert after restart: %v", err)
	}
	// Nor does Acquire: registering again is an explicit step.
	var ue *scsi.UnregisteredError
	if _, err := a.owner.Acquire(ctx); !errors.As(err, &ue) || !errors.Is(err, scsi.ErrNotRegistered) {
		t.Errorf("acquire after restart: %v, want *UnregisteredError", err)
	}
	chk(a.owner.Register(ctx))(t)
	chk(a.owner.Acquire(ctx))(t)
	chk(b.owner.Register(ctx))(t)
	st = chk(a.owner.Status(ctx))(t)
	if !st.Owned() || len(st.Keys.Keys) != 2 {
		t.Errorf("after re-acquire: %+v", st)
	}
}

// The split-brain race: both nodes fence each other at the same instant.
// In every round exactly one keeps write access and the other's writes
// conflict, and the loser's error says why.
func TestIntegrationSplitBrain(t *testing.T) {
	_, a, b := tgtdPair(t, 0)
	rounds := 1000
	if testing.Short() {
		rounds = 50
	}
	wins := map[string]int{}
	for i := range rounds {
		wins[splitRound(t, i, a.node, b.node)]++
	}
	t.Logf("%d rounds, wins: %v", rounds, wins)
}

// Cross-check identify and capacity with libiscsi's iscsi-inq and
// iscsi-readcapacity16 on the same LUN.
func TestIntegrationCrossCheckLibiscsi(t *testing.T) {
	testutil.SkipUnlessTools(t, "iscsi-inq", "iscsi-readcapacity16")
	d := diskFor(t)
	a := dialNode(t, d, iqnA, keyA, 0, nil)
	ctx := ctxT(t)
	rec := &scsitest.Recorder{Transport: a.sess}
	dev := &scsi.Device{Transport: rec, Name: iqnA, UnitAttentionRetries: 4}
	id := chk(dev.Identify(ctx))(t)
	capa := chk(dev.ReadCapacity(ctx))(t)
	if *recordTgtd {
		if err := rec.WriteFile("testdata/tgtd-identify.json"); err != nil {
			t.Fatal(err)
		}
	}

	run := func(args ...string) string {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		out, err := exec.CommandContext(cctx, args[0], args[1:]...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	std := run("iscsi-inq", "-i", iqnB, d.URL())
	for _, want := range []string{"Vendor:" + id.Vendor, "Product:" + id.Product, "Revision:" + id.Revision} {
		if !strings.Contains(strings.ReplaceAll(std, " ", ""), strings.ReplaceAll(want, " ", "")) {
			t.Errorf("iscsi-inq standard data lacks %q:\n%s", want, std)
		}
	}
	serial := run("iscsi-inq", "-i", iqnB, "-e", "1", "-c", "128", d.URL())
	if id.Serial != "" && !strings.Contains(serial, id.Serial) {
		t.Errorf("iscsi-inq VPD 0x80 lacks serial %q:\n%s", id.Serial, serial)
	}
	devid := run("iscsi-inq", "-i", iqnB, "-e", "1", "-c", "131", d.URL())
	// iscsi-inq prints binary designators as raw characters: compare the
	// list of (code set, association, type) and the ASCII values.
	var theirs, ours []string
	for _, block := range strings.Split(devid, "DEVICE DESIGNATOR #")[1:] {
		var cs, assoc, typ, val string
		for _, line := range strings.Split(block, "\n") {
			k, v, _ := strings.Cut(strings.TrimSpace(line), ":")
			switch k {
			case "Code Set":
				cs = v[1:strings.Index(v, ")")]
			case "Association":
				assoc = v[1:strings.Index(v, ")")]
			case "Designator Type":
				typ = v[1:strings.Index(v, ")")]
			case "Designator":
				val = strings.TrimSuffix(strings.TrimPrefix(v, "["), "]")
			}
		}
		if cs != "2" {
			val = "binary"
		}
		theirs = append(theirs, fmt.Sprintf("cs%s assoc%s type%s %s", cs, assoc, typ, val))
	}
	for _, ds := range id.Designators {
		val := "binary"
		if ds.CodeSet == scsi.CodeSetASCII {
			val = strings.TrimRight(string(ds.Value), "\x00")
		}
		ours = append(ours, fmt.Sprintf("cs%d assoc%d type%d %s", ds.CodeSet, ds.Association, ds.Type, val))
	}
	// libiscsi lists them in reverse order.
	slices.Sort(theirs)
	slices.Sort(ours)
	if d := cmp.Diff(theirs, ours); d != "" || len(ours) == 0 {
		t.Errorf("VPD 0x83 designators (-iscsi-inq +ours):\n%s", d)
	}
	rc := run("iscsi-readcapacity16", "-i", iqnB, d.URL())
	for _, want := range []string{"LOGICALBLOCKLENGTHINBYTES:" + strconv.Itoa(int(capa.BlockSize)), "RETURNEDLOGICALBLOCKADDRESS:" + strconv.FormatUint(capa.LastLBA, 10), "Totalsize:" + strconv.FormatUint(capa.Bytes(), 10)} {
		if !strings.Contains(strings.ReplaceAll(rc, " ", ""), want) {
			t.Errorf("iscsi-readcapacity16 lacks %q (ours: %d blocks of %d):\n%s", want, capa.Blocks(), capa.BlockSize, rc)
		}
	}
	if capa.Bytes() != uint64(d.Size()) {
		t.Errorf("capacity %d, backing file %d", capa.Bytes(), d.Size())
	}
	t.Logf("identity %s (%s); iscsi-inq:\n%s%s", id.ID, id.Source, std, rc)
}

// TestIntegrationPRScripts runs the PR scenario scripts against tgtd: the
// fake LUN and the real target must agree line by line (except where
// tgtd lacks a feature, and on unit attentions, which tgtd routes
// differently).
func TestIntegrationPRScripts(t *testing.T) {
	for _, f := range scripts(t) {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
			names := map[string]string{"a": iqnA, "b": iqnB, "c": "iqn.2026-11.io.hakit.test:node-c"}
			d := rig.DiskFor(t, rig.DiskConfig{Initiators: []string{names["a"], names["b"], names["c"]}, Logger: quietLogger()})
			u, err := iscsi.ParseURL(d.URL())
			if err != nil {
				t.Fatal(err)
			}
			sessions := map[string]*iscsi.Session{}
			s := &scriptRunner{nodes: map[string]*scsi.Device{}, tgtd: true}
			s.nodeFunc = func(name string) *scsi.Device {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				sess, err := iscsi.Dial(ctx, u, iscsi.Config{InitiatorName: names[name], Logger: quietLogger()})
				if err != nil {
					t.Fatalf("dial %s: %v", name, err)
				}
				t.Cleanup(func() { _ = sess.Close() })
				sessions[name] = sess
				return &scsi.Device{Transport: sess, Name: name, UnitAttentionRetries: 8, TransportRetries: 2}
			}
			s.reset = func(ctx context.Context, node string) error {
				s.dev(node)
				return sessions[node].Reset(ctx, scsi.ResetLUN)
			}
			s.run(t, f)
		})
	}
}

// An offline LUN (NOT READY to TEST UNIT READY) still answers persistent
// reservation commands on tgtd: Status and Fence go on and say so.
func TestIntegrationNotReady(t *testing.T) {
	d, a, b := tgtdPair(t, 0)
	ctx := ctxT(t)
	chk(a.owner.Register(ctx))(t)
	chk(b.owner.Register(ctx))(t)
	chk(b.owner.Acquire(ctx))(t)
	if err := d.SetOnline(ctx, false); err != nil {
		t.Fatal(err)
	}
	if err := a.dev.TestUnitReady(ctx); !errors.Is(err, scsi.ErrNotReady) {
		t.Fatalf("TUR on an offline LUN: %v, want not ready", err)
	}
	st := chk(a.owner.Status(ctx))(t)
	if !strings.Contains(strings.Join(st.Notes, "|"), "unit not ready") || len(st.Keys.Keys) != 2 {
		t.Errorf("status offline: notes %q keys %v", st.Notes, st.Keys.Keys)
	}
	chk(a.owner.Fence(ctx, keyB))(t)
	if err := d.SetOnline(ctx, true); err != nil {
		t.Fatal(err)
	}
	if _, err := b.writeAfterUA(ctx); !errors.Is(err, scsi.ErrReservationConflict) {
		t.Errorf("fenced B write: %v", err)
	}
}
