package check

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/scsi"
	"github.com/hakit/hakit/scsi/iscsi"
)

// MPIO is the "MPIO-based disks" test of cluster validators: this node
// reaches each disk through two paths (two iSCSI sessions with distinct
// ISIDs: two initiator ports), and the test shows the identity matches on
// both (and on the peer), that a registration covers every path (one per
// path: each ISID is an initiator port of its own, which ALL_TG_PT does not
// cover), that writes pass on each path while this node holds the disk
// (with --test-region), and that a fence by the peer removes the node
// from every path. It uses hwcheck's test keys, needs env.PRTest, does not
// run while a reservation is held and checks that it left the disk as it
// found it.
func MPIO(ctx context.Context, env Env) []Result {
	return eachTestDisk(ctx, env, "MPIO", "changes registrations", func(td *testDisk) []Result { return mpioDisk(ctx, env, td) })
}

// secondPath logs in to the disk again as this node with the MPIO ISID.
func secondPath(ctx context.Context, env Env, td *testDisk) (*scsi.Device, func(), error) {
	tr, closer, err := env.opener()(ctx, td.Config[0].Device, hwcheckOptions(env, td.Config[0], iscsi.ISIDHWCheckPath))
	if err != nil {
		return nil, nil, err
	}
	return &scsi.Device{Transport: tr, Name: td.Name + " (path 2)", UnitAttentionRetries: 8, TransportRetries: 2}, func() { _ = closer.Close() }, nil
}

// pathISIDs are the ISIDs of this node's two paths, as READ FULL STATUS
// shows them (hex).
func pathISIDs(initiator string) [2]string {
	a := iscsi.DerivedISID(initiator, iscsi.ISIDHWCheck)
	b := iscsi.DerivedISID(initiator, iscsi.ISIDHWCheckPath)
	return [2]string{hex.EncodeToString(a[:]), hex.EncodeToString(b[:])}
}

// judgePathRegistrations checks that key is registered once per path:
// from READ FULL STATUS (full, when the target has it) by the paths'
// initiator ports, else from READ KEYS by count.
func judgePathRegistrations(key scsi.Key, initiator string, isids [2]string, keys []scsi.Key, full *scsi.FullStatus) (Verdict, string, string) {
	hint := "register the node's key through every path (hakit registers once per I_T nexus): a path left unregistered fails every write under the reservation, and one left registered after a fence is a half-fenced node"
	if full != nil {
		var seen []string
		found := [2]bool{}
		for _, r := range full.Registrations {
			if r.Key != key {
				continue
			}
			seen = append(seen, r.Initiator.String())
			for i, isid := range isids {
				if strings.EqualFold(r.Initiator.Name, initiator) && strings.EqualFold(r.Initiator.ISID, isid) {
					found[i] = true
				}
			}
		}
		m := fmt.Sprintf("key %s registered by %d initiator port(s): %s (READ FULL STATUS)", key, len(seen), strings.Join(seen, ", "))
		if !found[0] || !found[1] {
			return Fail, m + fmt.Sprintf("; want both paths %s,i,0x%s and ,i,0x%s", initiator, isids[0], isids[1]), hint
		}
		return Pass, m + "; one registration per path (two initiator ports: ALL_TG_PT cannot cover the second)", ""
	}
	n := 0
	for _, k := range keys {
		if k == key {
			n++
		}
	}
	m := fmt.Sprintf("key %s registered %d time(s) (READ KEYS; the target has no READ FULL STATUS)", key, n)
	if n != 2 {
		return Fail, m + ", want 2: one per path", hint
	}
	return Pass, m + ": one registration per path", ""
}

// unregisteredPath says whether a path's I_T nexus is unregistered: a
// REGISTER naming key as the current key must conflict there (SPC-4
// 5.12.7: an unregistered nexus with a non-zero RESERVATION KEY), and it
// changes nothing where it does. A registered path would register the
// same key again, also changing nothing.
func unregisteredPath(ctx context.Context, d *scsi.Device, key scsi.Key) error {
	err := d.PROut(ctx, scsi.PROutRegister, 0, scsi.PROutParams{Key: key, ServiceActionKey: key})
	switch {
	case errors.Is(err, scsi.ErrReservationConflict):
		return nil
	case err == nil:
		return errors.New("still registered with " + key.String())
	}
	return err
}

