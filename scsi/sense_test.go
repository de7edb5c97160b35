package scsi

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.NewReplacer(" ", "", "\n", "", "\t", "").Replace(s))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func TestParseSense(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Sense
		text string
	}{
		{"fixed reservations preempted", "70 00 06 00 00 00 00 0a 00 00 00 00 2a 03 00 00 00 00",
			Sense{Key: SenseUnitAttention, ASC: 0x2a, ASCQ: 0x03}, "UNIT ATTENTION 2a/03: reservations preempted"},
		{"fixed power on", "70 00 06 00 00 00 00 0a 00 00 00 00 29 00 00 00 00 00",
			Sense{Key: SenseUnitAttention, ASC: 0x29}, "UNIT ATTENTION 29/00: power on, reset, or bus device reset occurred"},
		{"fixed invalid field in cdb with sks", "70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 c0 00 02",
			Sense{Key: SenseIllegalRequest, ASC: 0x24, SenseKeySpecific: []byte{0x40, 0x00, 0x02}}, "ILLEGAL REQUEST 24/00: invalid field in cdb"},
		{"fixed with info", "f0 00 03 00 00 12 34 0a 00 00 00 00 11 00 00 00 00 00",
			Sense{Key: SenseMediumError, ASC: 0x11, Info: 0x1234, InfoValid: true}, "MEDIUM ERROR 11/00: unrecovered read error"},
		{"fixed deferred", "71 00 02 00 00 00 00 0a 00 00 00 00 04 01 00 00 00 00",
			Sense{Deferred: true, Key: SenseNotReady, ASC: 0x04, ASCQ: 0x01}, "NOT READY 04/01: logical unit is in process of becoming ready"},
		{"fixed short (no asc)", "70 00 06", Sense{Key: SenseUnitAttention}, "UNIT ATTENTION 00/00: no additional sense information"},
		{"fixed length cut", "70 00 06 00 00 00 00 04 00 00 00 00 2a 05", Sense{Key: SenseUnitAttention}, "UNIT ATTENTION 00/00: no additional sense information"},
		{"descriptor registrations preempted", "72 06 2a 05 00 00 00 00",
			Sense{Format: SenseFormatDescriptor, Key: SenseUnitAttention, ASC: 0x2a, ASCQ: 0x05}, "UNIT ATTENTION 2a/05: registrations preempted"},
		{"descriptor with info and sks", "72 05 20 00 00 00 00 14 00 0a 80 00 00 00 00 00 00 00 00 07 02 06 00 00 c0 00 01 00",
			Sense{Format: SenseFormatDescriptor, Key: SenseIllegalRequest, ASC: 0x20, Info: 7, InfoValid: true, SenseKeySpecific: []byte{0x40, 0, 1}}, "ILLEGAL REQUEST 20/00: invalid command operation code"},
		{"descriptor not ready unknown ascq", "73 02 04 7f", Sense{Format: SenseFormatDescriptor, Deferred: true, Key: SenseNotReady, ASC: 0x04, ASCQ: 0x7f}, "NOT READY 04/7f: logical unit not ready (ascq 0x7f)"},
		{"failure prediction", "70 00 0b 00 00 00 00 0a 00 00 00 00 5d 10 00 00 00 00", Sense{Key: SenseAbortedCommand, ASC: 0x5d, ASCQ: 0x10}, "ABORTED COMMAND 5d/10: hardware impending failure general hard drive failure"},
		{"unknown asc", "70 00 0b 00 00 00 00 0a 00 00 00 00 5d 7f 00 00 00 00", Sense{Key: SenseAbortedCommand, ASC: 0x5d, ASCQ: 0x7f}, "ABORTED COMMAND 5d/7f: asc 0x5d, ascq 0x7f"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSense(unhex(t, tc.in))
			if err != nil {
				t.Fatalf("ParseSense: %v", err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("ParseSense (-want +got):\n%s", d)
			}
			if got.String() != tc.text {
				t.Errorf("String() = %q, want %q", got.String(), tc.text)
			}
		})
	}
}

func TestParseSenseErrors(t *testing.T) {
	for _, in := range []string{"", "00", "7f 00 06", "70 00", "72 06 2a"} {
		if _, err := ParseSense(unhex(t, in)); !errors.Is(err, ErrBadSense) {
			t.Errorf("ParseSense(%q) = %v, want ErrBadSense", in, err)
		}
	}
}

