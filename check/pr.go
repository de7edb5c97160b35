package check

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/scsi"
	"github.com/hakit/hakit/scsi/iscsi"
	"github.com/hakit/hakit/scsi/opener"
	"github.com/hakit/hakit/scsi/opener/devname"
)

// step times one check.
func step(name string, fn func() (Verdict, string, string)) Result {
	start := time.Now()
	v, m, hint := fn()
	r := res(name, v, m, hint)
	r.Duration = time.Since(start)
	return r
}

// PRMatrix runs the persistent reservation matrix from both nodes through
// their agents: register, reserve, the reservation seen from the other,
// conflict from the other, preempt (the peer fences this node, and this
// node's self-fence guard notices), unfence, release. It changes only
// registrations and reservations, never data, and needs env.PRTest. It
// leaves both nodes registered and no reservation held.
func PRMatrix(ctx context.Context, env Env) []Result {
	if !env.PRTest {
		return skip("PR matrix", "changes reservations: not run without consent", "run on a test LUN or in a maintenance window with --pr-test")
	}
	if env.LocalConfig != nil {
		for i, d := range env.LocalConfig.Disks {
			if d.Mode == agent.ModeSCSI2 {
				return skip("PR matrix", fmt.Sprintf("disks[%d] (%s) is owned in scsi2 mode: the agents use no persistent reservations on it", i, d.Device), "the SCSI-2 reserve/release test covers it")
			}
		}
	}
	if env.LocalConfig != nil && len(env.LocalConfig.PeerList()) > 1 {
		return skip("PR matrix", "more than two members: the members check runs the matrix across every member", "see the members results")
	}
	cs, sk := both(env, "PR matrix")
	if sk != nil {
		return sk
	}
	a, b := cs[0], cs[1]
	sa, err := a.Status(ctx)
	if err != nil {
		return []Result{res("PR matrix", Fail, err.Error(), "")}
	}
	// A diagnostic leaves the disk as it found it: the matrix reserves,
	// fences and releases, so it does not run while a reservation is held
	// (it would end with the holder's reservation gone).
	held, err := a.Disks(ctx)
	if err != nil {
		return []Result{res("PR matrix", Fail, "reading the disks before the test: "+err.Error(), "")}
	}
	for _, d := range held {
		if d.Holder != "" {
			who := "key " + d.Holder
			switch {
			case d.Owner:
				who = "this node (key " + d.Holder + ")"
			case d.Holder == d.PeerKey:
				who = "the peer (key " + d.Holder + ")"
			}
			return skip("PR matrix", fmt.Sprintf("%s: a persistent reservation (%s) is held by %s; the test would leave it released, so it did not run and changed nothing", d.Device, d.Type, who),
				"run it when neither node holds the disk (hwagent release on the holder, in a maintenance window), or on a test LUN")
		}
	}
	var out []Result
	var disksA []agent.DiskStatus
	out = append(out, step("register (both nodes)", func() (Verdict, string, string) {
		if _, err := a.Action(ctx, "register"); err != nil {
			return Fail, err.Error(), "the target refuses PR OUT REGISTER: check its persistent reservation support"
		}
		if _, err := b.Action(ctx, "register"); err != nil {
			return Fail, err.Error(), ""
		}
		if disksA, err = a.Disks(ctx); err != nil {
			return Fail, fmt.Sprint("read back: ", err), ""
		}
		return everyDisk(disksA, func(d agent.DiskStatus) (bool, string) {
			if !d.Registered || !d.PeerRegistered {
				return false, fmt.Sprintf("keys %v after both registered", d.Keys)
			}
			return true, "keys " + strings.Join(d.Keys, " ")
		}, "registrations are per I_T nexus: check that each node logs in with its own initiator name")
	}))
	out = append(out, step("reserve (this node)", func() (Verdict, string, string) {
		r, err := a.Action(ctx, "acquire")
		if err != nil {
			return Fail, err.Error(), "another reservation may be held: hwagent disks on both nodes"
		}
		return everyDisk(r.Disks, func(d agent.DiskStatus) (bool, string) {
			if !d.Owner {
				return false, fmt.Sprintf("holder %q after acquire", d.Holder)
			}
			return true, fmt.Sprintf("%s, key %s", d.Type, d.Holder)
		}, "")
	}))
	out = append(out, step("reservation seen from the peer", func() (Verdict, string, string) {
		ds, err := b.Disks(ctx)
		if err != nil {
			return Fail, err.Error(), ""
		}
		return everyDisk(ds, func(d agent.DiskStatus) (bool, string) {
			if d.Holder != d.PeerKey || d.Owner {
				return false, fmt.Sprintf("peer sees holder %q, expected this node's key %s", d.Holder, d.PeerKey)
			}
			return true, "holder " + d.Holder
		}, "the nodes do not see the same LUN")
	}))
	out = append(out, step("conflict from the peer", func() (Verdict, string, string) {
		_, err := b.Action(ctx, "acquire")
		if err == nil {
			return Fail, "the peer reserved a unit this node holds", "the target does not enforce persistent reservations: do not use it as a shared disk"
		}
		msg := strings.ToLower(err.Error())
		switch {
		case strings.Contains(msg, "conflict"):
			return Pass, "RESERVATION CONFLICT", ""
		case strings.Contains(msg, "held by another"):
			return Pass, "refused: the peer read the reservation held by this node's key", ""
		}
		return Warn, "refused, but neither by RESERVATION CONFLICT nor by the holder's key: " + err.Error(), ""
	}))
	safe := sa.SelfFence == "none" || sa.SelfFence == "event"
	if !safe {
		out = append(out, res("preempt (peer fences this node)", Skip, "this node's self_fence.action is "+sa.SelfFence+": being fenced would stop or reset it", "run the matrix with self_fence.action event, or from the other node"))
	} else {
		out = append(out, step("preempt (peer fences this node)", func() (Verdict, string, string) {
			r, err := b.Fence(ctx, sa.Node)
			if err != nil {
				return Fail, err.Error(), ""
			}
			return everyDisk(r.Disks, func(d agent.DiskStatus) (bool, string) {
				if d.PeerRegistered || !d.Owner {
					return false, fmt.Sprintf("after fence: keys %v holder %s", d.Keys, d.Holder)
				}
				m := "this node's key removed, the peer holds " + d.Holder
				for _, n := range d.Notes {
					if strings.Contains(n, "PREEMPT") {
						m += " (" + n + ")"
					}
				}
				return true, m
			}, "")
		}))
		out = append(out, step("self-fence guard notices", func() (Verdict, string, string) {
			start := time.Now()
			for time.Since(start) < 5*time.Second {
				st, err := a.Status(ctx)
				if err == nil && st.Fenced {
					return Pass, fmt.Sprintf("fenced state raised after %v", time.Since(start).Round(time.Millisecond)), ""
				}
				time.Sleep(20 * time.Millisecond)
			}
			return Fail, "this node's agent did not notice its key was gone within 5 s", "check timers.disk_status_ms"
		}))
		out = append(out, step("unfence (this node registers again)", func() (Verdict, string, string) {
			r, err := a.Action(ctx, "unfence")
			if err != nil {
				return Fail, err.Error(), ""
			}
			return everyDisk(r.Disks, func(d agent.DiskStatus) (bool, string) {
				if !d.Registered {
					return false, fmt.Sprintf("keys %v", d.Keys)
				}
				return true, "registered again"
			}, "")
		}))
	}
	out = append(out, step("release", func() (Verdict, string, string) {
		for _, c := range cs {
			if _, err := c.Action(ctx, "release"); err != nil {
				return Fail, err.Error(), ""
			}
		}
		ds, err := a.Disks(ctx)
		if err != nil {
			return Fail, err.Error(), ""
		}
		return everyDisk(ds, func(d agent.DiskStatus) (bool, string) {
			if d.Holder != "" {
				return false, "still held by " + d.Holder
			}
			return true, "no reservation held, both keys registered"
		}, "")
	}))
	out = append(out, res("clear", Skip, "not run: PR OUT CLEAR would drop the registrations of a live pair", "on a test LUN: hwagent disk clear DEVICE"))
	return out
}

