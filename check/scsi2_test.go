package check

import (
	"context"
	"strings"
	"testing"

	"github.com/hakit/hakit/agent"
)

// The PR matrix is skipped, with the reason, on a disk the agents own in
// scsi2 mode: they use no persistent reservations there.
func TestPRMatrixSkipsSCSI2Disks(t *testing.T) {
	env := Env{PRTest: true, LocalConfig: &agent.Config{Disks: []agent.DiskConfig{{Device: "/dev/sdb", Mode: agent.ModeSCSI2}}}}
	r := PRMatrix(context.Background(), env)
	if len(r) != 1 || r[0].Verdict != Skip || !strings.Contains(r[0].Measured, "scsi2") {
		t.Errorf("PRMatrix on a scsi2 disk = %+v, want one skip naming scsi2", r)
	}
}
