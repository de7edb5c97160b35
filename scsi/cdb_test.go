package scsi

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if d := cmp.Diff(string(want), got); d != "" {
		t.Errorf("%s differs (-want +got), review and run with -update:\n%s", path, d)
	}
}

func mustCmd(t *testing.T, c *Command, err error) *Command {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCDBGolden pins every builder's CDB and parameter data. The PR OUT
// lines match what sg_persist sends for the same options (SPC-4 6.15.1,
// table 171: service action in byte 1, scope and type in byte 2, parameter
// list length in bytes 5-8; table 174: the 24-byte parameter list).
func TestCDBGolden(t *testing.T) {
	own, peer := Key(0x686b8ed3f6ad0001), Key(0x686b8ed3f6ad0002)
	w, err := Write10(8, make([]byte, 1024), 512)
	cmds := []struct {
		name string
		cmd  *Command
	}{
		{"TEST UNIT READY", TestUnitReady()},
		{"INQUIRY", Inquiry(0)},
		{"INQUIRY VPD 0x00", InquiryVPD(0x00, 0)},
		{"INQUIRY VPD 0x80", InquiryVPD(0x80, 252)},
		{"INQUIRY VPD 0x83", InquiryVPD(0x83, 0)},
		{"READ CAPACITY(16)", ReadCapacity16()},
		{"REPORT LUNS", ReportLUNs(0)},
		{"RESERVE(6)", Reserve6()},
		{"RELEASE(6)", Release6()},
		{"READ(10)", Read10(8, 2, 512)},
		{"WRITE(10)", mustCmd(t, w, err)},
		{"PR IN READ KEYS", PRIn(PRInReadKeys, 0)},
		{"PR IN READ RESERVATION", PRIn(PRInReadReservation, 0)},
		{"PR IN REPORT CAPABILITIES", PRIn(PRInReportCapabilities, 8)},
		{"PR IN READ FULL STATUS", PRIn(PRInReadFullStatus, 0)},
	}
	outs := []struct {
		a   PROutAction
		typ ReservationType
		p   PROutParams
	}{
		{PROutRegister, 0, PROutParams{ServiceActionKey: own}},
		{PROutRegister, 0, PROutParams{Key: own, ServiceActionKey: own, APTPL: true}},
		{PROutRegisterAndIgnore, 0, PROutParams{ServiceActionKey: own}},
		{PROutRegisterAndIgnore, 0, PROutParams{}},
		{PROutReserve, TypeWriteExclusiveRegistrantsOnly, PROutParams{Key: own}},
		{PROutRelease, TypeWriteExclusiveRegistrantsOnly, PROutParams{Key: own}},
		{PROutClear, 0, PROutParams{Key: own}},
		{PROutPreempt, TypeWriteExclusive, PROutParams{Key: own, ServiceActionKey: peer}},
		{PROutPreemptAndAbort, TypeWriteExclusiveRegistrantsOnly, PROutParams{Key: own, ServiceActionKey: peer}},
		{PROutPreempt, TypeExclusiveAccessAllRegistrants, PROutParams{Key: own, ServiceActionKey: own, AllTargetPorts: true}},
	}
	for _, typ := range []ReservationType{1, 3, 5, 6, 7, 8} {
		outs = append(outs, struct {
			a   PROutAction
			typ ReservationType
			p   PROutParams
		}{PROutReserve, typ, PROutParams{Key: own}})
	}
	for _, o := range outs {
		c, err := PROut(o.a, o.typ, o.p)
		name := fmt.Sprintf("PR OUT %s type %d", o.a, o.typ)
		cmds = append(cmds, struct {
			name string
			cmd  *Command
		}{name, mustCmd(t, c, err)})
	}
	var b strings.Builder
	for _, c := range cmds {
		fmt.Fprintf(&b, "%-45s %-4s cdb % x", c.name, c.cmd.Direction, c.cmd.CDB)
		if c.cmd.AllocLen > 0 {
			fmt.Fprintf(&b, " alloc %d", c.cmd.AllocLen)
		}
		if len(c.cmd.Data) > 0 && len(c.cmd.Data) <= 64 {
			fmt.Fprintf(&b, "\n%45s      data % x", "", c.cmd.Data)
		}
		b.WriteString("\n")
	}
	golden(t, "cdb.golden", b.String())
}

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
