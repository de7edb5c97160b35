package scsi

import "testing"

// ASCText reads T10's list (asc-num.txt): exact pairs, its ranges ("40h/NNh"
// for 80h-FFh, "4Dh/NNh" for every ASCQ), vendor specific codes and the
// raw-code fallbacks.
func TestASCText(t *testing.T) {
	tests := []struct {
		asc, ascq byte
		want      string
	}{
		{0x00, 0x00, "no additional sense information"},
		{0x2a, 0x03, "reservations preempted"},
		{0x29, 0x07, "i_t nexus loss occurred"},
		{0x04, 0x22, "logical unit not ready, power cycle required"},
		{0x5d, 0xff, "failure prediction threshold exceeded (false)"}, // named, though its ASCQ is in the vendor range
		{0x40, 0x00, "ram failure (should use 40 nn)"},
		{0x40, 0x85, "diagnostic failure on component 0x85"},
		{0x40, 0xff, "diagnostic failure on component 0xff"},
		{0x40, 0x7f, "asc 0x40, ascq 0x7f"}, // below the range the list gives
		{0x4d, 0x00, "tagged overlapped commands (0x00 = task tag)"},
		{0x4d, 0xa7, "tagged overlapped commands (0xa7 = task tag)"},
		{0x70, 0x12, "decompression exception short algorithm id of 0x12"},
		{0x20, 0x05, "asc 0x20, ascq 0x05"}, // obsolete
		{0x0f, 0x00, "asc 0x0f, ascq 0x00"}, // reserved
		{0x80, 0x00, "vendor specific asc 0x80, ascq 0x00"},
		{0xff, 0x12, "vendor specific asc 0xff, ascq 0x12"},
		{0x29, 0x85, "asc 0x29, vendor specific ascq 0x85"},
		{0x04, 0x7f, "logical unit not ready (ascq 0x7f)"},
		{0x5d, 0x7f, "asc 0x5d, ascq 0x7f"},
	}
	for _, tc := range tests {
		if got := ASCText(tc.asc, tc.ascq); got != tc.want {
			t.Errorf("ASCText(%#02x, %#02x) = %q, want %q", tc.asc, tc.ascq, got, tc.want)
		}
	}
}

// No pair gives an empty text.
func TestASCTextTotal(t *testing.T) {
	for asc := range 256 {
		for ascq := range 256 {
			if ASCText(byte(asc), byte(ascq)) == "" {
				t.Fatalf("ASCText(%#02x, %#02x) is empty", asc, ascq)
			}
		}
	}
}
