package scsi

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// tgtdInquiry is the standard INQUIRY data of a tgtd 1.0.85 disk LUN.
const tgtdInquiry = `00 00 06 02 3b 00 00 02 49 45 54 20 20 20 20 20 56 49 52 54 55 41 4c 2d 44 49 53 4b 20 20 20 20
30 30 30 31 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 a0 09 60 03 00 04 60 00 00 00 00 00 00 00 00`

func TestParseInquiry(t *testing.T) {
	got, err := ParseInquiry(unhex(t, tgtdInquiry))
	if err != nil {
		t.Fatal(err)
	}
	want := Standard{Version: 6, DataFormat: 2, CmdQue: true, Vendor: "IET", Product: "VIRTUAL-DISK", Revision: "0001"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ParseInquiry (-want +got):\n%s", d)
	}
	b, _ := want.MarshalBinary()
	if again, err := ParseInquiry(b); err != nil || !cmp.Equal(again, want) {
		t.Errorf("round trip: %+v, %v", again, err)
	}
	if _, err := ParseInquiry([]byte{0, 0, 5}); !errors.Is(err, ErrShortData) {
		t.Errorf("short: %v", err)
	}
	if s, err := ParseInquiry([]byte{0x1f, 0, 6, 2, 0}); err != nil || s.DeviceType != 0x1f || s.Vendor != "" {
		t.Errorf("5 bytes: %+v %v", s, err)
	}
}

// VPD 0x83 with the designators a shared disk may carry (SPC-4 7.8.6):
// an NAA IEEE Registered Extended (6), an EUI-64, a T10 vendor ID, a
// SCSI name string, and a target port's relative port (association 1,
// ignored for the identity).
const vpd83 = `00 83 00 5c
01 03 00 10 60 01 40 5f 12 34 56 78 9a bc de f0 12 34 56 78
01 02 00 08 00 11 22 33 44 55 66 77
02 01 00 10 49 45 54 20 20 20 20 20 30 30 30 31 30 30 30 31
03 08 00 14 69 71 6e 2e 32 30 32 36 2d 31 31 2e 78 3a 6c 31 00 00 00 00
51 94 00 04 00 00 00 01`

func TestParseVPD(t *testing.T) {
	pages, err := ParseSupportedPages(unhex(t, "00 00 00 04 00 80 83 b0"))
	if d := cmp.Diff([]byte{0, 0x80, 0x83, 0xb0}, pages); d != "" || err != nil {
		t.Errorf("pages %v: %s", err, d)
	}
	serial, err := ParseUnitSerial(unhex(t, "00 80 00 0a 62 65 61 66 30 30 31 20 20 00"))
	if serial != "beaf001" || err != nil {
		t.Errorf("serial %q %v", serial, err)
	}
	ds, err := ParseDeviceID(unhex(t, vpd83))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range ds {
		names = append(names, d.TypeName()+"="+d.String())
	}
	want := []string{
		"NAA=naa.6001405f123456789abcdef012345678",
		"EUI-64=eui.0011223344556677",
		"T10 vendor ID=t10.IET     00010001",
		"SCSI name string=iqn.2026-11.x:l1",
		"relative target port=relative-port.1",
	}
	if d := cmp.Diff(want, names); d != "" {
		t.Errorf("designators (-want +got):\n%s", d)
	}
	if !ds[4].PIV || ds[4].Association != AssocTargetPort || ds[4].Protocol != ProtocolISCSI {
		t.Errorf("relative port descriptor: %+v", ds[4])
	}
	if again, err := ParseDeviceID(MarshalDeviceID(ds)); err != nil || !cmp.Equal(again, ds) {
		t.Errorf("round trip: %v %v", again, err)
	}
	for _, bad := range []string{"00 83", "00 80 00 00", "00 83 00 06 01 03 00 10 60 01"} {
		if _, err := ParseDeviceID(unhex(t, bad)); err == nil {
			t.Errorf("ParseDeviceID(%s): no error", bad)
		}
	}
}

