package scsi

import "testing"

func TestBuilderErrors(t *testing.T) {
	if _, err := PROut(PROutReserve, 2, PROutParams{}); err == nil {
		t.Error("RESERVE with obsolete type 2: no error")
	}
	if _, err := PROut(PROutRegister, TypeWriteExclusive, PROutParams{}); err == nil {
		t.Error("REGISTER with a type: no error")
	}
	if _, err := PROut(PROutRegisterAndMove, 0, PROutParams{}); err == nil {
		t.Error("REGISTER AND MOVE: no error")
	}
	for _, n := range []int{0, 100, 512 * 65536} {
		if _, err := Write10(0, make([]byte, n), 512); err == nil {
			t.Errorf("Write10 of %d bytes: no error", n)
		}
	}
}

func TestCommandName(t *testing.T) {
	c, _ := PROut(PROutPreemptAndAbort, 5, PROutParams{Key: 1, ServiceActionKey: 2})
	for cmd, want := range map[*Command]string{
		c:                           "PERSISTENT RESERVE OUT (PREEMPT AND ABORT)",
		PRIn(PRInReadFullStatus, 0): "PERSISTENT RESERVE IN (READ FULL STATUS)",
		InquiryVPD(0x83, 0):         "INQUIRY (VPD 0x83)",
		ReadCapacity16():            "READ CAPACITY(16)",
		{CDB: []byte{0xee}}:         "opcode 0xee",
		{}:                          "empty command",
	} {
		if got := CommandName(cmd); got != want {
			t.Errorf("CommandName(% x) = %q, want %q", cmd.CDB, got, want)
		}
	}
}

func TestParseKeyAndType(t *testing.T) {
	for in, want := range map[string]Key{"0x686b8ed3f6ad0001": 0x686b8ed3f6ad0001, "abc": 0xabc, " 0X1 ": 1} {
		got, err := ParseKey(in)
		if err != nil || got != want {
			t.Errorf("ParseKey(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0x", "xyz", "0x12345678901234567"} {
		if _, err := ParseKey(in); err == nil {
			t.Errorf("ParseKey(%q): no error", in)
		}
	}
	for in, want := range map[string]ReservationType{"we-ro": 5, "5": 5, "EA": 3, "ea-ar": 8, "1": 1} {
		got, err := ParseReservationType(in)
		if err != nil || got != want {
			t.Errorf("ParseReservationType(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseReservationType("2"); err == nil {
		t.Error("type 2 accepted")
	}
	if TypeWriteExclusiveRegistrantsOnly.String() != "Write Exclusive, registrants only" || ReservationType(2).Valid() {
		t.Error("type names")
	}
}

func TestReadWrite16(t *testing.T) {
	for _, tc := range []struct {
		name   string
		lba    uint64
		blocks uint32
		bs     int
		fua    bool
		ok     bool
	}{
		{"one block", 0, 1, 512, false, true},
		{"64-bit LBA, FUA", 1 << 40, 8, 4096, true, true},
		{"no blocks", 0, 0, 512, false, false},
		{"no block size", 0, 1, 0, false, false},
		{"over 16 MiB", 0, 32769, 512, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, rerr := Read16(tc.lba, tc.blocks, tc.bs, tc.fua)
			w, werr := Write16(tc.lba, make([]byte, int(tc.blocks)*tc.bs), tc.bs, tc.fua)
			if (rerr == nil) != tc.ok || (werr == nil) != tc.ok {
				t.Fatalf("errors %v, %v; want ok=%v", rerr, werr, tc.ok)
			}
			if !tc.ok {
				return
			}
			for _, c := range []*Command{r, w} {
				if len(c.CDB) != 16 || be64(c.CDB[2:]) != tc.lba || be32(c.CDB[10:]) != tc.blocks || (c.CDB[1]&0x08 != 0) != tc.fua {
					t.Errorf("%s: cdb % x", CommandName(c), c.CDB)
				}
			}
			if r.AllocLen != int(tc.blocks)*tc.bs || r.Direction != FromDevice || w.Direction != ToDevice {
				t.Errorf("read alloc %d dir %v, write dir %v", r.AllocLen, r.Direction, w.Direction)
			}
		})
	}
	if _, err := Write16(0, make([]byte, 100), 512, false); err == nil {
		t.Error("Write16 of a partial block: no error")
	}
}

func TestRegion(t *testing.T) {
	r := Region{Start: 10, Len: 5}
	for _, tc := range []struct {
		lba, n uint64
		want   bool
	}{
		{10, 5, true}, {14, 1, true}, {9, 1, false}, {14, 2, false}, {10, 0, false},
		{^uint64(0), 2, false}, {15, 1, false},
	} {
		if got := r.Contains(tc.lba, tc.n); got != tc.want {
			t.Errorf("%v.Contains(%d, %d) = %v", r, tc.lba, tc.n, got)
		}
	}
	if (Region{Start: ^uint64(0), Len: 2}).Contains(^uint64(0), 1) {
		t.Error("overflowing region contains a block")
	}
}
