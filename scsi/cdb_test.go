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