func TestNewIdentity(t *testing.T) {
	ds, _ := ParseDeviceID(unhex(t, vpd83))
	std := Standard{Vendor: "IET", Product: "VIRTUAL-DISK"}
	tests := []struct {
		name   string
		ds     []Designator
		serial string
		id     string
		source string
	}{
		{"NAA wins", ds, "s1", "naa.6001405f123456789abcdef012345678", "NAA"},
		{"EUI-64 next", ds[1:], "s1", "eui.0011223344556677", "EUI-64"},
		{"SCSI name before T10", ds[2:], "", "iqn.2026-11.x:l1", "SCSI name string"},
		{"T10", ds[2:3], "", "t10.IET     00010001", "T10 vendor ID"},
		{"port only: serial", ds[4:], "beaf", "serial.IET.VIRTUAL-DISK.beaf", "unit serial number"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, err := NewIdentity(std, tc.serial, tc.ds)
			if err != nil || id.ID != tc.id || id.Source != tc.source {
				t.Errorf("got %q from %q (%v), want %q from %q", id.ID, id.Source, err, tc.id, tc.source)
			}
		})
	}
	if _, err := NewIdentity(std, "", ds[4:]); err == nil {
		t.Error("no designator, no serial: no error")
	}
	a, _ := NewIdentity(std, "x", ds)
	b, _ := NewIdentity(Standard{Vendor: "OTHER"}, "y", ds[:1])
	if !a.SameLU(b) || a.SameLU(Identity{}) {
		t.Error("SameLU")
	}
}

func TestParseCapacityAndLUNs(t *testing.T) {
	c, err := ParseReadCapacity16(unhex(t, "00 00 00 00 00 01 ff ff 00 00 02 00 00 03 80 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"))
	want := Capacity{LastLBA: 0x1ffff, BlockSize: 512, PhysicalExponent: 3, ThinProvisioned: true}
	if d := cmp.Diff(want, c); d != "" || err != nil {
		t.Errorf("capacity %v (-want +got):\n%s", err, d)
	}
	if c.Bytes() != 64<<20 {
		t.Errorf("Bytes = %d", c.Bytes())
	}
	b, _ := want.MarshalBinary()
	if again, _ := ParseReadCapacity16(b); again != want {
		t.Errorf("round trip %+v", again)
	}
	if _, err := ParseReadCapacity16(make([]byte, 8)); !errors.Is(err, ErrShortData) {
		t.Errorf("short: %v", err)
	}
	luns, err := ParseReportLUNs(unhex(t, "00 00 00 18 00 00 00 00 00 00 00 00 00 00 00 00 00 01 00 00 00 00 00 00 41 2c 00 00 00 00 00 00"))
	if d := cmp.Diff([]uint64{0, 1, 300}, luns); d != "" || err != nil {
		t.Errorf("luns %v: %s", err, d)
	}
	if again, _ := ParseReportLUNs(MarshalReportLUNs(luns)); !cmp.Equal(again, luns) {
		t.Errorf("luns round trip %v", again)
	}
}

// TestPRInDecoders covers the four PR IN service actions (SPC-4 6.14).
func TestPRInDecoders(t *testing.T) {
	// READ KEYS (6.14.2): generation 3, two keys.
	k, err := ParseReadKeys(unhex(t, "00 00 00 03 00 00 00 10 68 6b 8e d3 f6 ad 00 01 68 6b 8e d3 f6 ad 00 02"))
	if d := cmp.Diff(Keys{Generation: 3, Keys: []Key{0x686b8ed3f6ad0001, 0x686b8ed3f6ad0002}}, k); d != "" || err != nil {
		t.Errorf("READ KEYS %v: %s", err, d)
	}
	// Truncated by the allocation length: the device says 3 keys.
	k, _ = ParseReadKeys(unhex(t, "00 00 00 03 00 00 00 18 00 00 00 00 00 00 00 01"))
	if !k.Truncated || len(k.Keys) != 1 {
		t.Errorf("truncated READ KEYS: %+v", k)
	}
	// READ RESERVATION (6.14.3): none, then one of type 5.
	r, err := ParseReadReservation(unhex(t, "00 00 00 07 00 00 00 00"))
	if d := cmp.Diff(Reservation{Generation: 7}, r); d != "" || err != nil {
		t.Errorf("no reservation %v: %s", err, d)
	}
	r, err = ParseReadReservation(unhex(t, "00 00 00 07 00 00 00 10 68 6b 8e d3 f6 ad 00 01 00 00 00 00 00 05 00 00"))
	if d := cmp.Diff(Reservation{Generation: 7, Held: true, Key: 0x686b8ed3f6ad0001, Type: 5}, r); d != "" || err != nil {
		t.Errorf("reservation %v: %s", err, d)
	}
	if _, err := ParseReadReservation(unhex(t, "00 00 00 07 00 00 00 10 68")); !errors.Is(err, ErrShortData) {
		t.Errorf("short reservation: %v", err)
	}
	// REPORT CAPABILITIES (6.14.4) as tgtd answers: TMV, all six types,
	// no PTPL_C, ATP_C, SIP_C or CRH.
	c, err := ParseReportCapabilities(unhex(t, "00 08 00 80 ea 01 00 00"))
	want := Capabilities{TypeMaskValid: true, Types: []ReservationType{1, 3, 5, 6, 7, 8}}
	if d := cmp.Diff(want, c); d != "" || err != nil {
		t.Errorf("capabilities %v (-want +got):\n%s", err, d)
	}
	if b, _ := c.MarshalBinary(); string(b) != string(unhex(t, "00 08 00 80 ea 01 00 00")) {
		t.Errorf("capabilities encode % x", b)
	}
	if !c.Supports(5) || (Capabilities{TypeMaskValid: true}).Supports(5) || !(Capabilities{}).Supports(5) {
		t.Error("Supports")
	}
}