// everyDisk judges every disk of an answer with ok: Pass when each passes,
// else Fail naming the disks that did not (with hint). With several disks
// each is named in what was measured; no disk at all is a failure.
func everyDisk(ds []agent.DiskStatus, ok func(agent.DiskStatus) (bool, string), hint string) (Verdict, string, string) {
	if len(ds) == 0 {
		return Fail, "no disk in the answer", hint
	}
	if len(ds) == 1 {
		d := ds[0]
		if d.Error != "" {
			return Fail, d.Device + ": " + d.Error, hint
		}
		good, m := ok(d)
		if !good {
			return Fail, m, hint
		}
		return Pass, m, ""
	}
	v := Pass
	var parts []string
	for _, d := range ds {
		good, m := false, d.Error
		if d.Error == "" {
			good, m = ok(d)
		}
		if !good {
			v = Fail
		}
		parts = append(parts, d.Device+": "+m)
	}
	if v == Pass {
		hint = ""
	}
	return v, strings.Join(parts, "; "), hint
}

// hwcheckOptions opens d as hwcheck: the node's initiator name with the
// ISID of hwcheck's use (iscsi.ISIDHWCheck, or ISIDHWCheckPath for MPIO's
// second path), different from the agent's, so logging in never replaces
// the agent's session (and its registration); a 5 s command timeout.
func hwcheckOptions(env Env, d agent.DiskConfig, use byte) opener.Options {
	return opener.Options{Initiator: d.Initiator, ISID: iscsi.DerivedISID(d.Initiator, use), CommandTimeout: 5 * time.Second, Logger: env.Logger}
}

