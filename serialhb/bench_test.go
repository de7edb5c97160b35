package serialhb

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// BenchmarkEncode measures one frame to wire bytes with a Codec (the
// runner's path: HMAC state reused).
func BenchmarkEncode(b *testing.B) {
	f := sampleFrame()
	c, err := NewCodec(testKey, f.Cluster)
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, WireLen)
	b.ReportAllocs()
	for b.Loop() {
		if buf, err = c.AppendFrame(buf[:0], &f); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecode measures wire bytes to a verified frame with a Codec.
func BenchmarkDecode(b *testing.B) {
	f := sampleFrame()
	c, err := NewCodec(testKey, f.Cluster)
	if err != nil {
		b.Fatal(err)
	}
	wire, err := c.AppendFrame(nil, &f)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Decode(wire); err != nil {
			b.Fatal(err)
		}
	}
}

func TestCodec(t *testing.T) {
	f := sampleFrame()
	c, err := NewCodec(testKey, 7)
	if err != nil {
		t.Fatal(err)
	}
	w, err := c.AppendFrame(nil, &f)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := EncodeFrame(&f, testKey)
	if d := cmp.Diff(ref, w); d != "" {
		t.Errorf("Codec and EncodeFrame differ:\n%s", d)
	}
	got, err := c.Decode(w)
	if err != nil || got != f {
		t.Errorf("Decode: %+v, %v", got, err)
	}
	other, _ := NewCodec(testKey, 8)
	if _, err := other.Decode(w); err == nil {
		t.Errorf("codec of cluster 8 accepted a cluster 7 frame")
	}
	if _, err := NewCodec(testKey[:3], 7); err == nil {
		t.Errorf("short key accepted")
	}
	if _, err := c.AppendFrame(nil, &Frame{Type: 0}); err == nil {
		t.Errorf("type 0 encoded")
	}
}
