package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/hakit/hakit/agent"
)

// A scsi2 disk is printed without keys: who holds the reservation.
func TestWriteSCSI2Disk(t *testing.T) {
	var b bytes.Buffer
	writeDisks(&b, []agent.DiskStatus{{Device: "/dev/sdb", Mode: agent.ModeSCSI2, Holder: "this node", Registered: true, Owner: true, FenceMethod: "scsi2 challenge (LUN reset, waited 4s, reserve)"}})
	out := b.String()
	for _, want := range []string{"mode         scsi2", "held by this node", "holds (renewals on time)=yes", "other node   holds=no", "last fence   scsi2 challenge"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "PR generation") || strings.Contains(out, "key ") {
		t.Errorf("a scsi2 disk printed with keys:\n%s", out)
	}
}
