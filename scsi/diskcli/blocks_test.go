package diskcli

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/hakit/hakit/scsi/scsitest"
)

// TestBlocks writes and reads blocks through the command line on a fake
// LUN: a pattern and stdin data inside the region, a write across its end
// refused (exit 1), reads as raw and --json, and a write from node B after
// A fenced it refused by the disk (RESERVATION CONFLICT, exit 24).
func TestBlocks(t *testing.T) {
	f := &fakeOpener{lun: scsitest.New(scsitest.Config{Blocks: 64}), nexuses: map[string]*scsitest.Nexus{}}
	r := Runner{Open: f.open, Stdin: strings.NewReader(strings.Repeat("x", 512))}
	a := []string{"--cluster", "alpha", "--node", "1", "--type", "we"}
	b := []string{"--cluster", "alpha", "--node", "2", "--type", "we"}
	steps := [][]string{
		{"write", "fake://a", "--lba", "4", "--count", "2", "--pattern", "0xa5"},
		{"write", "fake://a", "--lba", "4", "--count", "2", "--pattern", "0xa5", "--region-start", "0", "--region-len", "8"},
		{"write", "fake://a", "--lba", "7", "--count", "2", "--pattern", "0xa5", "--region-start", "0", "--region-len", "8"},
		{"write", "fake://a", "--lba", "6", "--region-start", "0", "--region-len", "8", "--json"},
		{"read", "fake://b", "--lba", "5", "--count", "2", "--json"},
		{"read", "fake://b", "--lba", "63", "--count", "2"},
		append([]string{"register", "fake://a"}, a...),
		append([]string{"register", "fake://b"}, b...),
		append([]string{"reserve", "fake://a"}, a...),
		append([]string{"fence", "fake://a", "--victim", "0x686b8ed3f6ad0002"}, a...),
		{"write", "fake://b", "--lba", "4", "--pattern", "0", "--region-start", "0", "--region-len", "8"},
		{"write", "fake://a", "--lba", "4", "--pattern", "0", "--region-start", "0", "--region-len", "8"},
	}
	var tr strings.Builder
	for _, args := range steps {
		out, errs, code := run(t, r, args...)
		fmt.Fprintf(&tr, "$ disk %s\n%s%s[exit %d]\n\n", strings.Join(args, " "), out, errs, code)
	}
	golden(t, "blocks.golden", tr.String())
	out, _, code := run(t, r, "read", "fake://b", "--lba", "6", "--count", "1")
	if code != 0 || !bytes.Equal([]byte(out), bytes.Repeat([]byte("x"), 512)) {
		t.Errorf("raw read of the stdin block: exit %d, %q...", code, out[:min(16, len(out))])
	}
}
