package main

import (
	"strings"
	"testing"
)

func TestRecordCodec(t *testing.T) {
	b, sum, err := encode(7, []byte("hello"))
	if err != nil || len(b) != blockSize {
		t.Fatal(err)
	}
	p, sum2, err := decode(7, b)
	if err != nil || p != "hello" || sum2 != sum {
		t.Fatalf("decode: %q %s %v", p, sum2, err)
	}
	for name, mut := range map[string]func([]byte){
		"flipped payload": func(b []byte) { b[50] ^= 1 },
		"other record":    func(b []byte) { b[15] = 8 },
		"no magic":        func(b []byte) { b[0] = 0 },
		"length":          func(b []byte) { b[16], b[17] = 0xff, 0xff },
	} {
		c := append([]byte(nil), b...)
		mut(c)
		if _, _, err := decode(7, c); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
	if _, _, err := encode(1, []byte(strings.Repeat("x", maxPayload+1))); err == nil {
		t.Error("oversized payload encoded")
	}
	if _, _, err := decode(1, make([]byte, blockSize)); err == nil || !strings.Contains(err.Error(), "no record") {
		t.Errorf("zero block: %v", err)
	}
}