func TestTransportID(t *testing.T) {
	tests := []struct {
		in   string
		want TransportID
		str  string
	}{
		{"05 00 00 10 69 71 6e 2e 32 30 32 36 2d 31 31 2e 61 00 00 00", TransportID{Protocol: 5, Name: "iqn.2026-11.a"}, "iqn.2026-11.a"},
		{"45 00 00 1c 69 71 6e 2e 78 3a 61 2c 69 2c 30 78 32 33 64 30 30 30 30 30 30 30 30 31 00 00 00 00", TransportID{Protocol: 5, Format: 1, Name: "iqn.x:a", ISID: "23d000000001"}, "iqn.x:a,i,0x23d000000001"},
		{"00 00 00 00 00 00 00 00 21 00 00 24 ff 3a 1b 2c 00 00 00 00 00 00 00 00", TransportID{Protocol: 0, Port: unhex(t, "21000024ff3a1b2c")}, "fc 0x21000024ff3a1b2c"},
		{"06 00 00 00 50 06 05 b0 00 c9 5a 01 00 00 00 00 00 00 00 00 00 00 00 00", TransportID{Protocol: 6, Port: unhex(t, "500605b000c95a01")}, "sas 0x500605b000c95a01"},
	}
	for _, tc := range tests {
		got, err := ParseTransportID(unhex(t, tc.in))
		if err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		if d := cmp.Diff(tc.want, got); d != "" || got.String() != tc.str {
			t.Errorf("%s: %q (-want +got):\n%s", tc.in, got, d)
		}
		enc, _ := got.MarshalBinary()
		if again, err := ParseTransportID(enc); err != nil || !cmp.Equal(again, got) {
			t.Errorf("round trip %s: %+v %v", tc.str, again, err)
		}
	}
	if _, err := ParseTransportID(unhex(t, "05 00 00 40 69")); !errors.Is(err, ErrShortData) {
		t.Errorf("short iSCSI name: %v", err)
	}
}

func FuzzParseInquiry(f *testing.F) {
	f.Add([]byte(nil))
	b, _ := Standard{Vendor: "IET", Product: "VIRTUAL-DISK", Revision: "0001", Version: 6, DataFormat: 2}.MarshalBinary()
	f.Add(b)
	f.Add(unhex(f, tgtdInquiry))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseInquiry(b)
		if err != nil {
			return
		}
		enc, _ := s.MarshalBinary()
		s2, err := ParseInquiry(enc)
		if err != nil {
			t.Fatal(err)
		}
		// Strings lose characters a 36-byte field cannot hold; compare
		// the rest.
		s.Vendor, s.Product, s.Revision, s2.Vendor, s2.Product, s2.Revision = "", "", "", "", "", ""
		if d := cmp.Diff(s, s2); d != "" {
			t.Errorf("round trip (-first +second):\n%s", d)
		}
	})
}

