package serialhb

import (
	"bytes"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func seedWire(f *testing.F) []byte {
	b, err := os.ReadFile("testdata/frame_v1.hex")
	if err != nil {
		f.Fatal(err)
	}
	w, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		f.Fatal(err)
	}
	return w
}

// FuzzDecode checks that DecodeFrame never panics on arbitrary bytes and
// that an accepted frame survives encode -> decode unchanged.
func FuzzDecode(f *testing.F) {
	w := seedWire(f)
	f.Add(w)
	f.Add(w[:40])
	f.Add([]byte{0, 1, 0})
	f.Add(bytes.Repeat([]byte{0xff}, 90))
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := DecodeFrame(b, testKey, nil)
		if err != nil {
			return
		}
		again, err := EncodeFrame(&fr, testKey)
		if err != nil {
			t.Fatalf("accepted frame does not encode: %v", err)
		}
		back, err := DecodeFrame(again, testKey, nil)
		if err != nil {
			t.Fatalf("re-encoded frame does not decode: %v", err)
		}
		if d := cmp.Diff(fr, back); d != "" {
			t.Fatalf("round trip (-first +second):\n%s", d)
		}
	})
}

// FuzzCOBS checks the COBS round trip and that decoding arbitrary bytes
// never panics.
func FuzzCOBS(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 0, 1})
	f.Add(bytes.Repeat([]byte{7}, 300))
	f.Fuzz(func(t *testing.T, b []byte) {
		enc := AppendCOBS(nil, b)
		if bytes.IndexByte(enc, 0) >= 0 {
			t.Fatalf("COBS output holds a zero byte")
		}
		dec, err := AppendUnCOBS(nil, enc)
		if err != nil || !bytes.Equal(dec, b) {
			t.Fatalf("round trip: %x, %v", dec, err)
		}
		_, _ = AppendUnCOBS(nil, b)
	})
}

// FuzzLinkFeed feeds arbitrary bytes, then a good frame, to a link: no
// panic, garbage never makes the peer alive, and the good frame that
// follows a delimiter is always accepted.
func FuzzLinkFeed(f *testing.F) {
	w := seedWire(f)
	f.Add(w)
	f.Add(append(bytes.Clone(w[:50]), w...))
	f.Add([]byte{0x00, 0xff, 0x00, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := NewLink(LinkConfig{Cluster: 7, Node: 1, Key: testKey, Incarnation: 1}, testEpoch)
		if err != nil {
			t.Fatal(err)
		}
		l.Tick(testEpoch) // the first heartbeat, sent at start
		l.Feed(testEpoch, b)
		// Arbitrary bytes may hold a valid frame only if they contain the
		// seed (authenticated) frame; anything else must leave the link in
		// initdead.
		if l.State() != StateInitDead && !bytes.Contains(b, w[1:len(w)-1]) {
			t.Fatalf("garbage made the link %s: %+v", l.State(), l.Counters())
		}
		good := sampleFrame()
		good.Seq = 1 << 40 // ahead of anything in the seed
		good.Incarnation = 1<<63 + 1
		// A live peer echoes the link's latest frame: its proof of freshness.
		good.EchoSeq, good.EchoTimestamp = l.seq, l.sent[l.seq%replayWindow].ts
		gw, _ := EncodeFrame(&good, testKey)
		before := l.Counters().Received
		l.Feed(testEpoch.Add(time.Millisecond), gw)
		// The good frame's leading delimiter also ends whatever the garbage
		// left unterminated, which may itself be a valid frame: at least
		// one more frame is received, and the link is alive.
		if l.Counters().Received < before+1 || l.State() != StateAlive {
			t.Fatalf("good frame after garbage not accepted: state %s, %+v", l.State(), l.Counters())
		}
	})
}
