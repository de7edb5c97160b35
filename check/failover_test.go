package check

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hakit/hakit/scsi"
)

func TestFailoverPattern(t *testing.T) {
	for _, bs := range []int{512, 4096, 520} {
		p := failoverPattern(7, 3, bs)
		if len(p) != 3*bs {
			t.Fatalf("pattern of %d bytes, want %d", len(p), 3*bs)
		}
		if err := verifyPattern(p, bs, 7); err != nil {
			t.Errorf("bs %d: own pattern: %v", bs, err)
		}
	}
	p := failoverPattern(7, 3, 512)
	var pe *PatternError
	flip := append([]byte(nil), p...)
	flip[512+100] ^= 1
	swapped := append(append(append([]byte(nil), p[512:1024]...), p[:512]...), p[1024:]...)
	for _, tc := range []struct {
		name  string
		b     []byte
		nonce uint64
		block int
		why   string
	}{
		{"bit flip", flip, 7, 1, "checksum"},
		{"another run", failoverPattern(8, 3, 512), 7, 0, "another run"},
		{"misplaced", swapped, 7, 0, "misplaced"},
		{"zeros", make([]byte, 1024), 7, 0, "checksum"},
		{"torn", p[:700], 7, 0, "whole blocks"},
	} {
		err := verifyPattern(tc.b, 512, tc.nonce)
		if !errors.As(err, &pe) || pe.Block != tc.block || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("%s: %v, want block %d %q", tc.name, err, tc.block, tc.why)
		}
	}
	if failoverPattern(1, 0, 512) != nil || failoverPattern(1, 1, 64) != nil {
		t.Error("a pattern of no blocks or of blocks too small for its header")
	}
}

func TestCheckTestRegion(t *testing.T) {
	for _, tc := range []struct {
		r    scsi.Region
		last uint64
		sbd  bool
		ok   bool
	}{
		{scsi.Region{Start: 8192, Len: 64}, 131071, false, true},
		{scsi.Region{Start: 8192, Len: 64}, 131071, true, true},
		{scsi.Region{Start: 131008, Len: 64}, 131071, false, true},
		{scsi.Region{Start: 131009, Len: 64}, 131071, false, false},
		{scsi.Region{Start: 100, Len: 1}, 131071, true, false},
		{scsi.Region{Start: 100, Len: 1}, 131071, false, true},
		{scsi.Region{}, 131071, false, false},
		{scsi.Region{Start: ^uint64(0), Len: 2}, 131071, false, false},
	} {
		err := checkTestRegion(tc.r, tc.last, tc.sbd)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrTestRegion)) {
			t.Errorf("checkTestRegion(%v, %d, sbd %v) = %v", tc.r, tc.last, tc.sbd, err)
		}
	}
}

func TestJudgeFailover(t *testing.T) {
	conflict := scsi.CheckStatus("WRITE(16)", &scsi.Response{Status: scsi.StatusReservationConflict})
	good := failoverRun{LBA: 8192, Blocks: 64, Sum: "abcd", Method: "PREEMPT", Takeover: time.Millisecond, OldWrite: conflict, Restored: true}
	for _, tc := range []struct {
		name string
		run  func(failoverRun) failoverRun
		v    Verdict
		in   string
	}{
		{"good", func(r failoverRun) failoverRun { return r }, Pass, "RESERVATION CONFLICT; the region restored"},
		{"old owner still writes", func(r failoverRun) failoverRun { r.OldWrite = nil; return r }, Fail, "was accepted"},
		{"other write error", func(r failoverRun) failoverRun { r.OldWrite = errors.New("timeout"); return r }, Fail, "not by RESERVATION CONFLICT"},
		{"not restored", func(r failoverRun) failoverRun { r.Restored = false; return r }, Fail, "not restored"},
		{"step failed", func(r failoverRun) failoverRun { r.Err = errors.New("READ(16) by the new owner: boom"); return r }, Fail, "new owner: boom"},
	} {
		v, m, _ := judgeFailover(tc.run(good))
		if v != tc.v || !strings.Contains(m, tc.in) {
			t.Errorf("%s: %s %q, want %s with %q", tc.name, v, m, tc.v, tc.in)
		}
	}
}
