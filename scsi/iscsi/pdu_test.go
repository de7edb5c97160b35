package iscsi

import (
	"bytes"
	"encoding/hex"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// RFC 7143 appendix B.4 gives the CRC32C of four 32-byte patterns and of an
// iSCSI read command, as sent on the wire.
func TestCRC32CRFCExamples(t *testing.T) {
	inc, dec := make([]byte, 32), make([]byte, 32)
	for i := range inc {
		inc[i], dec[i] = byte(i), byte(31-i)
	}
	read := mustHex(t, "01c00000 00000000 00000000 00000000 14000000 00000400 00000014 00000018 28000000 00000000 02000000 00000000")
	for _, tc := range []struct {
		name string
		in   []byte
		wire string
	}{
		{"zeros", make([]byte, 32), "aa36918a"},
		{"ones", bytes.Repeat([]byte{0xff}, 32), "43aba862"},
		{"incrementing", inc, "4e79dd46"},
		{"decrementing", dec, "5cdb3f11"},
		{"read command", read, "563a96d9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := crc32c(tc.in)
			got := hex.EncodeToString([]byte{byte(c), byte(c >> 8), byte(c >> 16), byte(c >> 24)})
			if got != tc.wire {
				t.Errorf("crc32c = %s on the wire, RFC 7143 says %s", got, tc.wire)
			}
		})
	}
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sampleMessages is one message of every opcode, with every field set.
func sampleMessages() map[string]message {
	isid := [6]byte{0x80, 1, 2, 3, 4, 5}
	return map[string]message{
		"login-req":   &loginReq{Transit: true, CSG: 1, NSG: 3, ISID: isid, TSIH: 0x1234, ITT: 7, CID: 1, CmdSN: 10, ExpStatSN: 20, Data: []byte("HeaderDigest=None\x00")},
		"login-resp":  &loginResp{Continue: true, CSG: 1, NSG: 3, VersionMax: 0, ISID: isid, TSIH: 0x100, ITT: 7, StatSN: 5, ExpCmdSN: 10, MaxCmdSN: 41, StatusClass: 2, StatusDetail: 2, Data: []byte("a=b\x00")},
		"text-req":    &textReq{Immediate: true, Final: true, LUN: lunField(1), ITT: 8, TTT: reservedTag, CmdSN: 11, ExpStatSN: 21, Data: []byte("SendTargets=All\x00")},
		"text-resp":   &textResp{Final: true, LUN: lunField(1), ITT: 8, TTT: reservedTag, StatSN: 21, ExpCmdSN: 12, MaxCmdSN: 43, Data: []byte("TargetName=iqn.x\x00")},
		"scsi-cmd":    &scsiCmd{Final: true, Write: true, Attr: attrSimple, LUN: lunField(1), ITT: 9, ExpectedLen: 4096, CmdSN: 12, ExpStatSN: 22, CDB: append([]byte{0x2a, 0, 0, 0, 0, 16, 0, 0, 8, 0}, make([]byte, 6)...), Data: []byte{1, 2, 3, 4, 5}},
		"scsi-cmd-32": &scsiCmd{Final: true, Read: true, Attr: attrSimple, LUN: lunField(300), ITT: 10, ExpectedLen: 512, CmdSN: 13, ExpStatSN: 22, CDB: bytes.Repeat([]byte{0x7f, 1}, 16)},
		"scsi-resp":   &scsiResp{Underflow: true, Response: 0, Status: 2, ITT: 9, StatSN: 22, ExpCmdSN: 13, MaxCmdSN: 44, ExpDataSN: 1, Residual: 100, Data: []byte{0, 4, 0x70, 0, 5, 0}},
		"data-out":    &dataOut{Final: true, LUN: lunField(1), ITT: 9, TTT: 0x55, ExpStatSN: 22, DataSN: 3, Offset: 8192, Data: []byte("xyz")},
		"data-in":     &dataIn{Final: true, HasStatus: true, Underflow: true, Status: 0, LUN: lunField(1), ITT: 10, TTT: reservedTag, StatSN: 23, ExpCmdSN: 14, MaxCmdSN: 45, DataSN: 2, Offset: 1024, Residual: 12, Data: []byte("abcdefg")},
		"r2t":         &r2t{LUN: lunField(1), ITT: 9, TTT: 0x55, StatSN: 22, ExpCmdSN: 13, MaxCmdSN: 44, R2TSN: 1, Offset: 65536, Length: 262144},
		"nop-out":     &nopOut{Immediate: true, LUN: lunField(1), ITT: reservedTag, TTT: 0x77, CmdSN: 14, ExpStatSN: 24, Data: []byte("ping")},
		"nop-in":      &nopIn{LUN: lunField(1), ITT: reservedTag, TTT: 0x77, StatSN: 24, ExpCmdSN: 14, MaxCmdSN: 45, Data: []byte("ping")},
		"tmf-req":     &tmReq{Immediate: true, Function: TMFAbortTask, LUN: lunField(1), ITT: 11, RefTaskTag: 9, CmdSN: 14, ExpStatSN: 24, RefCmdSN: 12, ExpDataS: 0},
		"tmf-resp":    &tmResp{Response: 5, ITT: 11, StatSN: 24, ExpCmdSN: 14, MaxCmdSN: 45},
		"logout-req":  &logoutReq{Immediate: true, Reason: logoutCloseSession, ITT: 12, CID: 0, CmdSN: 14, ExpStatSN: 25},
		"logout-resp": &logoutResp{Response: 0, ITT: 12, StatSN: 25, ExpCmdSN: 15, MaxCmdSN: 46, Time2Wait: 2, Time2Retain: 20},
		"reject":      &reject{Reason: 0x09, StatSN: 26, ExpCmdSN: 15, MaxCmdSN: 46, DataSN: 0, Data: make([]byte, 48)},
		"async":       &asyncMsg{LUN: lunField(1), StatSN: 26, ExpCmdSN: 15, MaxCmdSN: 46, Event: asyncLogoutRequest, Param3: 5, Data: []byte{0, 0}},
	}
}

// TestMessageGolden encodes every sample message with and without digests,
// compares the bytes with testdata/pdu/<name>.hex, and decodes them back.
func TestMessageGolden(t *testing.T) {
	for name, m := range sampleMessages() {
		t.Run(name, func(t *testing.T) {
			var golden strings.Builder
			for _, d := range []digests{{}, {Header: true, Data: true}} {
				p := m.marshal()
				b, err := appendPDU(nil, &p, d)
				if err != nil {
					t.Fatal(err)
				}
				if len(b) != p.encodedLen(d) || len(b)%4 != 0 {
					t.Errorf("%v: %d bytes, encodedLen %d", d, len(b), p.encodedLen(d))
				}
				golden.WriteString("# " + d.String() + "\n")
				for i := 0; i < len(b); i += 16 {
					golden.WriteString(hex.EncodeToString(b[i:min(i+16, len(b))]) + "\n")
				}
				raw, n, err := decodePDU(b, d, 0)
				if err != nil || n != len(b) {
					t.Fatalf("%v: decode: %v (%d of %d bytes)", d, err, n, len(b))
				}
				got, err := parseMessage(raw)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(m, got); diff != "" {
					t.Errorf("%v: round trip (-want +got):\n%s", d, diff)
				}
			}
			path := filepath.Join("testdata", "pdu", name+".hex")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(golden.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if diff := cmp.Diff(string(want), golden.String()); diff != "" {
				t.Errorf("encoding differs from %s (-want +got):\n%s", path, diff)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	good := func(d digests) []byte {
		p := (&scsiResp{Status: 2, ITT: 1, Data: []byte{0, 2, 0x70, 0}}).marshal()
		b, _ := appendPDU(nil, &p, d)
		return b
	}
	both := digests{Header: true, Data: true}
	flip := func(b []byte, i int) []byte { b = bytes.Clone(b); b[i] ^= 1; return b }
	withBHS := func(op opcode, f1 byte) []byte {
		var p rawPDU
		p.BHS[0], p.BHS[1] = byte(op), f1
		b, _ := appendPDU(nil, &p, digests{})
		return b
	}
	for _, tc := range []struct {
		name    string
		in      []byte
		d       digests
		maxData int
		want    string
		is      error
	}{
		{"empty", nil, digests{}, 0, "short basic header segment: 0 of 48", ErrProtocol},
		{"short header", make([]byte, 47), digests{}, 0, "short basic header segment", ErrProtocol},
		{"truncated body", good(digests{})[:50], digests{}, 0, "truncated PDU: 50 of 52 bytes", ErrProtocol},
		{"header digest", flip(good(both), 3), both, 0, "header digest", ErrDigest},
		{"data digest", flip(good(both), 53), both, 0, "data digest", ErrDigest},
		{"data too long", good(digests{}), digests{}, 2, "exceeds MaxRecvDataSegmentLength 2", ErrProtocol},
		{"unknown opcode", withBHS(0x1f, 0), digests{}, 0, "opcode 0x1f: unsupported opcode", ErrProtocol},
		{"login T and C", withBHS(opLoginResp, 0xc0), digests{}, 0, "both T and C bits set", ErrProtocol},
		{"data-in S without F", withBHS(opDataIn, 0x01), digests{}, 0, "S bit set without F bit", ErrProtocol},
		{"data-in O and U", withBHS(opDataIn, 0x86), digests{}, 0, "both overflow and underflow", ErrProtocol},
		{"response O and U", withBHS(opSCSIResp, 0x86), digests{}, 0, "both overflow and underflow", ErrProtocol},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, _, err := decodePDU(tc.in, tc.d, tc.maxData)
			if err == nil {
				_, err = parseMessage(raw)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, tc.is) {
				t.Errorf("error %v, want one containing %q matching %v", err, tc.want, tc.is)
			}
		})
	}
}

// checkBytes compares a decoder's result with want, or its error with
// wantErr when that is set.
func checkBytes(t *testing.T, got []byte, err error, want []byte, wantErr string) {
	t.Helper()
	if wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("error %v, want %q", err, wantErr)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Error(diff)
	}
}

func TestExtendedCDB(t *testing.T) {
	for _, tc := range []struct {
		name string
		ahs  []byte
		want []byte
		err  string
	}{
		{"none", nil, nil, ""},
		{"cdb 20", []byte{0, 5, 1, 0, 1, 2, 3, 4}, []byte{1, 2, 3, 4}, ""},
		{"other type skipped", []byte{0, 1, 2, 0, 0, 5, 1, 0, 9, 8, 7, 6}, []byte{9, 8, 7, 6}, ""},
		{"short", []byte{0, 5, 1}, nil, "too short"},
		{"overrun", []byte{0, 9, 1, 0, 1, 2, 3, 4}, nil, "exceeds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := extendedCDB(tc.ahs)
			checkBytes(t, got, err, tc.want, tc.err)
		})
	}
}

func TestSense(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		want []byte
		err  string
	}{
		{"none", nil, nil, ""},
		{"zero length", []byte{0, 0}, nil, ""},
		{"sense", []byte{0, 3, 0x70, 0, 6, 0xee}, []byte{0x70, 0, 6}, ""},
		{"one byte", []byte{0}, nil, "cannot hold SenseLength"},
		{"overrun", []byte{0, 9, 0x70}, nil, "SenseLength 9 exceeds the 1 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := (&scsiResp{Data: tc.data}).sense()
			checkBytes(t, got, err, tc.want, tc.err)
		})
	}
}

