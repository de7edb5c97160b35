package check

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/hakit/hakit/agent"
)

// Member is one more member's agent (a cluster of more than two).
type Member struct {
	Name   string
	Client Agent
}

// members are every other member's agent: the peer first, then Others;
// nil with a skip result when this node's or a member's agent is not
// reachable from here.
func members(env Env, name string) ([]Member, []Result) {
	cs, sk := both(env, name)
	if sk != nil {
		return nil, sk
	}
	peer := "peer"
	if env.LocalConfig != nil {
		peer = env.LocalConfig.Peer.Name
	}
	out := []Member{{Name: peer, Client: cs[1]}}
	out = append(out, env.Others...)
	if env.LocalConfig != nil {
		for _, p := range env.LocalConfig.PeerList() {
			if !slices.ContainsFunc(out, func(m Member) bool { return m.Name == p.Name }) {
				return nil, skip(name, "no access to member "+p.Name+"'s agent", "give peers[].socket for "+p.Name+" in the configuration so every member can be checked")
			}
		}
	}
	return out, nil
}

// sides are the agents the per-node probes read: this node's ("this
// node"), then the peer's ("peer" in a pair, else its name) and, in a
// cluster of more than two, every other member's that is reachable (by
// name). skips are a skip result, named after the probe and the member,
// for each member whose agent is not reachable from here; nil sides with
// a skip when this node's or the peer's agent is not.
func sides(env Env, name string) (out []Member, skips []Result) {
	cs, sk := both(env, name)
	if sk != nil {
		return nil, sk
	}
	if env.LocalConfig == nil || len(env.LocalConfig.PeerList()) < 2 {
		return []Member{{Name: sideNames[0], Client: cs[0]}, {Name: sideNames[1], Client: cs[1]}}, nil
	}
	out = []Member{{Name: sideNames[0], Client: cs[0]}, {Name: env.LocalConfig.Peer.Name, Client: cs[1]}}
	out = append(out, env.Others...)
	for _, p := range env.LocalConfig.PeerList() {
		if !slices.ContainsFunc(out, func(m Member) bool { return m.Name == p.Name }) {
			skips = append(skips, res(name+" ("+p.Name+")", Skip, "no access to member "+p.Name+"'s agent", "give peers[].socket for "+p.Name+" in the configuration so every member can be checked"))
		}
	}
	return out, skips
}

// cableLabel names one cable of a side: the side alone in a pair, else
// "side to member".
func cableLabel(side, member string) string {
	if member == "" {
		return side
	}
	return side + " to " + member
}

// MemberChecks runs, in a cluster of more than two members, the disk
// identity check from every member and (with env.PRTest) the PR matrix
// across them: every member registers, this node reserves, every other
// member conflicts, this node fences each in turn (read back: exactly
// that key gone), each unfences itself, this node releases. It leaves
// every member registered and no reservation held, and runs only when
// no reservation is held. A pair is covered by the disks and pr probes.
func MemberChecks(ctx context.Context, env Env) []Result {
	if _, sk := both(env, "members"); sk != nil {
		return sk
	}
	if env.LocalConfig == nil || len(env.LocalConfig.PeerList()) < 2 {
		return skip("members", "a pair: the disks and pr checks cover both nodes", "list every member under peers: to check a larger cluster")
	}
	ms, sk := members(env, "members")
	if sk != nil {
		return sk
	}
	local, err := env.Local.Disks(ctx)
	if err != nil {
		return []Result{res("disks seen from this node", Fail, err.Error(), "")}
	}
	var out []Result
	for _, m := range ms {
		out = append(out, memberIdentity(ctx, m, local))
	}
	if !env.PRTest {
		return append(out, res("PR matrix across the members", Skip, "changes reservations: not run without consent", "run on a test LUN or in a maintenance window with --pr-test"))
	}
	if i := slices.IndexFunc(env.LocalConfig.Disks, func(d agent.DiskConfig) bool { return d.Mode == agent.ModeSCSI2 }); i >= 0 {
		return append(out, res("PR matrix across the members", Skip, "disks["+fmt.Sprint(i)+"] is owned in scsi2 mode", "scsi2 disks serve two members only: use mode pr"))
	}
	for _, d := range local {
		if d.Holder != "" {
			return append(out, res("PR matrix across the members", Skip, fmt.Sprintf("%s: a reservation is held (key %s); the test would leave it released, so it did not run and changed nothing", d.Device, d.Holder), "run it when no member holds the disk, or on a test LUN"))
		}
	}
	return append(out, memberMatrix(ctx, env, ms)...)
}

