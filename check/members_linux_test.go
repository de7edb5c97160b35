package check_test

import (
	"context"
	"strings"
	"testing"

	"github.com/hakit/hakit/check"
	"github.com/hakit/hakit/internal/rig/rigpair"
)

// Four members on one tgtd LUN: the members check reads the disk identity
// through every member's agent and runs the PR matrix across them (each
// member fenced in turn by m1 and read back), leaving every key
// registered and no reservation held; the pair's matrix steps aside.
func TestIntegrationMemberChecks(t *testing.T) {
	ms := rigpair.MembersFor(t, 4, nil, logger(t))
	ctx := context.Background()
	env := check.Env{Local: ms.Clients[0], Peer: ms.Clients[1], LocalConfig: ms.Configs[0], PRTest: true}
	for i, c := range ms.Clients[2:] {
		env.Others = append(env.Others, check.Member{Name: ms.Configs[i+2].Node.Name, Client: c})
	}
	res := check.MemberChecks(ctx, env)
	names := map[string]check.Verdict{}
	for _, r := range res {
		names[r.Name] = r.Verdict
		if r.Verdict != check.Pass {
			t.Errorf("%s: %s: %s (%s)", r.Name, r.Verdict, r.Measured, r.Hint)
		}
	}
	for _, want := range []string{"disk identity on m2", "disk identity on m4", "register (every member)", "conflict from every member", "fence m2 (this node)", "fence m3 (this node)", "fence m4 (this node)", "unfence (every fenced member)", "release (this node)"} {
		if _, ok := names[want]; !ok {
			t.Errorf("no result %q in %v", want, names)
		}
	}
	ds, err := ms.Clients[3].Disks(ctx)
	if err != nil || len(ds) != 1 || ds[0].Holder != "" || len(ds[0].Keys) != 4 {
		t.Fatalf("left behind: %+v %v", ds, err)
	}
	if r := check.PRMatrix(ctx, env); len(r) != 1 || r[0].Verdict != check.Skip || !strings.Contains(r[0].Measured, "members check") {
		t.Errorf("pair matrix with four members: %+v", r)
	}
	// Without a member's socket the check says so instead of half a matrix.
	env.Others = env.Others[:1]
	if r := check.MemberChecks(ctx, env); len(r) != 1 || r[0].Verdict != check.Skip || !strings.Contains(r[0].Measured, "m4") {
		t.Errorf("a member unreachable: %+v", r)
	}
}
