package diskcli

import (
	"strings"
	"testing"

	"github.com/hakit/hakit/scsi"
	"github.com/hakit/hakit/scsi/iscsi"
)

// A login the target refuses for the initiator's name says which name was
// given and how to give the right one.
func TestDeviceErrorInitiatorHint(t *testing.T) {
	err := &DeviceError{Device: "iscsi://h/iqn.x/1", Err: &iscsi.LoginError{Class: 2, Detail: 3, Target: "h:3260 iqn.x", Initiator: "iqn.2026-11.io.hakit:vm"}}
	if msg := err.Error(); !strings.Contains(msg, "initiator iqn.2026-11.io.hakit:vm") || !strings.Contains(msg, "give --initiator") {
		t.Errorf("%s", msg)
	}
	other := &DeviceError{Device: "/dev/sdz", Err: &iscsi.LoginError{Class: 3, Detail: 1}}
	if strings.Contains(other.Error(), "--initiator") {
		t.Errorf("a target error names --initiator: %s", other)
	}
}

// The routine unit attention of a new session (29/00) is said with -v
// only; registrations preempted (2A/05) always.
func TestWriteNotesUnitAttentions(t *testing.T) {
	uas := []scsi.Sense{{Key: scsi.SenseUnitAttention, ASC: 0x29}, {Key: scsi.SenseUnitAttention, ASC: 0x2a, ASCQ: 0x05}}
	for _, verbose := range []bool{false, true} {
		var b strings.Builder
		(&env{opts: &options{verbose: verbose}}).writeNotes(&b, uas, []string{"n"})
		if got, want := strings.Count(b.String(), "unit attention absorbed"), map[bool]int{false: 1, true: 2}[verbose]; got != want || !strings.Contains(b.String(), "2A/05") && !strings.Contains(b.String(), "2a/05") || !strings.Contains(b.String(), "note: n") {
			t.Errorf("verbose %v: %d lines, want %d:\n%s", verbose, got, want, b.String())
		}
	}
}
