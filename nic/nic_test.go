package nic

import (
	"bytes"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDiff(t *testing.T) {
	up := Link{Index: 2, Name: "eth1", Kind: "veth", AdminUp: true, Carrier: CarrierUp, OperState: OperUp, MTU: 1500, MAC: "02:00:00:00:00:01"}
	down := up
	down.Carrier, down.OperState = CarrierDown, OperLowerLayerDown
	adminDown := up
	adminDown.AdminUp, adminDown.Carrier, adminDown.OperState = false, CarrierUnknown, OperDown
	renamed := up
	renamed.Name, renamed.MTU, renamed.MasterIndex = "hb0", 9000, 7
	lo := Link{Index: 1, Name: "lo", Kind: "device", AdminUp: true, Carrier: CarrierUp, OperState: OperUnknown, MTU: 65536}
	tests := []struct {
		name     string
		old, new Snapshot
		want     []Change
	}{
		{name: "both empty"},
		{name: "same", old: Snapshot{1: lo, 2: up}, new: Snapshot{1: lo, 2: up}},
		{name: "added", old: Snapshot{1: lo}, new: Snapshot{1: lo, 2: up},
			want: []Change{{Kind: Added, New: up}}},
		{name: "removed", old: Snapshot{1: lo, 2: up}, new: Snapshot{1: lo},
			want: []Change{{Kind: Removed, Old: up}}},
		{name: "carrier lost", old: Snapshot{2: up}, new: Snapshot{2: down},
			want: []Change{{Kind: Changed, Old: up, New: down, Fields: []string{"carrier", "operstate"}}}},
		{name: "admin down", old: Snapshot{2: up}, new: Snapshot{2: adminDown},
			want: []Change{{Kind: Changed, Old: up, New: adminDown, Fields: []string{"admin", "carrier", "operstate"}}}},
		{name: "renamed and enslaved", old: Snapshot{2: up}, new: Snapshot{2: renamed},
			want: []Change{{Kind: Changed, Old: up, New: renamed, Fields: []string{"name", "mtu", "master"}}}},
		{name: "ordered by index", old: Snapshot{2: up}, new: Snapshot{1: lo, 3: down},
			want: []Change{{Kind: Added, New: lo}, {Kind: Removed, Old: up}, {Kind: Added, New: down}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Diff(tt.old, tt.new)); diff != "" {
				t.Errorf("Diff (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSnapshotFilter(t *testing.T) {
	s := Snapshot{1: {Index: 1, Name: "lo"}, 2: {Index: 2, Name: "eth1"}}
	if diff := cmp.Diff(Snapshot{2: {Index: 2, Name: "eth1"}}, s.Filter([]string{"eth1", "gone"})); diff != "" {
		t.Errorf("Filter (-want +got):\n%s", diff)
	}
	all := s.Filter(nil)
	delete(all, 1)
	if len(s) != 2 {
		t.Error("Filter(nil) returned the snapshot itself, not a copy")
	}
}

func TestValidateName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"eth0", true},
		{"123456789012345", true},
		{"1234567890123456", false},
		{"", false},
		{".", false},
		{"..", false},
		{"a/b", false},
		{"eth0:1", false},
		{"eth 0", false},
		{"a\x00", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateName(tt.name)
			if tt.ok != (err == nil) {
				t.Fatalf("ValidateName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidName) {
				t.Errorf("error %v does not wrap ErrInvalidName", err)
			}
		})
	}
}

func TestNetNSPath(t *testing.T) {
	for in, want := range map[string]string{"": "", "hb": "/run/netns/hb", "/proc/1/ns/net": "/proc/1/ns/net", "./x": "./x"} {
		if got := NetNSPath(in); got != want {
			t.Errorf("NetNSPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOpError(t *testing.T) {
	err := error(&OpError{Op: "status", Interface: "eth9", NetNS: "/run/netns/b", Err: ErrNoSuchInterface})
	if got, want := err.Error(), "nic: status eth9 (netns /run/netns/b): no such interface"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	var op *OpError
	if !errors.As(err, &op) || !errors.Is(err, ErrNoSuchInterface) {
		t.Errorf("errors.As/Is failed on %v", err)
	}
}

func TestOperStateFromKernel(t *testing.T) {
	got := []OperState{}
	for v := range uint8(8) {
		got = append(got, OperStateFromKernel(v))
	}
	want := []OperState{OperUnknown, OperNotPresent, OperDown, OperLowerLayerDown, OperTesting, OperDormant, OperUp, OperUnknown}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestEchoCodec(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    Echo
		wantErr bool
	}{
		{name: "reply", in: mustReply(t, Echo{ID: 0x1234, Seq: 7, Data: []byte("hakit")}), want: Echo{ID: 0x1234, Seq: 7, Data: []byte("hakit")}},
		{name: "empty payload", in: mustReply(t, Echo{ID: 1, Seq: 65535}), want: Echo{ID: 1, Seq: 65535}},
		{name: "request is not a reply", in: mustRequest(t, Echo{ID: 1, Seq: 1}), wantErr: true},
		{name: "dest unreachable", in: []byte{3, 1, 0, 0, 0, 0, 0, 0}, wantErr: true},
		{name: "truncated", in: []byte{0, 0, 0}, wantErr: true},
		{name: "nil", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEchoReply(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrNotEchoReply) {
					t.Fatalf("ParseEchoReply = %+v, %v; want ErrNotEchoReply", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func mustReply(t testing.TB, e Echo) []byte {
	b, err := MarshalEchoReply(e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustRequest(t testing.TB, e Echo) []byte {
	b, err := MarshalEchoRequest(e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzParseEchoReply: no panic, and decode -> encode -> decode gives the same
// echo.
func FuzzParseEchoReply(f *testing.F) {
	f.Add(mustReply(f, Echo{ID: 0x1234, Seq: 7, Data: []byte("hakit-nonce")}))
	f.Add(mustRequest(f, Echo{ID: 1, Seq: 1}))
	f.Add([]byte{3, 1, 0, 0, 0, 0, 0, 0, 0x45, 0, 0, 0x1c})
	f.Add([]byte{0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseEchoReply(b)
		if err != nil {
			if !errors.Is(err, ErrNotEchoReply) {
				t.Fatalf("error %v does not wrap ErrNotEchoReply", err)
			}
			return
		}
		enc, err := MarshalEchoReply(e)
		if err != nil {
			t.Fatalf("re-encode %+v: %v", e, err)
		}
		e2, err := ParseEchoReply(enc)
		if err != nil {
			t.Fatalf("decode of re-encoded %x: %v", enc, err)
		}
		if e.ID != e2.ID || e.Seq != e2.Seq || !bytes.Equal(e.Data, e2.Data) {
			t.Fatalf("round trip: %+v != %+v", e, e2)
		}
		if !strings.HasPrefix(string(enc), string([]byte{0, 0})) {
			t.Fatalf("re-encoded type/code = %x, want 0 0", enc[:2])
		}
	})
}

func TestValidatePeer(t *testing.T) {
	tests := []struct {
		in   netip.Addr
		want netip.Addr
		ok   bool
	}{
		{netip.MustParseAddr("169.254.1.2"), netip.MustParseAddr("169.254.1.2"), true},
		{netip.MustParseAddr("::ffff:10.0.0.1"), netip.MustParseAddr("10.0.0.1"), true},
		{netip.Addr{}, netip.Addr{}, false},
		{netip.MustParseAddr("0.0.0.0"), netip.Addr{}, false},
		{netip.MustParseAddr("255.255.255.255"), netip.Addr{}, false},
		{netip.MustParseAddr("239.1.1.1"), netip.Addr{}, false},
		{netip.MustParseAddr("fe80::1"), netip.Addr{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.in.String(), func(t *testing.T) {
			got, err := validatePeer(tt.in)
			if tt.ok != (err == nil) || (err != nil && !errors.Is(err, ErrInvalidAddress)) {
				t.Fatalf("validatePeer(%v) = %v, %v", tt.in, got, err)
			}
			if tt.ok && got != tt.want {
				t.Errorf("validatePeer(%v) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseSpeedDuplex(t *testing.T) {
	speeds := map[string]*int{"1000": ptr(1000), "25000Mb/s": ptr(25000), " 10\n": ptr(10), "-1": nil, "0": nil, "Unknown!": nil, "": nil, "4294967295": nil}
	for in, want := range speeds {
		if diff := cmp.Diff(want, parseSpeed(in)); diff != "" {
			t.Errorf("parseSpeed(%q) (-want +got):\n%s", in, diff)
		}
	}
	duplexes := map[string]Duplex{"full": DuplexFull, "Full": DuplexFull, "half\n": DuplexHalf, "unknown": DuplexUnknown, "": DuplexUnknown, "Unknown! (255)": DuplexUnknown}
	for in, want := range duplexes {
		if got := parseDuplex(in); got != want {
			t.Errorf("parseDuplex(%q) = %s, want %s", in, got, want)
		}
	}
}

func ptr[T any](v T) *T { return &v }
