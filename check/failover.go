package check

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/sbd"
	"github.com/hakit/hakit/scsi"
)

// maxFailoverBlocks bounds the blocks Disk Failover writes (the first of
// the test region): enough to cross several commands' worth of blocks,
// little enough to keep their old contents in memory for the restore.
const maxFailoverBlocks = 128

// patternMagic starts every block of the failover pattern.
const patternMagic = "hakit hwcheck failover\x00\x00" // 24 bytes

// PatternError is a block of the failover pattern that did not read back
// as written.
type PatternError struct {
	Block int
	Why   string
}

func (e *PatternError) Error() string {
	return fmt.Sprintf("block %d of the pattern: %s", e.Block, e.Why)
}

// failoverPattern is blocks blocks of blockSize bytes (at least 72): each
// starts with patternMagic, the nonce and the block's index, is filled
// from SHA-256 of (nonce, index, counter), and ends with the SHA-256 of
// the rest of the block, so that a block from another run, another place
// or a torn write does not verify.
func failoverPattern(nonce uint64, blocks, blockSize int) []byte {
	if blocks <= 0 || blockSize < 72 {
		return nil
	}
	b := make([]byte, blocks*blockSize)
	for i := range blocks {
		blk := b[i*blockSize : (i+1)*blockSize]
		copy(blk, patternMagic)
		binary.BigEndian.PutUint64(blk[24:], nonce)
		binary.BigEndian.PutUint64(blk[32:], uint64(i))
		var seed [24]byte
		binary.BigEndian.PutUint64(seed[0:], nonce)
		binary.BigEndian.PutUint64(seed[8:], uint64(i))
		body := blk[40 : blockSize-32]
		for c := 0; len(body) > 0; c++ {
			binary.BigEndian.PutUint64(seed[16:], uint64(c))
			sum := sha256.Sum256(seed[:])
			body = body[copy(body, sum[:]):]
		}
		sum := sha256.Sum256(blk[:blockSize-32])
		copy(blk[blockSize-32:], sum[:])
	}
	return b
}

// verifyPattern checks b against failoverPattern(nonce, ...): each block's
// checksum, magic, nonce and index.
func verifyPattern(b []byte, blockSize int, nonce uint64) error {
	if blockSize < 72 || len(b) == 0 || len(b)%blockSize != 0 {
		return &PatternError{Block: 0, Why: fmt.Sprintf("%d bytes are not whole blocks of %d", len(b), blockSize)}
	}
	for i := range len(b) / blockSize {
		blk := b[i*blockSize : (i+1)*blockSize]
		sum := sha256.Sum256(blk[:blockSize-32])
		switch {
		case !bytes.Equal(sum[:], blk[blockSize-32:]):
			return &PatternError{Block: i, Why: "checksum mismatch (torn or foreign data)"}
		case string(blk[:24]) != patternMagic:
			return &PatternError{Block: i, Why: "not a failover pattern block"}
		case binary.BigEndian.Uint64(blk[24:]) != nonce:
			return &PatternError{Block: i, Why: fmt.Sprintf("from another run (nonce %x, want %x)", binary.BigEndian.Uint64(blk[24:]), nonce)}
		case binary.BigEndian.Uint64(blk[32:]) != uint64(i):
			return &PatternError{Block: i, Why: fmt.Sprintf("block %d's data (misplaced)", binary.BigEndian.Uint64(blk[32:]))}
		}
	}
	return nil
}

func shortSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:4])
}

// ErrTestRegion is a test region Disk Failover must not write.
var ErrTestRegion = errors.New("test region")

// checkTestRegion refuses a region past the disk's end or over the SBD
// area (when sbdOnDisk: the disk is the configured SBD device).
func checkTestRegion(r scsi.Region, lastLBA uint64, sbdOnDisk bool) error {
	switch {
	case r.Len == 0:
		return fmt.Errorf("%w: empty", ErrTestRegion)
	case r.Start+r.Len < r.Start || r.Start+r.Len-1 > lastLBA:
		return fmt.Errorf("%w %s: past the disk's last block %d", ErrTestRegion, r, lastLBA)
	case sbdOnDisk && r.Start < sbd.AreaSectors(sbd.Slots):
		return fmt.Errorf("%w %s: overlaps the SBD header, slots and disk-heartbeat area (blocks 0-%d) of this disk", ErrTestRegion, r, sbd.AreaSectors(sbd.Slots)-1)
	}
	return nil
}

// failoverRun is what one Disk Failover did.
type failoverRun struct {
	LBA    uint64
	Blocks int
	Sum    string
	// Method is how the peer took over: PREEMPT AND ABORT, or PREEMPT
	// where the target refused the abort and the configuration allows it.
	Method string
	// Takeover is from the peer's preempt to its verified read.
	Takeover, Total time.Duration
	// OldWrite is the old owner's WRITE after the takeover.
	OldWrite error
	Restored bool
	// Err is the step that failed.
	Err error
}