func TestCheckStatusSentinels(t *testing.T) {
	ua := Sense{Key: SenseUnitAttention, ASC: 0x2a, ASCQ: 0x03}.MarshalFixed()
	tests := []struct {
		name string
		resp *Response
		is   []error
		not  []error
	}{
		{"conflict", &Response{Status: StatusReservationConflict}, []error{ErrReservationConflict}, []error{ErrUnitAttention, ErrCheckCondition}},
		{"unit attention", &Response{Status: StatusCheckCondition, Sense: ua}, []error{ErrUnitAttention, ErrCheckCondition}, []error{ErrReservationConflict, ErrNotReady}},
		{"not ready", &Response{Status: StatusCheckCondition, Sense: Sense{Key: SenseNotReady, ASC: 4, ASCQ: 3}.MarshalDescriptor()}, []error{ErrNotReady}, []error{ErrIllegalRequest}},
		{"illegal request", &Response{Status: StatusCheckCondition, Sense: Sense{Key: SenseIllegalRequest, ASC: 0x24}.MarshalFixed()}, []error{ErrIllegalRequest}, []error{ErrNotReady}},
		{"busy", &Response{Status: StatusBusy}, []error{ErrBusy}, []error{ErrCheckCondition}},
		{"task set full", &Response{Status: StatusTaskSetFull}, []error{ErrBusy}, nil},
		{"check condition without sense", &Response{Status: StatusCheckCondition, Sense: []byte{1, 2}}, []error{ErrCheckCondition, ErrBadSense}, []error{ErrUnitAttention}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckStatus("TEST", tc.resp)
			wrapped := &OpError{Op: "TEST", Device: "/dev/sg9", Err: err}
			for _, target := range tc.is {
				if !errors.Is(wrapped, target) {
					t.Errorf("errors.Is(%v, %v) = false", wrapped, target)
				}
			}
			for _, target := range tc.not {
				if errors.Is(wrapped, target) {
					t.Errorf("errors.Is(%v, %v) = true", wrapped, target)
				}
			}
			var se *SenseError
			if !errors.As(wrapped, &se) || se.Status != tc.resp.Status {
				t.Errorf("errors.As: %v", se)
			}
		})
	}
	if err := CheckStatus("TEST", &Response{}); err != nil {
		t.Errorf("GOOD: %v", err)
	}
	if err := CheckStatus("TEST", nil); err == nil {
		t.Error("nil response: no error")
	}
	err := CheckStatus("PERSISTENT RESERVE OUT (PREEMPT AND ABORT)", &Response{Status: StatusCheckCondition, Sense: Sense{Key: SenseIllegalRequest, ASC: 0x24}.MarshalFixed()})
	const want = "PERSISTENT RESERVE OUT (PREEMPT AND ABORT): CHECK CONDITION, ILLEGAL REQUEST 24/00: invalid field in cdb"
	if err.Error() != want {
		t.Errorf("Error() = %q, want %q", err, want)
	}
	if !IsUnsupported(err) {
		t.Errorf("IsUnsupported(%v) = false", err)
	}
	se, _ := AsSense(err)
	if se.Key() != SenseIllegalRequest || se.ASC() != 0x24 || se.ASCQ() != 0 {
		t.Errorf("Key/ASC/ASCQ = %v %x %x", se.Key(), se.ASC(), se.ASCQ())
	}
}

func TestSenseRoundTrip(t *testing.T) {
	for _, s := range []Sense{
		{Key: SenseUnitAttention, ASC: 0x2a, ASCQ: 0x04},
		{Key: SenseMediumError, ASC: 0x11, Info: 99, InfoValid: true, SenseKeySpecific: []byte{1, 2, 3}},
		{Deferred: true, Key: SenseNotReady, ASC: 4, ASCQ: 2},
	} {
		f, err := ParseSense(s.MarshalFixed())
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(s, f); d != "" {
			t.Errorf("fixed round trip (-want +got):\n%s", d)
		}
		s.Format = SenseFormatDescriptor
		g, err := ParseSense(s.MarshalDescriptor())
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(s, g); d != "" {
			t.Errorf("descriptor round trip (-want +got):\n%s", d)
		}
	}
}

func FuzzParseSense(f *testing.F) {
	f.Add(Sense{Key: SenseUnitAttention, ASC: 0x2a, ASCQ: 0x03}.MarshalFixed())
	f.Add(Sense{Key: SenseIllegalRequest, ASC: 0x24, SenseKeySpecific: []byte{0x40, 0, 2}, Info: 5, InfoValid: true}.MarshalDescriptor())
	f.Add([]byte{0x72, 0x05, 0x20, 0, 0, 0, 0, 0x0c, 0, 0x0a, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 7})
	f.Add([]byte{0x70, 0, 6})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSense(b)
		if err != nil {
			return
		}
		_ = s.String()
		// Round trip: re-encode in the device's format and decode again.
		enc := s.MarshalFixed()
		if s.Format == SenseFormatDescriptor {
			enc = s.MarshalDescriptor()
		}
		s2, err := ParseSense(enc)
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if s.Format == SenseFormatFixed {
			s.Info &= 0xffffffff
		}
		if d := cmp.Diff(s, s2); d != "" && s.InfoValid == s2.InfoValid {
			t.Errorf("round trip (-first +second):\n%s", d)
		}
	})
}
