package check

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/scsi"
)

// DefaultRounds is the number of rounds of each kind of Multiple
// Arbitration; LongRounds with --long.
const (
	DefaultRounds = 10
	LongRounds    = 100
)

// round is one arbitration round: both nodes ask for the disk; exactly one
// must get it.
type round struct {
	// First is the side that asked first (the other asked once its answer
	// came back); -1 means both at once.
	First int
	// Winner is the side granted the reservation, -1 for none.
	Winner int
	Took   time.Duration
	Err    error
}

// arbiter is one reservation mechanism driven from both nodes.
type arbiter struct {
	reserve, release func(ctx context.Context, side int) error
	// verify checks that the target shows winner holding the disk.
	verify func(ctx context.Context, winner int) error
}

// ErrArbitration is a round that did not end with exactly one winner, or
// whose winner the target does not show.
var ErrArbitration = errors.New("arbitration")

// runRound runs one round: both sides reserve (at once, or first then the
// other), the target is checked to show the winner, and the winner
// releases.
func runRound(ctx context.Context, a arbiter, first int) round {
	r := round{First: first, Winner: -1}
	start := time.Now()
	var errs [2]error
	if first < 0 {
		var ready, done [2]chan struct{}
		for i := range ready {
			ready[i], done[i] = make(chan struct{}), make(chan struct{})
		}
		gate := make(chan struct{})
		for side := range 2 {
			go func() {
				defer close(done[side])
				close(ready[side])
				<-gate
				errs[side] = a.reserve(ctx, side)
			}()
		}
		<-ready[0]
		<-ready[1]
		close(gate)
		<-done[0]
		<-done[1]
	} else {
		errs[first] = a.reserve(ctx, first)
		errs[1-first] = a.reserve(ctx, 1-first)
	}
	switch {
	case errs[0] == nil && errs[1] == nil:
		r.Err = fmt.Errorf("%w: both nodes were granted the reservation", ErrArbitration)
		for side := range 2 {
			_ = a.release(ctx, side)
		}
	case errs[0] != nil && errs[1] != nil:
		r.Err = fmt.Errorf("%w: neither node was granted it (this node: %v; peer: %v)", ErrArbitration, errs[0], errs[1])
	default:
		r.Winner = 0
		if errs[0] != nil {
			r.Winner = 1
		}
		loser := 1 - r.Winner
		if !errors.Is(errs[loser], scsi.ErrReservationConflict) {
			r.Err = fmt.Errorf("%w: %s lost, but not by RESERVATION CONFLICT: %v", ErrArbitration, sideNames[loser], errs[loser])
		} else if err := a.verify(ctx, r.Winner); err != nil {
			r.Err = fmt.Errorf("%w: %s won, but %v", ErrArbitration, sideNames[r.Winner], err)
		}
		if err := a.release(ctx, r.Winner); err != nil && r.Err == nil {
			r.Err = fmt.Errorf("release by the winner (%s): %w", sideNames[r.Winner], err)
		}
	}
	r.Took = time.Since(start)
	return r
}

// roundsChart is the picture of the rounds: one bar each, named by its
// winner.
func roundsChart(rounds []round) *Chart {
	c := &Chart{Kind: ChartRounds, Unit: "ms"}
	for _, r := range rounds {
		c.Values = append(c.Values, float64(r.Took.Microseconds())/1000)
		l := "none"
		switch r.Winner {
		case 0:
			l = "A"
		case 1:
			l = "B"
		}
		if r.First >= 0 {
			l += "*"
		}
		c.Labels = append(c.Labels, l)
	}
	return c
}