// runFailover is Disk Failover on one disk: this node's test session
// registers and reserves, keeps the region's contents, writes the
// pattern; the peer's test session preempts it, reads the pattern back
// and verifies it; this node's WRITE must conflict; the peer writes the
// old contents back. The caller removes the test keys.
func runFailover(ctx context.Context, td *testDisk, region scsi.Region, blockSize int, nonce uint64) (run failoverRun) {
	start := time.Now()
	defer func() { run.Total = time.Since(start) }()
	n := int(min(region.Len, maxFailoverBlocks))
	run.LBA, run.Blocks = region.Start, n
	a, b := td.Dev[0], td.Dev[1]
	fail := func(step string, err error) failoverRun {
		run.Err = fmt.Errorf("%s: %w", step, err)
		return run
	}
	for side := range 2 {
		if err := td.register(ctx, side); err != nil {
			return fail("registering "+sideNames[side]+"'s test key", err)
		}
	}
	if err := a.PROut(ctx, scsi.PROutReserve, prType, scsi.PROutParams{Key: td.Key[0]}); err != nil {
		return fail("RESERVE by this node", err)
	}
	orig, err := a.ReadBlocks(ctx, region.Start, uint32(n), blockSize, true)
	if err != nil {
		return fail("reading the region's contents to restore", err)
	}
	// From here the region must be put back, by whoever may write.
	writer := a
	defer func() {
		if run.Restored {
			return
		}
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := writer.WriteBlocks(rctx, region, region.Start, orig, blockSize, true); err != nil && run.Err != nil {
			run.Err = fmt.Errorf("%w; restoring the region failed too: %v", run.Err, err)
		}
	}()
	pat := failoverPattern(nonce, n, blockSize)
	run.Sum = shortSum(pat)
	if err := a.WriteBlocks(ctx, region, region.Start, pat, blockSize, true); err != nil {
		return fail("WRITE(16) of the pattern by this node", err)
	}
	t0 := time.Now()
	run.Method, err = td.preempt(ctx)
	if err != nil {
		return fail("the peer's "+run.Method, err)
	}
	writer = b
	got, err := b.ReadBlocks(ctx, region.Start, uint32(n), blockSize, true)
	if err != nil {
		return fail("READ(16) by the new owner", err)
	}
	if err := verifyPattern(got, blockSize, nonce); err != nil {
		return fail("the new owner's read-back", err)
	}
	run.Takeover = time.Since(t0)
	run.OldWrite = a.WriteBlocks(ctx, region, region.Start, failoverPattern(nonce+1, 1, blockSize), blockSize, true)
	if err := b.WriteBlocks(ctx, region, region.Start, orig, blockSize, true); err != nil {
		return fail("restoring the region by the new owner", err)
	}
	back, err := b.ReadBlocks(ctx, region.Start, uint32(n), blockSize, true)
	if err != nil {
		return fail("reading the restored region", err)
	}
	if !bytes.Equal(back, orig) {
		return fail("the restored region", errors.New("reads back different from its old contents"))
	}
	run.Restored = true
	return run
}

// judgeFailover turns a run into a verdict, what was measured and the fix.
func judgeFailover(run failoverRun) (Verdict, string, string) {
	if run.Err != nil {
		return Fail, run.Err.Error(), "the disk did not move between the nodes intact: check the target's persistent reservation support and that each node logs in with its own initiator name"
	}
	m := fmt.Sprintf("%d blocks at LBA %d (sha256 %s) written by this node holding the disk; the peer took over by %s and read them back verified in %v",
		run.Blocks, run.LBA, run.Sum, run.Method, run.Takeover.Round(time.Microsecond))
	switch {
	case errors.Is(run.OldWrite, scsi.ErrReservationConflict):
		m += "; this node's WRITE(16) then: RESERVATION CONFLICT"
	case run.OldWrite == nil:
		return Fail, m + "; this node's WRITE(16) after the takeover was accepted", "the target lets a preempted node write: it cannot fence; do not use it as a shared disk"
	default:
		return Fail, m + "; this node's WRITE(16) after the takeover failed, but not by RESERVATION CONFLICT: " + run.OldWrite.Error(), ""
	}
	if !run.Restored {
		return Fail, m + "; the region was not restored", "check the test region's contents"
	}
	return Pass, m + "; the region restored (read back equal)", ""
}

// failoverSetup is what a disk's failover needs: the block size, and the
// region checked against the disk's end and its SBD area.
func failoverSetup(ctx context.Context, env Env, td *testDisk) (int, error) {
	capa, err := td.Dev[0].ReadCapacity(ctx)
	if err != nil {
		return 0, err
	}
	sbdOnDisk := false
	for side, c := range []*agent.Config{env.LocalConfig, env.PeerConfig} {
		if c != nil && c.SBD.Device != "" && c.SBD.Device == td.Config[side].Device {
			sbdOnDisk = true
		}
	}
	if err := checkTestRegion(env.TestRegion, capa.LastLBA, sbdOnDisk); err != nil {
		return 0, err
	}
	return int(capa.BlockSize), nil
}

