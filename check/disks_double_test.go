package check

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/scsi"
	"github.com/hakit/hakit/scsi/iscsi"
	"github.com/hakit/hakit/scsi/opener"
	"github.com/hakit/hakit/scsi/scsitest"
)

// lunURL is the device of the double's LUN n.
func lunURL(n int) string {
	return fmt.Sprintf("iscsi://127.0.0.1:3260/iqn.2026-12.io.hakit.test:target/%d", n)
}

// disksDouble is Env.Open over in-memory LUNs (scsitest): one nexus per
// initiator port (initiator name and ISID), as hwcheck's sessions are; a
// device it does not know fails as a login the target refuses. fault, when
// set, wraps a nexus in injected faults.
type disksDouble struct {
	luns  map[string]*scsitest.LUN
	fault func(initiator, isid string, f *scsitest.Faulty)
}

func newDisksDouble(cfgs ...scsitest.Config) *disksDouble {
	d := &disksDouble{luns: map[string]*scsitest.LUN{}}
	for i, c := range cfgs {
		if c.Serial == "" {
			c.Serial = fmt.Sprintf("fake%04d", i)
			c.NAA = []byte{0x60, 0, 0, 0, 0, 0, 0, byte(i + 1)}
		}
		d.luns[lunURL(i)] = scsitest.New(c)
	}
	return d
}

func (d *disksDouble) open(_ context.Context, device string, o opener.Options) (scsi.Transport, io.Closer, error) {
	lun := d.luns[device]
	if lun == nil {
		return nil, nil, fmt.Errorf("iscsi: login: target %s not found", device)
	}
	isid := hex.EncodeToString(o.ISID[:])
	var tr scsi.Transport = lun.Connect(o.Initiator, isid)
	if d.fault != nil {
		f := &scsitest.Faulty{T: tr}
		d.fault(o.Initiator, isid, f)
		tr = f
	}
	return tr, io.NopCloser(nil), nil
}

const (
	iqnA = "iqn.2026-12.io.hakit.test:node-a"
	iqnB = "iqn.2026-12.io.hakit.test:node-b"
)

// pairEnv is hwcheck's view of a pair whose disks are the double's LUNs
// (iscsi:// devices, each node its own initiator name), with consent.
func pairEnv(d *disksDouble, mode string) Env {
	mk := func(id int, name, peer, iqn string) *agent.Config {
		c := &agent.Config{Node: agent.NodeConfig{Name: name, ID: id}, Peer: agent.PeerConfig{NodeConfig: agent.NodeConfig{Name: peer, ID: 3 - id}}, Cluster: agent.ClusterConfig{ID: 7}}
		for i := range len(d.luns) {
			c.Disks = append(c.Disks, agent.DiskConfig{Device: lunURL(i), Initiator: iqn, Mode: mode})
		}
		return c
	}
	return Env{PRTest: true, Open: d.open, LocalConfig: mk(1, "node-a", "node-b", iqnA), PeerConfig: mk(2, "node-b", "node-a", iqnB)}
}

// onNode adds rule to the nexuses of initiator (every initiator port of
// that node) as the double opens them.
func onNode(initiator string, rules ...scsitest.Fault) func(string, string, *scsitest.Faulty) {
	return func(ini, _ string, f *scsitest.Faulty) {
		if ini == initiator {
			for _, r := range rules {
				f.Add(&r)
			}
		}
	}
}

var (
	good          = &scsi.Response{Status: scsi.StatusGood}
	illegalOpcode = &scsi.Response{Status: scsi.StatusCheckCondition, Sense: scsi.Sense{Key: scsi.SenseIllegalRequest, ASC: 0x20}.MarshalFixed()}
)

// holdForeign registers a key of neither node on LUN 0 and reserves it, as
// another cluster's node would.
func holdForeign(t *testing.T, d *disksDouble) {
	t.Helper()
	dev := &scsi.Device{Transport: d.luns[lunURL(0)].Connect("iqn.2026-12.io.example:other", "000000000009")}
	ctx := context.Background()
	const k scsi.Key = 0x0123456789abcdef
	if err := dev.PROut(ctx, scsi.PROutRegisterAndIgnore, 0, scsi.PROutParams{ServiceActionKey: k}); err != nil {
		t.Fatal(err)
	}
	if err := dev.PROut(ctx, scsi.PROutReserve, prType, scsi.PROutParams{Key: k}); err != nil {
		t.Fatal(err)
	}
}

// foreignStillHolds checks that a probe that skipped for holdForeign's
// reservation left it alone.
func foreignStillHolds(t *testing.T, d *disksDouble) {
	t.Helper()
	dev := &scsi.Device{Transport: d.luns[lunURL(0)].Connect("iqn.2026-12.io.example:reader", "00000000000a")}
	r, err := dev.ReadReservation(context.Background())
	if err != nil || !r.Held || r.Key != 0x0123456789abcdef {
		t.Errorf("the foreign reservation after the skip: %+v %v", r, err)
	}
	if keys := d.luns[lunURL(0)].Keys(); len(keys) != 1 {
		t.Errorf("keys after the skip: %v, want the foreign key alone", keys)
	}
}