// judgeRounds judges rounds: each must have exactly one winner (checked
// against the target), and in an alternating round the side that asked
// first must win. It returns the verdict, what was measured and the fix.
func judgeRounds(rounds []round) (Verdict, string, string) {
	if len(rounds) == 0 {
		return Fail, "no round ran", ""
	}
	var wins [2]int
	var atOnce, alt int
	var took []time.Duration
	for i, r := range rounds {
		if r.Err != nil {
			return Fail, fmt.Sprintf("round %d of %d: %v", i+1, len(rounds), r.Err), "the target does not arbitrate reservations between the nodes' initiators: do not use it as a shared disk (check its firmware and that each node logs in with its own initiator name)"
		}
		if r.First >= 0 {
			alt++
			if r.Winner != r.First {
				return Fail, fmt.Sprintf("round %d of %d: %s asked first and had its answer, yet %s won", i+1, len(rounds), sideNames[r.First], sideNames[r.Winner]), "the target granted a reservation that was already held: do not use it as a shared disk"
			}
		} else {
			atOnce++
		}
		wins[r.Winner]++
		took = append(took, r.Took)
	}
	if len(rounds) == 1 {
		r := rounds[0]
		return Pass, fmt.Sprintf("both asked at once: %s won in %v, %s got RESERVATION CONFLICT, the target showed the winner holding it, released", sideNames[r.Winner], r.Took.Round(time.Microsecond), sideNames[1-r.Winner]), ""
	}
	p50, _, worst := percentiles(took)
	best := slices.Min(took).Round(time.Microsecond)
	var parts []string
	if atOnce > 0 {
		parts = append(parts, fmt.Sprintf("%d at once", atOnce))
	}
	if alt > 0 {
		parts = append(parts, fmt.Sprintf("%d alternating, the first asker winning each", alt))
	}
	m := fmt.Sprintf("%d rounds (%s): one winner each, this node %d, peer %d; per round min %v, median %v, max %v", len(rounds), strings.Join(parts, ", "), wins[0], wins[1], best, p50, worst)
	return Pass, m, ""
}

// roundsResult is one arbitration test's result.
func roundsResult(name string, rounds []round) Result {
	v, m, hint := judgeRounds(rounds)
	r := res(name, v, m, hint)
	for _, x := range rounds {
		r.Duration += x.Took
	}
	if len(rounds) > 1 {
		r.Chart = roundsChart(rounds)
	}
	return r
}

// manyRounds runs n rounds at once and n alternating (this node first,
// then the peer, ...), stopping at the first failed round.
func manyRounds(ctx context.Context, a arbiter, n int) []round {
	var out []round
	for i := range 2 * n {
		first := -1
		if i%2 == 1 {
			first = (i / 2) % 2
		}
		r := runRound(ctx, a, first)
		out = append(out, r)
		if r.Err != nil || ctx.Err() != nil {
			break
		}
	}
	return out
}

func scsi2Arbiter(td *testDisk) arbiter {
	return arbiter{
		reserve: func(ctx context.Context, side int) error { return td.Dev[side].Reserve6(ctx) },
		release: func(ctx context.Context, side int) error { return td.Dev[side].Release6(ctx) },
		verify: func(ctx context.Context, winner int) error {
			if _, err := td.Dev[winner].Do(ctx, scsi.Read10(0, 1, 512)); err != nil {
				return fmt.Errorf("its READ failed: %w", err)
			}
			if _, err := td.Dev[1-winner].Do(ctx, scsi.Read10(0, 1, 512)); !errors.Is(err, scsi.ErrReservationConflict) {
				return fmt.Errorf("the loser's READ did not conflict: %v", err)
			}
			return nil
		},
	}
}

// prType is the reservation type hakit's agents use.
const prType = scsi.TypeWriteExclusiveRegistrantsOnly

func prArbiter(td *testDisk) arbiter {
	return arbiter{
		reserve: func(ctx context.Context, side int) error {
			return td.Dev[side].PROut(ctx, scsi.PROutReserve, prType, scsi.PROutParams{Key: td.Key[side]})
		},
		release: func(ctx context.Context, side int) error {
			return td.Dev[side].PROut(ctx, scsi.PROutRelease, prType, scsi.PROutParams{Key: td.Key[side]})
		},
		verify: func(ctx context.Context, winner int) error {
			r, err := td.Dev[1-winner].ReadReservation(ctx)
			switch {
			case err != nil:
				return fmt.Errorf("READ RESERVATION from the loser: %w", err)
			case !r.Held || r.Key != td.Key[winner] || r.Type != prType:
				return fmt.Errorf("the loser reads %s, want %s by %s", diskState{Res: r}, prType.Short(), td.Key[winner])
			}
			return nil
		},
	}
}