// Failover is the "Disk Failover" and "Simultaneous Failover" tests of
// cluster validators, through hwcheck's own sessions and test keys: on
// each disk in turn, then on every disk at once (the time per disk). It
// writes only inside env.TestRegion (--test-region, the consent to write
// there) and puts the old contents back; it needs env.PRTest too, does not
// run while a reservation is held and checks that it left each disk as it
// found it.
func Failover(ctx context.Context, env Env) []Result {
	if env.TestRegion.Len == 0 {
		return skip("Disk Failover", "no test region: the test writes a pattern to the disk", "give --test-region START+LEN, blocks of every shared disk that hold no data (hwcheck restores them)")
	}
	return pairTest(env, withTestDisks(ctx, env, "Disk Failover", "changes reservations and writes the test region", func(tds *testDisks) []Result {
		var out []Result
		var ready []*testDisk
		var sizes []int
		var befores []diskState
		for _, td := range tds.disks {
			bs, err := failoverSetup(ctx, env, td)
			if err != nil {
				v := Fail
				if errors.Is(err, ErrTestRegion) {
					v = Skip
				}
				out = append(out, res(td.Prefix+"Disk Failover", v, td.Name+": "+err.Error(), "give a --test-region inside the disk and outside its SBD area"))
				continue
			}
			before, err := readDiskState(ctx, td.Dev[0])
			if err != nil {
				out = append(out, res(td.Prefix+"Disk Failover", Fail, "reading the disk before the test: "+err.Error(), ""))
				continue
			}
			if before.Res.Held {
				out = append(out, td.heldSkip("Disk Failover", before)...)
				continue
			}
			if td.Config[0].Mode == agent.ModeSCSI2 {
				out = append(out, res(td.Prefix+"Disk Failover", Skip, "the disk is owned in scsi2 mode: the agents use no persistent reservations on it", "the SCSI-2 tests cover the takeover"))
				continue
			}
			run := runFailover(ctx, td, env.TestRegion, bs, uint64(time.Now().UnixNano()))
			v, m, hint := judgeFailover(run)
			r := res(td.Prefix+"Disk Failover", v, m, hint)
			r.Duration = run.Total
			out = append(out, r, td.leftAsFound(ctx, "disk left as found (failover)", before))
			if v == Pass {
				ready, sizes, befores = append(ready, td), append(sizes, bs), append(befores, before)
			}
		}
		if len(ready) == 0 {
			return append(out, res("Simultaneous Failover", Skip, "no disk passed Disk Failover", "fix Disk Failover first"))
		}
		return append(out, simultaneous(ctx, env, ready, sizes, befores)...)
	}))
}

// simultaneous runs Disk Failover on every disk at once.
func simultaneous(ctx context.Context, env Env, tds []*testDisk, sizes []int, befores []diskState) []Result {
	runs := make([]failoverRun, len(tds))
	start := time.Now()
	var wg sync.WaitGroup
	nonce := uint64(time.Now().UnixNano())
	for i, td := range tds {
		wg.Go(func() { runs[i] = runFailover(ctx, td, env.TestRegion, sizes[i], nonce+uint64(i)<<32) })
	}
	wg.Wait()
	total := time.Since(start)
	r := res("Simultaneous Failover", Pass, "", "")
	r.Duration = total
	r.Chart = &Chart{Kind: ChartRounds, Unit: "ms"}
	var parts []string
	var out []Result
	for i, run := range runs {
		label := fmt.Sprintf("disk %d", i)
		if v, m, hint := judgeFailover(run); v != Pass {
			r.Verdict, r.Hint = v, hint
			parts = append(parts, label+": "+m)
		} else {
			parts = append(parts, fmt.Sprintf("%s %v (takeover %v)", label, run.Total.Round(time.Microsecond), run.Takeover.Round(time.Microsecond)))
		}
		r.Chart.Values = append(r.Chart.Values, float64(run.Total.Microseconds())/1000)
		r.Chart.Labels = append(r.Chart.Labels, label)
		if f := tds[i].leftAsFound(ctx, "disk left as found (simultaneous)", befores[i]); f.Verdict != Pass {
			out = append(out, f)
		}
	}
	r.Measured = fmt.Sprintf("%d disk(s) at once in %v: %s", len(runs), total.Round(time.Microsecond), strings.Join(parts, "; "))
	if r.Verdict == Pass {
		r.Measured += "; on each the pattern verified on the new owner, the old owner's WRITE conflicted, the region restored"
	}
	return append([]Result{r}, out...)
}