// opener is how a probe opens disks: env.Open, or a session pool of its
// own (each closer it returns gives a LUN back; a session ends with its
// last LUN).
func (env Env) opener() opener.Func {
	if env.Open != nil {
		return env.Open
	}
	return new(opener.Sessions).Open
}

// SCSI2 tests SCSI-2 RESERVE/RELEASE between the nodes and the takeover by
// LUN reset (challenge/defense): this node reserves, the peer conflicts;
// while this node defends, a challenge fails; when it stops, the
// challenge takes over. It needs both nodes' configurations with iscsi://
// disks (it logs in with each node's initiator name) and env.PRTest, and is
// skipped when a persistent reservation is held.
func SCSI2(ctx context.Context, env Env) []Result {
	if !env.PRTest {
		return skip("SCSI-2 reserve/release", "changes reservations: not run without consent", "add --pr-test")
	}
	if env.LocalConfig == nil || env.PeerConfig == nil || len(env.LocalConfig.Disks) == 0 || len(env.PeerConfig.Disks) == 0 {
		return skip("SCSI-2 reserve/release", "needs both nodes' configurations", "give --peer-config (readable from this node, as on the rig)")
	}
	if env.Local != nil {
		if d, err := env.Local.Disks(ctx); err == nil {
			for _, d := range d {
				if d.Holder == "" {
					continue
				}
				what := d.Device + ": a persistent reservation is held by " + d.Holder
				if d.Mode == agent.ModeSCSI2 {
					what = d.Device + ": the agents' scsi2 mode holds a SCSI-2 reservation (" + d.Holder + ")"
				}
				return skip("SCSI-2 reserve/release", what, "release it first (hwagent release)")
			}
		}
	}
	n := min(len(env.LocalConfig.Disks), len(env.PeerConfig.Disks))
	var out []Result
	for i := range n {
		prefix := ""
		if n > 1 {
			prefix = fmt.Sprintf("disk %d: ", i)
		}
		out = append(out, scsi2Disk(ctx, env, env.LocalConfig.Disks[i], env.PeerConfig.Disks[i], prefix)...)
	}
	return out
}