// FuzzParseVPD feeds pages 0x00, 0x80 and 0x83 to their decoders.
func FuzzParseVPD(f *testing.F) {
	f.Add(unhex(f, vpd83))
	f.Add(MarshalSupportedPages([]byte{0, 0x80, 0x83}))
	f.Add(MarshalUnitSerial("beaf001"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if p, err := ParseSupportedPages(b); err == nil {
			if again, err := ParseSupportedPages(MarshalSupportedPages(p)); err != nil || !cmp.Equal(again, p) {
				t.Errorf("pages round trip: %v", err)
			}
		}
		_, _ = ParseUnitSerial(b)
		ds, err := ParseDeviceID(b)
		if err != nil {
			return
		}
		for _, d := range ds {
			_ = d.String() + d.TypeName()
		}
		again, err := ParseDeviceID(MarshalDeviceID(ds))
		if err != nil || !cmp.Equal(again, ds) {
			t.Errorf("0x83 round trip: %v\n%s", err, cmp.Diff(ds, again))
		}
		_, _ = NewIdentity(Standard{}, "", ds)
	})
}

// FuzzParsePRIn feeds the four PR IN decoders (and TransportID via READ
// FULL STATUS) and checks their round trips.
func FuzzParsePRIn(f *testing.F) {
	f.Add(unhex(f, "00 00 00 03 00 00 00 10 68 6b 8e d3 f6 ad 00 01 68 6b 8e d3 f6 ad 00 02"))
	f.Add(unhex(f, "00 00 00 07 00 00 00 10 68 6b 8e d3 f6 ad 00 01 00 00 00 00 00 05 00 00"))
	f.Add(unhex(f, "00 08 00 80 ea 01 00 00"))
	if files, _ := filepath.Glob(filepath.Join("testdata", "fullstatus", "*.hex")); len(files) > 0 {
		for _, file := range files {
			raw, _ := os.ReadFile(file)
			f.Add(unhex(f, string(raw)))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if k, err := ParseReadKeys(b); err == nil && !k.Truncated {
			enc, _ := k.MarshalBinary()
			if again, err := ParseReadKeys(enc); err != nil || !cmp.Equal(again, k, cmp.Comparer(func(a, b []Key) bool { return len(a) == len(b) && (len(a) == 0 || cmp.Equal(a, b)) })) {
				t.Errorf("READ KEYS round trip: %v", err)
			}
		}
		if r, err := ParseReadReservation(b); err == nil {
			enc, _ := r.MarshalBinary()
			if again, err := ParseReadReservation(enc); err != nil || again != r {
				t.Errorf("READ RESERVATION round trip: %+v %+v %v", r, again, err)
			}
		}
		if c, err := ParseReportCapabilities(b); err == nil {
			enc, _ := c.MarshalBinary()
			if again, err := ParseReportCapabilities(enc); err != nil || !cmp.Equal(again, c) {
				t.Errorf("REPORT CAPABILITIES round trip: %v", err)
			}
		}
		if fs, err := ParseReadFullStatus(b); err == nil {
			for _, r := range fs.Registrations {
				_ = r.Initiator.String()
			}
			_ = StaleRegistrations(fs)
		}
	})
}

// FuzzParseCapacity feeds READ CAPACITY(16) and REPORT LUNS data.
func FuzzParseCapacity(f *testing.F) {
	b, _ := Capacity{LastLBA: 0x1ffff, BlockSize: 512, PhysicalExponent: 3}.MarshalBinary()
	f.Add(b)
	f.Add(MarshalReportLUNs([]uint64{0, 1, 300}))
	f.Fuzz(func(t *testing.T, b []byte) {
		if c, err := ParseReadCapacity16(b); err == nil && len(b) >= 16 {
			enc, _ := c.MarshalBinary()
			if again, err := ParseReadCapacity16(enc); err != nil || again != c {
				t.Errorf("capacity round trip: %+v %+v %v", c, again, err)
			}
		}
		if luns, err := ParseReportLUNs(b); err == nil {
			for _, l := range luns {
				if l > 0x3fff {
					return // other addressing methods do not round trip
				}
			}
			if again, err := ParseReportLUNs(MarshalReportLUNs(luns)); err != nil || !cmp.Equal(again, luns) {
				t.Errorf("luns round trip: %v %v", luns, again)
			}
		}
	})
}
