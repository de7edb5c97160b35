package scsi

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// SPC-4 7.6.4.6 (format 01, "initiator port") and tgtd's layout of the
// same port (usr/iscsi/iscsid.c iscsi_transportid).
func TestTransportIDLayouts(t *testing.T) {
	isid := [6]byte{0x23, 0xd0, 0, 0, 0, 0x01}
	tests := []struct {
		name   string
		layout TIDLayout
		want   string
	}{
		{"standard", TIDLayoutStandard, "45 00 00 1c 69 71 6e 2e 78 3a 61 2c 69 2c 30 78 32 33 64 30 30 30 30 30 30 30 30 31 00 00 00 00"},
		// name, NUL, ",i,0x", six raw ISID bytes, NUL: 24 bytes, length 20.
		{"tgtd", TIDLayoutTgtd, "45 00 00 14 69 71 6e 2e 78 3a 61 00 2c 69 2c 30 78 23 d0 00 00 00 01 00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tid := ISCSIPortID("iqn.x:a", isid).WithLayout(tc.layout)
			b, err := tid.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(unhex(t, tc.want), b); d != "" {
				t.Errorf("encoding (-want +got):\n%s", d)
			}
			got, err := ParseTransportID(b)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tid, got); d != "" {
				t.Errorf("decoded (-want +got):\n%s", d)
			}
			if got.String() != "iqn.x:a,i,0x23d000000001" {
				t.Errorf("String %q", got)
			}
		})
	}
	// tgtd's names are longer in practice: the padding follows.
	long := ISCSIPortID("iqn.2026-11.io.hakit.test:node-c", isid).WithLayout(TIDLayoutTgtd)
	b, _ := long.MarshalBinary()
	if len(b) != 4+((32+1+5+6+1+3)&^3) || len(b)%4 != 0 || be16(b[2:]) != uint16(len(b)-4) {
		t.Errorf("tgtd layout of a 32-byte name: %d bytes, length field %d", len(b), be16(b[2:]))
	}
	if _, err := (TransportID{Protocol: ProtocolISCSI, Format: 1, Name: "iqn.x:a", ISID: "23d0", Layout: TIDLayoutTgtd}).MarshalBinary(); err == nil {
		t.Error("tgtd layout with a 2-byte ISID: no error")
	}
}

// SPC-4 6.15.4, table 180: the REGISTER AND MOVE parameter list.
func TestRegisterAndMoveParams(t *testing.T) {
	p := RegisterAndMoveParams{Key: 0x686b000000000002, ServiceActionKey: 0x686b000000000003, RelativeTargetPort: 1,
		Destination: ISCSIPortID("iqn.x:a", [6]byte{0x23, 0xd0, 0, 0, 0, 0x01}).WithLayout(TIDLayoutTgtd)}
	b, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	want := unhex(t, "68 6b 00 00 00 00 00 02 68 6b 00 00 00 00 00 03 00 00 00 01 00 00 00 18"+
		"45 00 00 14 69 71 6e 2e 78 3a 61 00 2c 69 2c 30 78 23 d0 00 00 00 01 00")
	if d := cmp.Diff(want, b); d != "" {
		t.Errorf("encoding (-want +got):\n%s", d)
	}
	var got RegisterAndMoveParams
	if err := got.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(p, got); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
	flags := RegisterAndMoveParams{Unregister: true, APTPL: true, Destination: p.Destination}
	b, _ = flags.MarshalBinary()
	if b[17] != 0x03 {
		t.Errorf("UNREG|APTPL byte 17 = %#x, want 0x03", b[17])
	}

	cmd, err := RegisterAndMoveCommand(TypeWriteExclusiveRegistrantsOnly, p)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(unhex(t, "5f 07 05 00 00 00 00 00 30 00"), cmd.CDB); d != "" || cmd.Direction != ToDevice {
		t.Errorf("CDB (-want +got):\n%s", d)
	}
	for _, bad := range []struct {
		typ ReservationType
		p   RegisterAndMoveParams
	}{
		{TypeWriteExclusiveAllRegistrants, p},
		{TypeExclusiveAccessAllRegistrants, p},
		{0, p},
		{TypeWriteExclusive, RegisterAndMoveParams{Destination: TransportID{Protocol: ProtocolISCSI}}},
		{TypeWriteExclusive, RegisterAndMoveParams{Destination: TransportID{Protocol: ProtocolFC}}},
	} {
		if _, err := RegisterAndMoveCommand(bad.typ, bad.p); err == nil {
			t.Errorf("RegisterAndMoveCommand(%d, %+v): no error", bad.typ, bad.p.Destination)
		}
	}
	for _, short := range []string{"", "00 00", "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 08 45 00"} {
		if err := got.UnmarshalBinary(unhex(t, short)); !errors.Is(err, ErrShortData) {
			t.Errorf("UnmarshalBinary(%q): %v, want ErrShortData", short, err)
		}
	}
}

// FuzzParseRegisterAndMove decodes REGISTER AND MOVE parameter lists and
// TransportIDs (both layouts) and checks the round trip.
func FuzzParseRegisterAndMove(f *testing.F) {
	for _, l := range []TIDLayout{TIDLayoutStandard, TIDLayoutTgtd} {
		b, _ := RegisterAndMoveParams{Key: 2, ServiceActionKey: 3, Destination: ISCSIPortID("iqn.2026-11.io.hakit:c", [6]byte{0x80, 1, 2, 3, 4, 5}).WithLayout(l)}.MarshalBinary()
		f.Add(b)
		f.Add(b[24:])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if tid, err := ParseTransportID(b); err == nil && tid.Protocol == ProtocolISCSI {
			// (The other protocols keep only their port field.)
			_ = tid.String()
			if enc, err := tid.MarshalBinary(); err == nil {
				again, err := ParseTransportID(enc)
				if err != nil || !cmp.Equal(again, tid) {
					t.Errorf("TransportID round trip: %+v -> %+v %v", tid, again, err)
				}
			}
		}
		var p RegisterAndMoveParams
		if err := p.UnmarshalBinary(b); err != nil {
			return
		}
		enc, err := p.MarshalBinary()
		if err != nil {
			return // a TransportID that does not encode (an odd ISID)
		}
		var again RegisterAndMoveParams
		if err := again.UnmarshalBinary(enc); err != nil {
			t.Fatalf("decode of an encoding: %v", err)
		}
		if p.Destination.Protocol != ProtocolISCSI {
			// Other protocols keep their port field only: the
			// encoding must be stable from the first round.
			p = again
			enc, _ = p.MarshalBinary()
			_ = again.UnmarshalBinary(enc)
		}
		if !cmp.Equal(again, p) {
			t.Errorf("round trip: %+v -> %+v", p, again)
		}
	})
}
