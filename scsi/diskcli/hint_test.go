package diskcli

import (
	"strings"
	"testing"

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