// scsi2Disk is the SCSI-2 test on one disk, seen from both nodes; prefix
// starts each result's name.
func scsi2Disk(ctx context.Context, env Env, da, db agent.DiskConfig, prefix string) []Result {
	if !devname.IsISCSI(da.Device) || !devname.IsISCSI(db.Device) {
		return skip(prefix+"SCSI-2 reserve/release", "device paths: the peer's side cannot be driven from here", "run sg_reserve from both nodes by hand")
	}
	const period = 100 * time.Millisecond
	var s2 [2]*scsi.SCSI2
	open := env.opener()
	for i, dc := range []agent.DiskConfig{da, db} {
		tr, closer, err := open(ctx, dc.Device, hwcheckOptions(env, dc, iscsi.ISIDHWCheck))
		if err != nil {
			return []Result{res(prefix+"SCSI-2 login ("+sideNames[i]+")", Fail, err.Error(), "check the portal and the target's ACL for "+dc.Initiator)}
		}
		defer closer.Close()
		if s2[i], err = scsi.NewSCSI2(scsi.SCSI2Config{Transport: tr, Name: dc.Device, Period: period, Wait: 3 * period, Logger: env.Logger}); err != nil {
			return []Result{res(prefix+"SCSI-2", Fail, err.Error(), "")}
		}
	}
	a, b := s2[0], s2[1]
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = a.Release(cctx)
		_ = b.Release(cctx)
	}()
	var out []Result
	out = append(out, step(prefix+"reserve (this node)", func() (Verdict, string, string) {
		if err := a.Reserve(ctx); err != nil {
			return Fail, err.Error(), "the unit is reserved elsewhere or refuses RESERVE(6)"
		}
		return Pass, "RESERVE(6) granted", ""
	}))
	out = append(out, step(prefix+"conflict from the peer", func() (Verdict, string, string) {
		err := b.Reserve(ctx)
		switch {
		case err == nil:
			return Fail, "the peer reserved a unit this node holds", "the target ignores SCSI-2 reservations"
		case errors.Is(err, scsi.ErrReservationConflict):
			return Pass, "RESERVATION CONFLICT", ""
		}
		return Warn, err.Error(), "the peer was refused, but not by RESERVATION CONFLICT: the agents read only a conflict as the other node holding the unit; check the target's SCSI-2 reservation support on this path"
	}))
	out = append(out, step(prefix+"live owner wins a challenge", func() (Verdict, string, string) {
		dctx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- a.Defend(dctx) }()
		r, err := b.Challenge(ctx)
		stop()
		<-done
		switch {
		case errors.Is(err, scsi.ErrOwnerAlive):
			return Pass, fmt.Sprintf("challenge after LUN reset and %v wait lost to the defending owner", r.Waited.Round(time.Millisecond)), ""
		case err == nil && r.Won:
			return Fail, "the challenger took a unit whose owner was renewing", "renewal period too long for the wait, or resets do not clear reservations as expected"
		}
		return Fail, fmt.Sprint(err), ""
	}))
	out = append(out, step(prefix+"LUN reset takeover of a dead owner", func() (Verdict, string, string) {
		r, err := b.Challenge(ctx)
		if err != nil || !r.Won {
			return Fail, fmt.Sprint("challenge: ", err), "the target may not support LUN RESET through this path"
		}
		if err := a.Renew(ctx); !errors.Is(err, scsi.ErrReservationLost) {
			return Fail, fmt.Sprint("the old owner's renewal after takeover: ", err), ""
		}
		return Pass, fmt.Sprintf("taken over after LUN reset and %v; the old owner now conflicts", r.Waited.Round(time.Millisecond)), ""
	}))
	out = append(out, step(prefix+"release", func() (Verdict, string, string) {
		if err := b.Release(ctx); err != nil {
			return Fail, err.Error(), ""
		}
		if err := a.Reserve(ctx); err != nil {
			return Fail, "after release the other node cannot reserve: " + err.Error(), ""
		}
		if err := a.Release(ctx); err != nil {
			return Fail, err.Error(), ""
		}
		return Pass, "RELEASE(6) frees the unit for the other node", ""
	}))
	return out
}