// The disk-owning probes against in-memory LUNs reached as hwcheck reaches
// them (Env.Open): each verdict a probe can give, from a target that
// behaves, one that misbehaves in the way the probe looks for, and the
// cases it must not run in. want lists results by name (a prefix of the
// name is enough); every result not passing carries a fix.
func TestDiskProbesOnDoubles(t *testing.T) {
	type setup struct {
		luns  []scsitest.Config
		mode  string
		fault func(string, string, *scsitest.Faulty)
		edit  func(t *testing.T, d *disksDouble, env *Env)
		// after checks the LUNs once the probe ran.
		after func(t *testing.T, d *disksDouble)
	}
	region := scsi.Region{Start: 100, Len: 8}
	for _, c := range []struct {
		probe string
		run   func(context.Context, Env) []Result
		name  string
		setup
		want map[string]Verdict
	}{
		// SCSI-2 reserve/release and the challenge/defense takeover.
		{"scsi2", SCSI2, "pass", setup{mode: agent.ModeSCSI2}, map[string]Verdict{"reserve": Pass, "conflict from the peer": Pass, "live owner wins": Pass, "LUN reset takeover": Pass, "release": Pass}},
		{"scsi2", SCSI2, "warn: the peer refused otherwise than by a conflict", setup{mode: agent.ModeSCSI2, fault: onNode(iqnB, scsitest.Fault{Match: scsitest.IsOp(0x16), Reply: illegalOpcode})},
			map[string]Verdict{"reserve": Pass, "conflict from the peer": Warn}},
		{"scsi2", SCSI2, "fail: the target ignores SCSI-2 reservations", setup{mode: agent.ModeSCSI2, fault: onNode(iqnB, scsitest.Fault{Match: scsitest.IsOp(0x16), Reply: good})},
			map[string]Verdict{"reserve": Pass, "conflict from the peer": Fail}},
		{"scsi2", SCSI2, "fail: no login", setup{mode: agent.ModeSCSI2, edit: func(_ *testing.T, d *disksDouble, _ *Env) { delete(d.luns, lunURL(0)) }},
			map[string]Verdict{"SCSI-2 login (this node)": Fail}},
		{"scsi2", SCSI2, "skip: a device path", setup{mode: agent.ModeSCSI2, edit: func(_ *testing.T, _ *disksDouble, env *Env) { env.PeerConfig.Disks[0].Device = "/dev/sdb" }},
			map[string]Verdict{"SCSI-2 reserve/release": Skip}},
		{"scsi2", SCSI2, "skip: no consent", setup{mode: agent.ModeSCSI2, edit: func(_ *testing.T, _ *disksDouble, env *Env) { env.PRTest = false }},
			map[string]Verdict{"SCSI-2": Skip}},

		// Disk Arbitration and Multiple Arbitration: one winner per round.
		{"arbitration", Arbitration, "pass", setup{}, map[string]Verdict{"Disk Arbitration (SCSI-2)": Pass, "Multiple Arbitration (SCSI-2)": Pass, "Disk Arbitration (PR)": Pass, "Multiple Arbitration (PR)": Pass, "disk left as found": Pass}},
		{"arbitration", Arbitration, "fail: two winners", setup{fault: onNode(iqnB, scsitest.Fault{Match: scsitest.IsPROut(scsi.PROutReserve), Times: -1, Reply: good})},
			map[string]Verdict{"Disk Arbitration (PR)": Fail}},
		{"arbitration", Arbitration, "skip: a reservation is held", setup{edit: func(t *testing.T, d *disksDouble, _ *Env) { holdForeign(t, d) }, after: foreignStillHolds},
			map[string]Verdict{"Disk Arbitration": Skip}},
		{"arbitration", Arbitration, "skip: a device path", setup{edit: func(_ *testing.T, _ *disksDouble, env *Env) { env.PeerConfig.Disks[0].Device = "/dev/sdb" }},
			map[string]Verdict{"Disk Arbitration": Skip}},

		// PR capabilities: REPORT CAPABILITIES, keys, APTPL, PREEMPT AND ABORT.
		{"capabilities", PRCapabilities, "pass", setup{}, map[string]Verdict{"REPORT CAPABILITIES": Pass, "keys that cannot collide": Pass, "APTPL": Pass, "PREEMPT AND ABORT": Pass, "disk left as found": Pass}},
		{"capabilities", PRCapabilities, "warn: no APTPL", setup{luns: []scsitest.Config{{NoAPTPL: true}}},
			map[string]Verdict{"REPORT CAPABILITIES": Pass, "APTPL": Warn, "PREEMPT AND ABORT": Pass}},
		{"capabilities", PRCapabilities, "warn: no REPORT CAPABILITIES", setup{luns: []scsitest.Config{{NoReportCapabilities: true}}},
			map[string]Verdict{"REPORT CAPABILITIES": Warn, "APTPL": Skip, "PREEMPT AND ABORT": Pass}},
		{"capabilities", PRCapabilities, "warn: PREEMPT AND ABORT refused, PREEMPT allowed", setup{luns: []scsitest.Config{{NoPreemptAndAbort: true}}, edit: func(_ *testing.T, _ *disksDouble, env *Env) {
			env.LocalConfig.Disks[0].AllowPreemptWithoutAbort, env.PeerConfig.Disks[0].AllowPreemptWithoutAbort = true, true
		}}, map[string]Verdict{"PREEMPT AND ABORT": Warn, "disk left as found": Pass}},
		{"capabilities", PRCapabilities, "fail: PREEMPT AND ABORT refused, no fallback", setup{luns: []scsitest.Config{{NoPreemptAndAbort: true}}},
			map[string]Verdict{"PREEMPT AND ABORT": Fail, "disk left as found": Pass}},
		{"capabilities", PRCapabilities, "skip: a reservation is held", setup{edit: func(t *testing.T, d *disksDouble, _ *Env) { holdForeign(t, d) }, after: foreignStillHolds},
			map[string]Verdict{"PREEMPT AND ABORT": Skip}},
		{"capabilities", PRCapabilities, "skip: no consent", setup{edit: func(_ *testing.T, _ *disksDouble, env *Env) { env.PRTest = false }},
			map[string]Verdict{"PR capabilities": Skip}},

		// Disk Failover and Simultaneous Failover over the test region.
		{"failover", Failover, "pass", setup{}, map[string]Verdict{"Disk Failover": Pass, "disk left as found": Pass, "Simultaneous Failover": Pass}},
		{"failover", Failover, "fail: the preempted node still writes", setup{fault: onNode(iqnA, scsitest.Fault{Match: scsitest.IsOp(0x8a), Skip: 1, Times: -1, Reply: good})},
			map[string]Verdict{"Disk Failover": Fail, "Simultaneous Failover": Skip}},
		{"failover", Failover, "skip: no test region", setup{edit: func(_ *testing.T, _ *disksDouble, env *Env) { env.TestRegion = scsi.Region{} }},
			map[string]Verdict{"Disk Failover": Skip}},
		{"failover", Failover, "skip: a reservation is held", setup{edit: func(t *testing.T, d *disksDouble, _ *Env) { holdForeign(t, d) }, after: foreignStillHolds},
			map[string]Verdict{"Disk Failover": Skip, "Simultaneous Failover": Skip}},

		// MPIO: both paths registered, both write, a fence removes both.
		{"mpio", MPIO, "pass", setup{}, map[string]Verdict{"MPIO identity": Pass, "MPIO registration covers every path": Pass, "MPIO writes on each path": Pass, "MPIO fence removes the node from every path": Pass, "disk left as found": Pass}},
		{"mpio", MPIO, "fail: the second path does not register", setup{fault: func(ini, isid string, f *scsitest.Faulty) {
			if id := iscsi.DerivedISID(iqnA, iscsi.ISIDHWCheckPath); ini == iqnA && isid == hex.EncodeToString(id[:]) {
				f.Add(&scsitest.Fault{Match: scsitest.IsPROut(scsi.PROutRegisterAndIgnore), Times: -1, Reply: good})
			}
		}}, map[string]Verdict{"MPIO registration covers every path": Fail}},
		{"mpio", MPIO, "skip: a device path", setup{edit: func(_ *testing.T, _ *disksDouble, env *Env) { env.LocalConfig.Disks[0].Device = "/dev/sdb" }},
			map[string]Verdict{"MPIO": Skip}},
	} {
		t.Run(c.probe+"/"+c.name, func(t *testing.T) {
			luns := c.luns
			if luns == nil {
				luns = []scsitest.Config{{}}
			}
			d := newDisksDouble(luns...)
			d.fault = c.fault
			env := pairEnv(d, c.mode)
			env.TestRegion = region
			if c.edit != nil {
				c.edit(t, d, &env)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			rs := c.run(ctx, env)
			for name, want := range c.want {
				var found bool
				for _, r := range rs {
					if strings.HasPrefix(r.Name, name) {
						found = true
						if r.Verdict != want {
							t.Errorf("%s: %s (%s), want %s", r.Name, r.Verdict, r.Measured, want)
						}
						break
					}
				}
				if !found {
					t.Errorf("no result %q in %s", name, verdicts(rs))
				}
			}
			if c.after != nil {
				c.after(t, d)
			}
			for _, r := range rs {
				if r.Verdict != Pass && r.Hint == "" && r.Verdict != Skip {
					t.Errorf("%s %s without a fix: %s", r.Name, r.Verdict, r.Measured)
				}
			}
			if t.Failed() {
				for _, r := range rs {
					t.Logf("%s=%s: %s | %s", r.Name, r.Verdict, r.Measured, r.Hint)
				}
			}
		})
	}
}