func mpioDisk(ctx context.Context, env Env, td *testDisk) []Result {
	p := td.Prefix
	before, err := readDiskState(ctx, td.Dev[0])
	if err != nil {
		return []Result{res(p+"MPIO", Fail, "reading the disk before the test: "+err.Error(), "")}
	}
	if before.Res.Held {
		return td.heldSkip("MPIO", before)
	}
	if td.Config[0].Mode == agent.ModeSCSI2 {
		return skip(p+"MPIO", "the disk is owned in scsi2 mode: no registrations to cover the paths", "SCSI-2 reservations are per initiator port: a second path conflicts with the first")
	}
	path2, closePath, err := secondPath(ctx, env, td)
	if err != nil {
		return []Result{res(p+"MPIO second path", Fail, fmt.Sprintf("login as %s with a second ISID: %v", td.Config[0].Initiator, err), "the target must accept two sessions of one initiator name (two paths)")}
	}
	defer closePath()
	out := mpioSteps(ctx, env, td, [2]*scsi.Device{td.Dev[0], path2})
	cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := path2.PROut(cctx, scsi.PROutRegisterAndIgnore, 0, scsi.PROutParams{}); err != nil {
		out = append(out, res(p+"MPIO second path cleanup", Fail, "unregistering path 2: "+err.Error(), "remove hwcheck's test key by hand"))
	}
	return append(out, td.leftAsFound(ctx, "disk left as found (MPIO)", before))
}

// mpioSteps are the MPIO checks through paths (this node's two) and the
// peer's test session.
func mpioSteps(ctx context.Context, env Env, td *testDisk, paths [2]*scsi.Device) []Result {
	p := td.Prefix
	var out []Result
	out = append(out, step(p+"MPIO identity", func() (Verdict, string, string) {
		var ids []string
		for _, d := range []*scsi.Device{paths[0], paths[1], td.Dev[1]} {
			id, err := d.Identify(ctx)
			if err != nil {
				return Fail, err.Error(), ""
			}
			ids = append(ids, id.ID)
		}
		if ids[0] != ids[1] || ids[0] != ids[2] {
			return Fail, fmt.Sprintf("path 1 %s, path 2 %s, the peer %s", ids[0], ids[1], ids[2]), "the paths reach different LUNs: check the multipath map (multipath -ll) and the target's LUN mapping"
		}
		return Pass, ids[0] + " on both paths of this node and on the peer", ""
	}))
	key := td.Key[0]
	out = append(out, step(p+"MPIO registration covers every path", func() (Verdict, string, string) {
		for i, d := range paths {
			if err := d.PROut(ctx, scsi.PROutRegisterAndIgnore, 0, scsi.PROutParams{ServiceActionKey: key}); err != nil {
				return Fail, fmt.Sprintf("REGISTER through path %d: %v", i+1, err), ""
			}
		}
		k, err := paths[0].ReadKeys(ctx)
		if err != nil {
			return Fail, err.Error(), ""
		}
		var full *scsi.FullStatus
		fs, err := paths[0].ReadFullStatus(ctx)
		switch {
		case err == nil:
			full = &fs
		case !scsi.IsUnsupported(err):
			return Fail, "READ FULL STATUS: " + err.Error(), ""
		}
		return judgePathRegistrations(key, td.Config[0].Initiator, pathISIDs(td.Config[0].Initiator), k.Keys, full)
	}))
	if err := paths[0].PROut(ctx, scsi.PROutReserve, prType, scsi.PROutParams{Key: key}); err != nil {
		return append(out, res(p+"MPIO", Fail, "RESERVE through path 1: "+err.Error(), ""))
	}
	region := env.TestRegion
	var bs int
	var err error
	if region.Len == 0 {
		out = append(out, res(p+"MPIO writes on each path", Skip, "no test region: the test writes a block through each path", "give --test-region START+LEN"))
	} else if bs, err = failoverSetup(ctx, env, td); err != nil {
		out = append(out, res(p+"MPIO writes on each path", Skip, err.Error(), "give a --test-region inside the disk and outside its SBD area"))
		region.Len = 0
	} else {
		out = append(out, step(p+"MPIO writes on each path", func() (Verdict, string, string) {
			return pathWrites(ctx, paths, region, bs)
		}))
	}
	out = append(out, step(p+"MPIO fence removes the node from every path", func() (Verdict, string, string) {
		if err := td.register(ctx, 1); err != nil {
			return Fail, "registering the peer's test key: " + err.Error(), ""
		}
		method, err := td.preempt(ctx)
		if err != nil {
			return Fail, "the peer's " + method + ": " + err.Error(), ""
		}
		k, err := td.Dev[1].ReadKeys(ctx)
		if err != nil {
			return Fail, err.Error(), ""
		}
		for _, x := range k.Keys {
			if x == key {
				return Fail, fmt.Sprintf("after the peer's %s, %s is still registered (keys %v)", method, key, k.Keys), "a half-fenced node: the target removed the key from one path only"
			}
		}
		var parts []string
		for i, d := range paths {
			if err := unregisteredPath(ctx, d, key); err != nil {
				return Fail, fmt.Sprintf("path %d after the fence: %v", i+1, err), "a half-fenced node: this path still acts for the fenced key"
			}
			what := "REGISTER conflicts"
			if region.Len > 0 {
				err := d.WriteBlocks(ctx, region, region.Start, make([]byte, bs), bs, true)
				if !errors.Is(err, scsi.ErrReservationConflict) {
					return Fail, fmt.Sprintf("path %d's WRITE(16) after the fence: %v", i+1, err), "a half-fenced node: this path can still write"
				}
				what += ", WRITE(16) conflicts"
			}
			parts = append(parts, fmt.Sprintf("path %d: %s", i+1, what))
		}
		return Pass, fmt.Sprintf("the peer's %s of %s removed both registrations; %s", method, key, strings.Join(parts, "; ")), ""
	}))
	return out
}