// scsi2HeldByAgents says why the agents hold a SCSI-2 reservation on a
// disk in scsi2 mode, "" when they hold none (or cannot tell).
func scsi2HeldByAgents(ctx context.Context, env Env) string {
	if env.Local == nil {
		return ""
	}
	ds, err := env.Local.Disks(ctx)
	if err != nil {
		return ""
	}
	for _, d := range ds {
		if d.Mode == agent.ModeSCSI2 && d.Holder != "" {
			return d.Device + ": the agents' scsi2 mode holds a SCSI-2 reservation (" + d.Holder + ")"
		}
	}
	return ""
}

// Arbitration is the "Disk Arbitration" and "Multiple Arbitration" tests
// of cluster validators, for SCSI-2 RESERVE(6) and for persistent
// reservations: both nodes ask for each disk at once and exactly one must
// get it (the target showing that one), then env.Rounds rounds at once and
// as many alternating. It runs through hwcheck's own sessions with
// hwcheck's test keys, so the agents' registrations are never touched; it
// needs env.PRTest, does not run while a reservation is held, and checks
// that it left the disk as it found it.
func Arbitration(ctx context.Context, env Env) []Result {
	n := env.rounds()
	return pairTest(env, eachTestDisk(ctx, env, "Disk Arbitration", "changes reservations", func(td *testDisk) []Result { return arbitrateDisk(ctx, env, td, n) }))
}

// pairTest says, in a cluster of more than two, that a two-initiator
// test was run once: its two sides are hwcheck's own sessions with test
// keys, not the members' agents, so they stand for any two members on
// the same target, and running it for each pair of this node with a
// member would repeat the same commands with other keys.
func pairTest(env Env, rs []Result) []Result {
	if env.LocalConfig == nil || len(env.LocalConfig.PeerList()) < 2 {
		return rs
	}
	n := len(env.LocalConfig.PeerList()) + 1
	for i := range rs {
		if rs[i].Verdict != Skip {
			rs[i].Measured += fmt.Sprintf(" [a two-initiator test of the target, run once for the %d members: its two sides are hwcheck's own sessions, which stand for any two of them]", n)
		}
	}
	return rs
}

func (env Env) rounds() int {
	switch {
	case env.Rounds > 0:
		return env.Rounds
	case env.Long:
		return LongRounds
	}
	return DefaultRounds
}

func arbitrateDisk(ctx context.Context, env Env, td *testDisk, n int) []Result {
	before, err := readDiskState(ctx, td.Dev[0])
	if err != nil {
		return []Result{res(td.Prefix+"Disk Arbitration", Fail, "reading the disk before the test: "+err.Error(), "")}
	}
	if before.Res.Held {
		return td.heldSkip("Disk Arbitration", before)
	}
	var out []Result
	if why := scsi2HeldByAgents(ctx, env); why != "" {
		out = append(out, skip(td.Prefix+"Disk Arbitration (SCSI-2)", why+"; the test would take it over, so it did not run and changed nothing", "release it first (hwagent release)")...)
	} else {
		a := scsi2Arbiter(td)
		one := []round{runRound(ctx, a, -1)}
		out = append(out, roundsResult(td.Prefix+"Disk Arbitration (SCSI-2)", one))
		if one[0].Err == nil {
			out = append(out, roundsResult(td.Prefix+"Multiple Arbitration (SCSI-2)", manyRounds(ctx, a, n)))
		}
	}
	if td.Config[0].Mode == agent.ModeSCSI2 {
		return append(out, res(td.Prefix+"Disk Arbitration (PR)", Skip, "the disk is owned in scsi2 mode: the agents use no persistent reservations on it", "the SCSI-2 arbitration covers it"))
	}
	for side := range 2 {
		if err := td.register(ctx, side); err != nil {
			out = append(out, res(td.Prefix+"Disk Arbitration (PR)", Fail, fmt.Sprintf("registering %s's test key %s: %v", sideNames[side], td.Key[side], err), "the target refuses PR OUT REGISTER: check its persistent reservation support"))
			return append(out, td.leftAsFound(ctx, "disk left as found (arbitration)", before))
		}
	}
	a := prArbiter(td)
	one := []round{runRound(ctx, a, -1)}
	out = append(out, roundsResult(td.Prefix+"Disk Arbitration (PR)", one))
	if one[0].Err == nil {
		out = append(out, roundsResult(td.Prefix+"Multiple Arbitration (PR)", manyRounds(ctx, a, n)))
	}
	return append(out, td.leftAsFound(ctx, "disk left as found (arbitration)", before))
}