// memberIdentity: every disk of this node is seen by member m with the
// same VPD 0x83 identity.
func memberIdentity(ctx context.Context, m Member, local []agent.DiskStatus) Result {
	name := "disk identity on " + m.Name
	ds, err := m.Client.Disks(ctx)
	if err != nil {
		return res(name, Fail, err.Error(), "check "+m.Name+"'s agent and its disks: section")
	}
	seen := map[string]bool{}
	for _, d := range ds {
		if d.Error == "" && d.Identity != "" {
			seen[d.Identity] = true
		}
	}
	var ids, missing []string
	for _, d := range local {
		switch {
		case d.Identity == "":
			missing = append(missing, d.Device+" (no identity here)")
		case !seen[d.Identity]:
			missing = append(missing, d.Device+" "+d.Identity)
		default:
			ids = append(ids, d.Identity)
		}
	}
	if len(missing) > 0 {
		return res(name, Fail, "not seen by "+m.Name+": "+strings.Join(missing, ", "), m.Name+"'s disks: list names a different LUN; compare `hwagent disks` on both nodes")
	}
	return res(name, Pass, strings.Join(ids, " ")+" seen by "+m.Name, "")
}

// registered names the members whose key is on every disk read.
func registered(ds []agent.DiskStatus) (map[string]bool, error) {
	on := map[string]bool{}
	for i, d := range ds {
		if d.Error != "" {
			return nil, fmt.Errorf("%s: %s", d.Device, d.Error)
		}
		for _, k := range d.Members {
			if i == 0 {
				on[k.Name] = k.Registered
			} else {
				on[k.Name] = on[k.Name] && k.Registered
			}
		}
	}
	return on, nil
}

// keysAre checks that exactly the members in want are registered on every
// disk as this node reads it now.
func keysAre(ctx context.Context, env Env, want []string) (Verdict, string, string) {
	ds, err := env.Local.Disks(ctx)
	if err != nil {
		return Fail, err.Error(), ""
	}
	on, err := registered(ds)
	if err != nil {
		return Fail, err.Error(), ""
	}
	var got []string
	for n, r := range on {
		if r {
			got = append(got, n)
		}
	}
	slices.Sort(got)
	w := slices.Sorted(slices.Values(want))
	if !slices.Equal(got, w) {
		return Fail, fmt.Sprintf("registered %v, want %v", got, w), "registrations are per I_T nexus: check that each member logs in with its own initiator name"
	}
	return Pass, "registered " + strings.Join(got, " "), ""
}

func memberMatrix(ctx context.Context, env Env, ms []Member) []Result {
	self := env.LocalConfig.Node.Name
	all := []string{self}
	for _, m := range ms {
		all = append(all, m.Name)
	}
	var out []Result
	out = append(out, step("register (every member)", func() (Verdict, string, string) {
		if _, err := env.Local.Action(ctx, agent.ActionRegister); err != nil {
			return Fail, err.Error(), ""
		}
		for _, m := range ms {
			if _, err := m.Client.Action(ctx, agent.ActionRegister); err != nil {
				return Fail, m.Name + ": " + err.Error(), ""
			}
		}
		return keysAre(ctx, env, all)
	}))
	out = append(out, step("reserve (this node)", func() (Verdict, string, string) {
		if _, err := env.Local.Action(ctx, agent.ActionAcquire); err != nil {
			return Fail, err.Error(), ""
		}
		return Pass, "reserved by " + self, ""
	}))
	out = append(out, step("conflict from every member", func() (Verdict, string, string) {
		for _, m := range ms {
			if _, err := m.Client.Action(ctx, agent.ActionAcquire); err == nil {
				return Fail, m.Name + " reserved a unit " + self + " holds", "the target does not enforce persistent reservations: do not use it as a shared disk"
			}
		}
		return Pass, fmt.Sprintf("%d member(s) refused", len(ms)), ""
	}))
	left := slices.Clone(all)
	for _, m := range ms {
		out = append(out, step("fence "+m.Name+" (this node)", func() (Verdict, string, string) {
			if _, err := env.Local.Fence(ctx, m.Name); err != nil {
				return Fail, err.Error(), ""
			}
			left = slices.DeleteFunc(left, func(n string) bool { return n == m.Name })
			return keysAre(ctx, env, left)
		}))
	}
	out = append(out, step("unfence (every fenced member)", func() (Verdict, string, string) {
		for _, m := range ms {
			if _, err := m.Client.Unfence(ctx, ""); err != nil {
				return Fail, m.Name + ": " + err.Error(), ""
			}
		}
		return keysAre(ctx, env, all)
	}))
	out = append(out, step("release (this node)", func() (Verdict, string, string) {
		if _, err := env.Local.Action(ctx, agent.ActionRelease); err != nil {
			return Fail, err.Error(), ""
		}
		ds, err := env.Local.Disks(ctx)
		if err != nil {
			return Fail, err.Error(), ""
		}
		return everyDisk(ds, func(d agent.DiskStatus) (bool, string) {
			if d.Holder != "" {
				return false, "still held by " + d.Holder
			}
			return true, "no reservation held, every key registered"
		}, "")
	}))
	return out
}
