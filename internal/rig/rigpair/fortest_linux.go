package rigpair

import (
	"testing"

	"github.com/hakit/hakit/internal/rig"
)

// RigPairFor builds the rig's shared disk (open to iqnA and iqnB), serial
// cable and heartbeat link for a test, skipping (failing under CI) without
// root or the tools, and describes them as a pair with a fresh folder.
// Everything is removed when the test ends.
func RigPairFor(t testing.TB, iqnA, iqnB string) RigPair {
	t.Helper()
	return RigPair{
		Disk:  rig.DiskFor(t, rig.DiskConfig{Initiators: []string{iqnA, iqnB}}),
		Cable: rig.CableFor(t, rig.CableConfig{}),
		Net:   rig.NetFor(t, rig.NetConfig{}),
		IQN:   [2]string{iqnA, iqnB},
		Dir:   t.TempDir(),
	}
}
