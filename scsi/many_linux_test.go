package scsi_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hakit/hakit/internal/rig"
	"github.com/hakit/hakit/scsi"
)

// manyNodes starts a tgtd LUN whose ACL admits n initiators and dials one
// node per initiator, each with its own key.
func manyNodes(t testing.TB, n int) []*tnode {
	t.Helper()
	var iqns []string
	for i := 1; i <= n; i++ {
		iqns = append(iqns, fmt.Sprintf("iqn.2026-11.io.hakit.test:node-%02d", i))
	}
	d := rig.DiskFor(t, rig.DiskConfig{Initiators: iqns, Logger: quietLogger()})
	nodes := make([]*tnode, n)
	for i, iqn := range iqns {
		nodes[i] = dialNode(t, d, iqn, manyKey(i), scsi.TypeWriteExclusiveRegistrantsOnly, nil)
	}
	return nodes
}

func manyKey(i int) scsi.Key { return scsi.Key(0x686b000000001000 + uint64(i+1)) }

// liveKeys reads the registered keys through node n (READ KEYS works for
// an unregistered initiator too; n's device absorbs no unit attention, so
// read through a node that has none pending).
func liveKeys(ctx context.Context, t *testing.T, n *tnode) []scsi.Key {
	t.Helper()
	k, err := n.dev.ReadKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return k.Keys
}

// Sixteen initiators on one LUN: all register, the first reserves and
// fences the other fifteen one by one; after each fence the keys read back
// are exactly the ones left.
func TestIntegrationSixteenInitiators(t *testing.T) {
	nodes := manyNodes(t, 16)
	ctx := ctxT(t)
	for _, n := range nodes {
		chk(n.owner.Register(ctx))(t)
	}
	if got := liveKeys(ctx, t, nodes[0]); len(got) != 16 {
		t.Fatalf("after 16 registrations: %d keys %v", len(got), got)
	}
	chk(nodes[0].owner.Acquire(ctx))(t)
	start := time.Now()
	for i := 1; i < 16; i++ {
		r, err := nodes[0].owner.Fence(ctx, manyKey(i))
		if err != nil {
			t.Fatalf("fence of node %d: %v", i+1, err)
		}
		got := liveKeys(ctx, t, nodes[0])
		want := []scsi.Key{manyKey(0)}
		for j := i + 1; j < 16; j++ {
			want = append(want, manyKey(j))
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("after fencing node %d: keys %v, want %v (method %s)", i+1, got, want, r.Method)
		}
		if _, err := nodes[i].writeAfterUA(ctx); !errors.Is(err, scsi.ErrReservationConflict) {
			t.Fatalf("fenced node %d writes: %v, want reservation conflict", i+1, err)
		}
	}
	t.Logf("16 initiators: 15 fences, each verified by read-back and a refused write, in %v", time.Since(start).Round(time.Millisecond))
}

// raceRounds is the 16-way race's round count: HAKIT_RACE_ROUNDS, else
// 200 (about 5 s on tgtd), 20 with -short.
func raceRounds(t *testing.T) int {
	if s := os.Getenv("HAKIT_RACE_ROUNDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("HAKIT_RACE_ROUNDS=%q: want a positive number", s)
		}
		return n
	}
	if testing.Short() {
		return 20
	}
	return 200
}

// The 16-way race: every node fences every other at the same instant;
// each round leaves exactly one node registered.
func TestIntegrationSixteenWayRace(t *testing.T) {
	nodes := manyNodes(t, 16)
	rounds := raceRounds(t)
	var worst, total time.Duration
	survivors := map[int]int{}
	for round := range rounds {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		for _, n := range nodes {
			if _, err := n.owner.Unfence(ctx); err != nil {
				t.Fatalf("round %d: unfence %s: %v", round, n.name, err)
			}
		}
		if got := liveKeys(ctx, t, nodes[0]); len(got) != 16 {
			t.Fatalf("round %d: %d keys registered before the race", round, len(got))
		}
		start := time.Now()
		var wg sync.WaitGroup
		gate := make(chan struct{})
		// Why each node left the race (or its other errors), for a
		// failing round's message.
		why := make([][]string, len(nodes))
		for i, n := range nodes {
			wg.Go(func() {
				<-gate
				for j := range nodes {
					if j == i {
						continue
					}
					_, err := n.owner.Fence(ctx, manyKey(j))
					if err != nil && !errors.Is(err, scsi.ErrKeyNotRegistered) {
						why[i] = append(why[i], fmt.Sprintf("fence %d: %v", j+1, err))
					}
					if errors.Is(err, scsi.ErrNotRegistered) {
						return // fenced itself: out of the race
					}
				}
			})
		}
		close(gate)
		wg.Wait()
		took := time.Since(start)
		total += took
		worst = max(worst, took)
		got := liveKeys(ctx, t, nodes[0])
		cancel()
		if len(got) != 1 {
			var b strings.Builder
			for i, w := range why {
				if len(w) > 0 {
					fmt.Fprintf(&b, "\n  node %d: %s", i+1, strings.Join(w, "; "))
				}
			}
			t.Fatalf("round %d: %d keys left after the race, want exactly 1: %v%s", round, len(got), got, b.String())
		}
		for i := range nodes {
			if got[0] == manyKey(i) {
				survivors[i+1]++
			}
		}
	}
	t.Logf("16-way race: %d rounds, exactly one survivor each (survivors by node: %v), race time mean %v, worst %v", rounds, survivors, (total / time.Duration(rounds)).Round(time.Millisecond), worst.Round(time.Millisecond))
}