func TestLUNField(t *testing.T) {
	for lun, want := range map[int]uint64{0: 0, 1: 0x0001 << 48, 255: 0x00ff << 48, 256: 0x4100 << 48, 16383: 0x7fff << 48} {
		if got := lunField(lun); got != want {
			t.Errorf("lunField(%d) = %#x, want %#x", lun, got, want)
		}
	}
}

func TestText(t *testing.T) {
	t.Run("round trip", func(t *testing.T) {
		in := textKeys{{"InitiatorName", "iqn.2026-11.io.hakit:a"}, {"HeaderDigest", "CRC32C,None"}, {"X-com.example_key+1@v", ""}}
		b, err := encodeText(in)
		if err != nil {
			t.Fatal(err)
		}
		if want := "InitiatorName=iqn.2026-11.io.hakit:a\x00HeaderDigest=CRC32C,None\x00X-com.example_key+1@v=\x00"; string(b) != want {
			t.Errorf("encoded %q, want %q", b, want)
		}
		out, err := decodeText(b)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(in, out); diff != "" {
			t.Error(diff)
		}
		if v, ok := out.get("HeaderDigest"); !ok || v != "CRC32C,None" {
			t.Errorf("get = %q %v", v, ok)
		}
	})
	for _, tc := range []struct {
		name string
		in   string
		want textKeys
		err  string
	}{
		{"empty", "", nil, ""},
		{"no final NUL", "a=b", textKeys{{"a", "b"}}, ""},
		{"padding NULs", "a=b\x00\x00\x00", textKeys{{"a", "b"}}, ""},
		{"value with =", "a=b=c\x00", textKeys{{"a", "b=c"}}, ""},
		{"no =", "ab\x00", nil, "has no '='"},
		{"empty key", "=b\x00", nil, "invalid name"},
		{"bad key", "a b=c\x00", nil, "invalid name"},
		{"long key", strings.Repeat("k", 64) + "=v\x00", nil, "invalid name"},
		{"long value", "k=" + strings.Repeat("v", maxValueLen+1), nil, "exceeds 8192"},
		{"too many", strings.Repeat("k=v\x00", maxTextKeys+1), nil, "more than 256"},
		{"too long", strings.Repeat("k", maxTextLen+1), nil, "exceeds 65536"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeText([]byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrProtocol) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Error(diff)
			}
		})
	}
	for _, bad := range []textKeys{{{"", "v"}}, {{"a=b", "v"}}, {{"k", "a\x00b"}}, {{"k", strings.Repeat("v", maxValueLen+1)}}} {
		if _, err := encodeText(bad); err == nil {
			t.Errorf("encodeText(%q) succeeded", bad)
		}
	}
}

