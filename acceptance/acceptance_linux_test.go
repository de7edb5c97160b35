package acceptance

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hakit/hakit/internal/rig/pcmk"
)

// figure prints one acceptance figure in a form `make acceptance` greps.
func figure(t *testing.T, name string, d time.Duration, detail string) {
	t.Helper()
	t.Logf("FIGURE %-34s %8v  %s", name, d.Round(time.Millisecond), detail)
}

// records is the client's view: what it wrote, by record number.
type records struct {
	c    *pcmk.Cluster
	sums map[int]string
	data map[int]string
	next int
}

// put writes n records through the floating IP.
func (r *records) put(ctx context.Context, t *testing.T, n int) {
	t.Helper()
	for range n {
		i := r.next
		r.next++
		p := fmt.Sprintf("record-%d-%d", i, time.Now().UnixNano())
		out, err := r.c.Client(ctx, r.c.RecordsvcPath(), "put", "--addr", pcmk.AppAddr, fmt.Sprint(i), p)
		if err != nil {
			t.Fatalf("client put %d: %v", i, err)
		}
		f := strings.Fields(out)
		if len(f) != 2 || f[0] != fmt.Sprint(i) {
			t.Fatalf("client put %d: answer %q", i, out)
		}
		r.sums[i], r.data[i] = f[1], p
	}
}

// check reads every record back through the floating IP and compares
// payload and checksum.
func (r *records) check(ctx context.Context, t *testing.T, when string) {
	t.Helper()
	for i := range r.next {
		if _, ok := r.data[i]; !ok {
			continue // its put failed (and failed the test)
		}
		out, err := r.c.Client(ctx, r.c.RecordsvcPath(), "get", "--addr", pcmk.AppAddr, fmt.Sprint(i))
		if err != nil {
			t.Fatalf("%s: client get %d: %v", when, i, err)
		}
		f := strings.Fields(out)
		if len(f) != 3 || f[1] != r.data[i] || f[2] != r.sums[i] {
			t.Fatalf("%s: record %d reads %q, want %s %s", when, i, out, r.data[i], r.sums[i])
		}
	}
}

// waitGroupOn waits until the whole group runs on n and returns how long.
func waitGroupOn(ctx context.Context, t *testing.T, from, n *pcmk.Node, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	if err := from.WaitFor(ctx, within, "the group on "+n.Name, func(s pcmk.Status) bool { return s.GroupOn() == n.Name }); err != nil {
		t.Fatalf("%v\n%s", err, pcmk.GrepAgents(from.Log("pacemaker.log")))
	}
	return time.Since(start)
}

func run(ctx context.Context, t *testing.T, n *pcmk.Node, args ...string) string {
	t.Helper()
	out, err := n.Run(ctx, args[0], args[1:]...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestAcceptance runs the install guide's five tests, in order, on one
// cluster; each prints its figure (FIGURE lines).
func TestAcceptance(t *testing.T) {
	c := pcmk.ForTest(t, pcmk.Config{Serial: true, Public: true})
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	start := time.Now()
	holder, other, err := c.ConfigureApp(ctx)
	if err != nil {
		t.Fatal(err)
	}
	figure(t, "group up after configuration", time.Since(start), "disk, floating IP and data service on "+holder.Name)
	recs := &records{c: c, sums: map[int]string{}, data: map[int]string{}}
	recs.put(ctx, t, 10)

	t.Run("takeover", func(t *testing.T) {
		// The standby takes over the shared disk when the holder is put
		// in standby: the group stops there (release) and starts here.
		at := time.Now()
		run(ctx, t, holder, "crm_attribute", "--node", holder.Name, "--name", "standby", "--update", "on")
		waitGroupOn(ctx, t, holder, other, 60*time.Second)
		figure(t, "takeover by the standby", time.Since(at), holder.Name+" in standby: the group runs on "+other.Name)
		recs.check(ctx, t, "after the takeover")
		run(ctx, t, holder, "crm_attribute", "--node", holder.Name, "--name", "standby", "--update", "off")
		holder, other = other, holder
	})
	t.Run("move and back", func(t *testing.T) {
		for _, to := range []*pcmk.Node{other, holder} {
			recs.put(ctx, t, 5)
			at := time.Now()
			run(ctx, t, to, "crm_resource", "--move", "--resource", "app", "--node", to.Name)
			waitGroupOn(ctx, t, to, to, 60*time.Second)
			figure(t, "move to "+to.Name, time.Since(at), "crm_resource --move: the group runs there")
			run(ctx, t, to, "crm_resource", "--clear", "--resource", "app")
			recs.check(ctx, t, "after the move to "+to.Name)
		}
	})
	t.Run("client records", func(t *testing.T) {
		// Every record the client wrote before the moves, on whichever node
		// held the disk, reads back through the floating IP now.
		at := time.Now()
		recs.check(ctx, t, "all records")
		figure(t, "client reads every record", time.Since(at), fmt.Sprintf("%d records, written before takeover and moves, checksums equal", len(recs.data)))
	})
	st, err := holder.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	holder = c.Nodes()[0]
	if on := st.GroupOn(); on == c.Nodes()[1].Name {
		holder = c.Nodes()[1]
	}
	other = c.Nodes()[0]
	if holder == other {
		other = c.Nodes()[1]
	}
	t.Run("NIC pull", func(t *testing.T) {
		recs.put(ctx, t, 5)
		at := time.Now()
		if err := c.SetLink(ctx, holder, pcmk.Crossover, false); err != nil {
			t.Fatal(err)
		}
		waitGroupOn(ctx, t, other, other, 90*time.Second)
		figure(t, "heartbeat NIC pulled: group moves", time.Since(at), "link down on "+holder.Name+" to the group up on "+other.Name+" (hakit-nic-carrier=0)")
		recs.check(ctx, t, "after the NIC pull")
		if err := c.SetLink(ctx, holder, pcmk.Crossover, true); err != nil {
			t.Fatal(err)
		}
		holder, other = other, holder
	})
	t.Run("power off", func(t *testing.T) {
		recs.put(ctx, t, 5)
		at := time.Now()
		if err := holder.Kill(); err != nil {
			t.Fatal(err)
		}
		fencedAt := time.Duration(0)
		pcmk.Eventually(ctx, t, 90*time.Second, other.Name+" fences "+holder.Name, func() bool {
			st, err := other.Status(ctx)
			if err == nil && st.FencedOff(holder.Name) {
				fencedAt = time.Since(at)
				return true
			}
			return false
		})
		figure(t, "power off: fenced", fencedAt, holder.Name+" killed; "+other.Name+" fenced it through fence_hwagent")
		took := waitGroupOn(ctx, t, other, other, 90*time.Second)
		figure(t, "power off: group up", time.Since(at), fmt.Sprintf("the group on %s (%v after the fence)", other.Name, took.Round(time.Millisecond)))
		recs.check(ctx, t, "after the power-off")
	})
}
