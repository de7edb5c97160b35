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
		})
	}
}