// FuzzPDU decodes arbitrary bytes as a PDU (the first byte picks the
// digests), and checks that whatever decodes survives a round trip through
// the typed message and the encoder.
func FuzzPDU(f *testing.F) {
	for _, m := range sampleMessages() {
		for _, d := range []digests{{}, {Header: true, Data: true}} {
			p := m.marshal()
			b, _ := appendPDU(nil, &p, d)
			sel := byte(0)
			if d.Header {
				sel = 3
			}
			f.Add(append([]byte{sel}, b...))
		}
	}
	// And every PDU of the session recorded against tgtd.
	for _, name := range []string{"sent", "received"} {
		stream, err := os.ReadFile(filepath.Join("testdata", "tgtd", name+".bin"))
		if err != nil {
			f.Fatal(err)
		}
		for len(stream) > 0 {
			_, n, err := decodePDU(stream, digests{}, 1<<20)
			if err != nil {
				f.Fatalf("testdata/tgtd/%s.bin: %v", name, err)
			}
			f.Add(append([]byte{0}, stream[:n]...))
			stream = stream[n:]
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		d := digests{Header: in[0]&1 != 0, Data: in[0]&2 != 0}
		raw, n, err := decodePDU(in[1:], d, 1<<20)
		if err != nil {
			return
		}
		if n > len(in)-1 {
			t.Fatalf("used %d of %d bytes", n, len(in)-1)
		}
		m, err := parseMessage(raw)
		if err != nil {
			return
		}
		p := m.marshal()
		b, err := appendPDU(nil, &p, d)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		raw2, n2, err := decodePDU(b, d, 1<<20)
		if err != nil || n2 != len(b) {
			t.Fatalf("decode of re-encoded PDU: %v (%d of %d bytes)", err, n2, len(b))
		}
		m2, err := parseMessage(raw2)
		if err != nil {
			t.Fatalf("parse of re-encoded PDU: %v", err)
		}
		if diff := cmp.Diff(m, m2); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
		if r, ok := m.(*scsiResp); ok {
			_, _ = r.sense()
		}
	})
}

// FuzzTextKeys decodes arbitrary text data and checks the encode/decode
// round trip.
func FuzzTextKeys(f *testing.F) {
	f.Add([]byte("InitiatorName=iqn.2026-11.io.hakit:a\x00AuthMethod=CHAP,None\x00"))
	f.Add([]byte("CHAP_A=5\x00CHAP_I=1\x00CHAP_C=0x0011\x00"))
	f.Add([]byte("a=b\x00\x00=c"))
	f.Fuzz(func(t *testing.T, in []byte) {
		keys, err := decodeText(in)
		if err != nil {
			return
		}
		b, err := encodeText(keys)
		if err != nil {
			t.Fatalf("encode of decoded keys: %v", err)
		}
		keys2, err := decodeText(b)
		if err != nil {
			t.Fatalf("decode of re-encoded keys: %v", err)
		}
		if diff := cmp.Diff(keys, keys2); diff != "" {
			t.Fatalf("round trip:\n%s", diff)
		}
	})
}
