package serialhb

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func sampleFrame() Frame {
	return Frame{
		Type: TypeHeartbeat, Flags: FlagAckRequest, State: NodeState{Role: RoleActive, Resources: 0x5},
		Cluster: 7, Node: 2, Incarnation: 1767322800000000000, Seq: 42, Timestamp: 1767322801000000000,
		EchoSeq: 41, EchoTimestamp: 1767322800990000000, EchoDelayUS: 1234,
	}
}

// TestGoldenFrame pins the wire format: testdata/frame_v1.hex is the wire
// encoding of sampleFrame (regenerate with -update after a deliberate change
// of PROTOCOL.md).
func TestGoldenFrame(t *testing.T) {
	f := sampleFrame()
	wire, err := EncodeFrame(&f, testKey)
	if err != nil {
		t.Fatal(err)
	}
	if len(wire) != WireLen {
		t.Errorf("wire length %d, WireLen %d", len(wire), WireLen)
	}
	got := hex.EncodeToString(wire) + "\n"
	if *update {
		if err := os.WriteFile("testdata/frame_v1.hex", []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("testdata/frame_v1.hex")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(string(want), got); d != "" {
		t.Errorf("wire format changed (-want +got):\n%s", d)
	}
	back, err := DecodeFrame(wire, testKey, &f.Cluster)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(f, back); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
}

func TestDecodeErrors(t *testing.T) {
	f := sampleFrame()
	body, err := AppendBody(nil, &f, testKey)
	if err != nil {
		t.Fatal(err)
	}
	cluster := uint32(7)
	other := uint32(8)
	mut := func(fn func(b []byte) []byte) []byte { return fn(bytes.Clone(body)) }
	// withCRC recomputes the CRC so that a later check is reached.
	withCRC := func(b []byte) []byte {
		c := crcOf(b[:BodyLen-CRCLen])
		b[BodyLen-4], b[BodyLen-3], b[BodyLen-2], b[BodyLen-1] = byte(c>>24), byte(c>>16), byte(c>>8), byte(c)
		return b
	}
	for _, tc := range []struct {
		name    string
		body    []byte
		key     []byte
		cluster *uint32
		want    error
	}{
		{"ok", body, testKey, &cluster, nil},
		{"ok any cluster", body, testKey, nil, nil},
		{"empty", nil, testKey, nil, ErrMalformed},
		{"short", body[:BodyLen-1], testKey, nil, ErrMalformed},
		{"long", append(bytes.Clone(body), 0), testKey, nil, ErrMalformed},
		{"bit flip", mut(func(b []byte) []byte { b[30] ^= 1; return b }), testKey, nil, ErrCRC},
		{"crc flip", mut(func(b []byte) []byte { b[BodyLen-1] ^= 1; return b }), testKey, nil, ErrCRC},
		{"version", mut(func(b []byte) []byte { b[0] = 2; return withCRC(b) }), testKey, nil, ErrVersion},
		{"type 0", mut(func(b []byte) []byte { b[1] = 0; return withCRC(b) }), testKey, nil, ErrMalformed},
		{"type 5", mut(func(b []byte) []byte { b[1] = 5; return withCRC(b) }), testKey, nil, ErrMalformed},
		{"flags", mut(func(b []byte) []byte { b[2] = 0x80; return withCRC(b) }), testKey, nil, ErrMalformed},
		{"reserved", mut(func(b []byte) []byte { b[10] = 1; return withCRC(b) }), testKey, nil, ErrMalformed},
		{"foreign cluster", body, testKey, &other, ErrForeignCluster},
		{"wrong key", body, wrongKey, &cluster, ErrAuth},
		{"forged header", mut(func(b []byte) []byte { b[27] ^= 1; return withCRC(b) }), testKey, nil, ErrAuth},
		{"short key", body, testKey[:MinKeyLen-1], nil, ErrShortKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseBody(tc.body, tc.key, tc.cluster)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("ParseBody: error %v, want %v", err, tc.want)
			}
			if err == nil {
				if d := cmp.Diff(f, got); d != "" {
					t.Errorf("(-want +got):\n%s", d)
				}
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    Frame
		key  []byte
		want string
	}{
		{"short key", Frame{Type: TypeHeartbeat}, testKey[:8], "too short"},
		{"type", Frame{Type: 9}, testKey, "invalid message type"},
		{"flags", Frame{Type: TypeAck, Flags: 0x40}, testKey, "unknown flags"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := EncodeFrame(&tc.f, tc.key); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestCOBS(t *testing.T) {
	long := bytes.Repeat([]byte{0x11}, 600)
	for _, tc := range []struct {
		name string
		in   []byte
		want []byte
	}{
		{"empty", nil, []byte{1}},
		{"zero", []byte{0}, []byte{1, 1}},
		{"two zeros", []byte{0, 0}, []byte{1, 1, 1}},
		{"mixed", []byte{0x11, 0x22, 0x00, 0x33}, []byte{3, 0x11, 0x22, 2, 0x33}},
		{"254 bytes", bytes.Repeat([]byte{1}, 254), append(append([]byte{0xff}, bytes.Repeat([]byte{1}, 254)...), 1)},
		{"long", long, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			enc := AppendCOBS(nil, tc.in)
			if tc.want != nil {
				if d := cmp.Diff(tc.want, enc); d != "" {
					t.Errorf("encode (-want +got):\n%s", d)
				}
			}
			if bytes.IndexByte(enc, 0) >= 0 {
				t.Errorf("encoding holds a zero byte")
			}
			dec, err := AppendUnCOBS(nil, enc)
			if err != nil || !bytes.Equal(dec, tc.in) {
				t.Errorf("decode = %x, %v; want %x", dec, err, tc.in)
			}
		})
	}
	for _, bad := range [][]byte{{0}, {3, 1}, {2, 0}, {0xff, 1, 2}} {
		if _, err := AppendUnCOBS(nil, bad); !errors.Is(err, ErrCOBS) {
			t.Errorf("AppendUnCOBS(%x): %v, want ErrCOBS", bad, err)
		}
	}
}

// TestFramerResync feeds good frames separated by noise, in random chunk
// sizes, and checks that every good frame comes out intact.
func TestFramerResync(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var stream []byte
	var want []uint64
	for i := range 50 {
		f := sampleFrame()
		f.Seq = uint64(i + 1)
		w, err := EncodeFrame(&f, testKey)
		if err != nil {
			t.Fatal(err)
		}
		stream = append(stream, w...)
		want = append(want, f.Seq)
		noise := make([]byte, rng.IntN(300))
		for j := range noise {
			noise[j] = byte(rng.UintN(256))
		}
		stream = append(stream, noise...)
	}
	var fr Framer
	var got []uint64
	for len(stream) > 0 {
		n := min(len(stream), 1+rng.IntN(100))
		fr.Feed(stream[:n], func(block []byte) {
			if f, err := DecodeFrame(block, testKey, nil); err == nil {
				got = append(got, f.Seq)
			}
		})
		stream = stream[n:]
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("frames through noise (-want +got):\n%s", d)
	}
	// A long run without delimiters is dropped, and the next frame is found.
	fr = Framer{}
	fr.Feed(bytes.Repeat([]byte{0x55}, 10*WireLen), func([]byte) { t.Error("block from a run without delimiters") })
	if fr.Pending() != 0 {
		t.Errorf("Pending %d after overflow, want 0", fr.Pending())
	}
	f := sampleFrame()
	w, _ := EncodeFrame(&f, testKey)
	n := 0
	fr.Feed(w, func([]byte) { n++ })
	if n != 1 || fr.Discarded != 1 {
		t.Errorf("after overflow: %d blocks, %d discarded; want 1 and 1 (the leading delimiter ends the junk)", n, fr.Discarded)
	}
}
