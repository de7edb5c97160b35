package serialhb

import (
	"testing"
)

func BenchmarkEncode(b *testing.B) {
	f := sampleFrame()
	buf := make([]byte, 0, WireLen)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		buf, err = AppendFrame(buf[:0], &f, testKey)
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	f := sampleFrame()
	wire, err := EncodeFrame(&f, testKey)
	if err != nil {
		b.Fatal(err)
	}
	cluster := f.Cluster
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeFrame(wire, testKey, &cluster); err != nil {
			b.Fatal(err)
		}
	}
}
