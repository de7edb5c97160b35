package lab

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestRequestRoundTrip(t *testing.T) {
	tests := []Request{
		{ID: 1, Argv: []string{"hakit", "sg", "/dev/sg0", "tur"}},
		{ID: 2, Argv: []string{"cat", "/tmp/x y"}, TimeoutMS: 1500},
		{ID: 3, Argv: []string{"hakit", "hb", "run"}, Background: true, Log: "/tmp/hb.log"},
		{ID: 4, Argv: []string{"hakit", "fence_hwagent"}, Stdin: []byte("action=off\nplug=node-a\n")},
	}
	for _, req := range tests {
		t.Run(strings.Join(req.Argv, " "), func(t *testing.T) {
			b, err := EncodeRequest(req)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Count(string(b), "\n") != 1 || !strings.HasSuffix(string(b), "\n") {
				t.Fatalf("encoded %q is not one line", b)
			}
			got, err := DecodeRequest(b)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(req, got); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRequestInvalid(t *testing.T) {
	tests := []struct {
		name string
		line string
	}{
		{"empty", ``},
		{"no argv", `{"id":1}`},
		{"empty argv0", `{"id":1,"argv":[""]}`},
		{"negative timeout", `{"id":1,"argv":["x"],"timeout_ms":-1}`},
		{"background without log", `{"id":1,"argv":["x"],"background":true}`},
		{"background with stdin", `{"id":1,"argv":["x"],"background":true,"log":"/l","stdin":"eA=="}`},
		{"unknown field", `{"id":1,"argv":["x"],"shell":true}`},
		{"trailing", `{"id":1,"argv":["x"]} {}`},
		{"not json", `hello`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := DecodeRequest([]byte(tt.line)); !errors.Is(err, ErrProto) {
				t.Errorf("DecodeRequest(%q): err %v, want ErrProto", tt.line, err)
			}
		})
	}
	if _, err := EncodeRequest(Request{}); !errors.Is(err, ErrProto) {
		t.Errorf("EncodeRequest of an empty request: err %v", err)
	}
}

func TestResponseRoundTrip(t *testing.T) {
	tests := []Response{
		{ID: 1, Stdout: []byte("GOOD\n"), Code: 0},
		{ID: 2, Stdout: []byte{0, 0xff, '\n'}, Stderr: []byte("conflict"), Code: 24},
		{ID: 3, Code: -1, Err: "timed out after 1s"},
		{ID: 4, PID: 77},
	}
	for _, resp := range tests {
		b, err := EncodeResponse(resp)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeResponse(b)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(resp, got); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	}
}

func TestEncodeTooLong(t *testing.T) {
	_, err := EncodeResponse(Response{Stdout: make([]byte, maxLine)})
	if !errors.Is(err, ErrProto) {
		t.Errorf("oversized response: err %v, want ErrProto", err)
	}
}

func TestParseCmdline(t *testing.T) {
	got := ParseCmdline("console=ttyS0 quiet lab.name=a lab.ip=10.99.0.1/24 x==y\n")
	want := map[string]string{"console": "ttyS0", "quiet": "", "lab.name": "a", "lab.ip": "10.99.0.1/24", "x": "=y"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseCmdline (-want +got):\n%s", diff)
	}
}

func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{`{"id":1,"argv":["x"]}`, `{"id":3,"argv":["a"],"background":true,"log":"/l"}`, `{`, `{"argv":[]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRequest(b)
		if err != nil {
			return
		}
		enc, err := EncodeRequest(r)
		if err != nil {
			t.Fatalf("decoded request does not encode: %v", err)
		}
		r2, err := DecodeRequest(enc)
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if diff := cmp.Diff(r, r2, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}

func FuzzDecodeResponse(f *testing.F) {
	for _, s := range []string{`{"id":1,"code":0,"stdout":"R09PRAo="}`, `{"id":2,"code":-1,"err":"x"}`, `{}`, `x`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeResponse(b)
		if err != nil {
			return
		}
		enc, err := EncodeResponse(r)
		if err != nil {
			t.Fatalf("decoded response does not encode: %v", err)
		}
		r2, err := DecodeResponse(enc)
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if diff := cmp.Diff(r, r2, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}