// pathWrites writes one pattern block through each path (the first two
// blocks of the region), reads each back through the other path and puts
// the old contents back.
func pathWrites(ctx context.Context, paths [2]*scsi.Device, region scsi.Region, bs int) (Verdict, string, string) {
	if region.Len < 2 {
		return Fail, "the test region has 1 block: the test writes 2", "give a --test-region of 2 blocks or more"
	}
	orig, err := paths[0].ReadBlocks(ctx, region.Start, 2, bs, true)
	if err != nil {
		return Fail, "reading the region to restore: " + err.Error(), ""
	}
	nonce := uint64(time.Now().UnixNano())
	var parts []string
	for i, d := range paths {
		pat := failoverPattern(nonce+uint64(i), 1, bs)
		lba := region.Start + uint64(i)
		start := time.Now()
		if err := d.WriteBlocks(ctx, region, lba, pat, bs, true); err != nil {
			return Fail, fmt.Sprintf("WRITE(16) through path %d: %v", i+1, err), "the path is not registered: its writes fail under the reservation"
		}
		took := time.Since(start)
		got, err := paths[1-i].ReadBlocks(ctx, lba, 1, bs, true)
		if err != nil {
			return Fail, fmt.Sprintf("READ(16) through path %d: %v", 2-i, err), ""
		}
		if !bytes.Equal(got, pat) {
			return Fail, fmt.Sprintf("the block written through path %d reads back different through path %d", i+1, 2-i), "the paths do not reach the same blocks"
		}
		parts = append(parts, fmt.Sprintf("path %d wrote LBA %d in %v, path %d read it back", i+1, lba, took.Round(time.Microsecond), 2-i))
	}
	if err := paths[0].WriteBlocks(ctx, region, region.Start, orig, bs, true); err != nil {
		return Fail, "restoring the region: " + err.Error(), ""
	}
	return Pass, strings.Join(parts, "; ") + "; the region restored", ""
}