// BenchmarkFenceRegistrants times one verified fence against the number of
// registrants on the LUN (2, 4, 8, 16): the cost of growth. The victim
// registers again between iterations, untimed.
func BenchmarkFenceRegistrants(b *testing.B) {
	for _, n := range []int{2, 4, 8, 16} {
		b.Run(fmt.Sprintf("registrants=%d", n), func(b *testing.B) {
			nodes := manyNodes(b, n)
			ctx := context.Background()
			for _, nd := range nodes {
				if _, err := nd.owner.Register(ctx); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := nodes[0].owner.Acquire(ctx); err != nil {
				b.Fatal(err)
			}
			ds := make([]time.Duration, 0, b.N)
			for b.Loop() {
				b.StopTimer()
				if _, err := nodes[n-1].owner.Unfence(ctx); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				if _, err := nodes[0].owner.Fence(ctx, manyKey(n-1)); err != nil {
					b.Fatal(err)
				}
				ds = append(ds, time.Since(start))
			}
			reportDurations(b, "fence", ds)
			reportSpread(b, "fence", ds)
		})
	}
}

// lunPair is node A and node B on one LUN of a multi-LUN target.
type lunPair struct{ a, b *scsi.Owner }

// manyLUNs starts a tgtd target with n LUNs (1 MiB each), dials node A and
// node B once each (one session per node and target, as agent/hw's
// Sessions pool does), makes one Owner per node and LUN, registers both on
// every LUN and lets B hold every reservation.
func manyLUNs(tb testing.TB, n int) []lunPair {
	tb.Helper()
	d := rig.DiskFor(tb, rig.DiskConfig{Size: 1 << 20, Initiators: []string{iqnA, iqnB}, Logger: quietLogger()})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := tb.TempDir()
	for lun := 2; lun <= n; lun++ {
		if _, err := d.AddLUN(ctx, lun, 1<<20, dir); err != nil {
			tb.Fatal(err)
		}
	}
	a, b := dialNode(tb, d, iqnA, keyA, 0, nil), dialNode(tb, d, iqnB, keyB, 0, nil)
	pairs := make([]lunPair, n)
	for i := range pairs {
		for _, o := range []struct {
			n   *tnode
			key scsi.Key
			to  **scsi.Owner
		}{{a, keyA, &pairs[i].a}, {b, keyB, &pairs[i].b}} {
			lu, err := o.n.sess.LUN(i + 1)
			if err != nil {
				tb.Fatal(err)
			}
			if *o.to, err = scsi.NewOwner(scsi.OwnerConfig{Transport: lu, Name: fmt.Sprintf("%s lun %d", o.n.name, i+1), Key: o.key, AllowPreemptWithoutAbort: true}); err != nil {
				tb.Fatal(err)
			}
		}
		for _, o := range []*scsi.Owner{pairs[i].a, pairs[i].b} {
			if _, err := o.Register(ctx); err != nil {
				tb.Fatalf("register on LUN %d: %v", i+1, err)
			}
		}
		if _, err := pairs[i].b.Acquire(ctx); err != nil {
			tb.Fatalf("acquire LUN %d: %v", i+1, err)
		}
	}
	return pairs
}

// fenceAcross fences A from B on every LUN in turn, as the agent fences
// one member on each of its disks, each fence verified by its read-back.
func fenceAcross(ctx context.Context, pairs []lunPair) error {
	for i, p := range pairs {
		if _, err := p.b.Fence(ctx, keyA); err != nil {
			return fmt.Errorf("fence on LUN %d: %w", i+1, err)
		}
	}
	return nil
}

// Sixteen LUNs on one target, a pair on each: B fences A on all sixteen
// (the short form of BenchmarkFenceLUNs, run by make test); A's key is
// gone from every LUN and B still holds each.
func TestIntegrationFenceSixteenLUNs(t *testing.T) {
	pairs := manyLUNs(t, 16)
	ctx := ctxT(t)
	start := time.Now()
	if err := fenceAcross(ctx, pairs); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	for i, p := range pairs {
		st := chk(p.b.Status(ctx))(t)
		if slices.Contains(st.Keys.Keys, keyA) || !slices.Contains(st.Keys.Keys, keyB) || st.Reservation.Key != keyB {
			t.Errorf("LUN %d after the fence: keys %v, reservation %v: want A's key gone and B holding", i+1, st.Keys.Keys, st.Reservation.Key)
		}
	}
	t.Logf("16 LUNs: A fenced on every LUN, each verified by read-back, in %v", took.Round(time.Millisecond))
}

// BenchmarkFenceLUNs times fencing one member on every LUN of a target
// against the number of LUNs (1, 8, 16; a pair on each, one session per
// node): the cost of growth in disks. A registers again on every LUN
// between iterations, untimed.
func BenchmarkFenceLUNs(b *testing.B) {
	for _, n := range []int{1, 8, 16} {
		b.Run(fmt.Sprintf("luns=%d", n), func(b *testing.B) {
			pairs := manyLUNs(b, n)
			ctx := context.Background()
			ds := make([]time.Duration, 0, b.N)
			for b.Loop() {
				b.StopTimer()
				for _, p := range pairs {
					if _, err := p.a.Unfence(ctx); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				start := time.Now()
				if err := fenceAcross(ctx, pairs); err != nil {
					b.Fatal(err)
				}
				ds = append(ds, time.Since(start))
			}
			reportDurations(b, "fence", ds)
			reportSpread(b, "fence", ds)
		})
	}
}
