package check

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/scsi"
	"github.com/hakit/hakit/scsi/iscsi"
	"github.com/hakit/hakit/scsi/opener/devname"
)

// testDisk is one shared disk reached through hwcheck's own sessions from
// both nodes (each node's initiator name, hwcheck's ISID: an I_T nexus of
// its own, never the agent's), with hwcheck's test keys.
type testDisk struct {
	// Prefix starts each result's name ("disk 1: ") when there are several
	// disks.
	Prefix string
	Name   string
	Dev    [2]*scsi.Device
	// Key is each node's test key (scsi.HWCheckKey); AgentKey its agent's
	// key (scsi.NodeKey).
	Key, AgentKey [2]scsi.Key
	Config        [2]agent.DiskConfig
}

// testDisks holds the sessions of the pair's disks: one per node and
// target, shared by that target's LUNs, so that no login of hwcheck's
// reinstates (ends) another of its own.
type testDisks struct {
	disks   []*testDisk
	closers []io.Closer
}

func (t *testDisks) Close() {
	for _, c := range t.closers {
		_ = c.Close()
	}
}

// ErrNotDrivable is a configuration hwcheck cannot drive both nodes' disks
// from (a peer's /dev path, or no peer configuration).
var ErrNotDrivable = errors.New("the peer's disks cannot be driven from here")

// openTestDisks logs in to every disk of the pair from both nodes. It needs
// both configurations with iscsi:// disks; otherwise the error wraps
// ErrNotDrivable.
func openTestDisks(ctx context.Context, env Env) (*testDisks, error) {
	lc, pc := env.LocalConfig, env.PeerConfig
	if lc == nil || pc == nil {
		return nil, fmt.Errorf("%w: needs both nodes' configurations (--peer-config)", ErrNotDrivable)
	}
	if len(lc.Disks) == 0 || len(lc.Disks) != len(pc.Disks) {
		return nil, fmt.Errorf("%w: %d disks in this node's configuration, %d in the peer's", ErrNotDrivable, len(lc.Disks), len(pc.Disks))
	}
	cid := strconv.Itoa(lc.Cluster.ID)
	var keys, agentKeys [2]scsi.Key
	for i, c := range []*agent.Config{lc, pc} {
		var err error
		if keys[i], err = scsi.HWCheckKey(cid, c.Node.ID); err != nil {
			return nil, err
		}
		if agentKeys[i], err = scsi.NodeKey(cid, c.Node.ID); err != nil {
			return nil, err
		}
	}
	t := &testDisks{}
	open := env.opener() // one session per node and target, shared by its LUNs
	for i := range lc.Disks {
		td := &testDisk{Key: keys, AgentKey: agentKeys, Config: [2]agent.DiskConfig{lc.Disks[i], pc.Disks[i]}, Name: agent.ShownDevice(lc.Disks[i].Device)}
		if len(lc.Disks) > 1 {
			td.Prefix = fmt.Sprintf("disk %d: ", i)
		}
		for side, dc := range td.Config {
			if !devname.IsISCSI(dc.Device) {
				t.Close()
				return nil, fmt.Errorf("%w: %s is a device path of %s", ErrNotDrivable, dc.Device, sideNames[side])
			}
			tr, closer, err := open(ctx, dc.Device, hwcheckOptions(env, dc, iscsi.ISIDHWCheck))
			if err != nil {
				t.Close()
				return nil, fmt.Errorf("login from %s as %s: %w", sideNames[side], dc.Initiator, err)
			}
			t.closers = append(t.closers, closer)
			td.Dev[side] = &scsi.Device{Transport: tr, Name: td.Name, UnitAttentionRetries: 8, TransportRetries: 2}
		}
		t.disks = append(t.disks, td)
	}
	return t, nil
}

// diskState is what a diagnostic must leave as it found it: the registered
// keys (as a multiset) and the reservation (holder and type).
type diskState struct {
	Keys []scsi.Key
	Res  scsi.Reservation
}

func readDiskState(ctx context.Context, d *scsi.Device) (diskState, error) {
	k, err := d.ReadKeys(ctx)
	if err != nil {
		return diskState{}, err
	}
	r, err := d.ReadReservation(ctx)
	if err != nil {
		return diskState{}, err
	}
	ks := slices.Clone(k.Keys)
	slices.Sort(ks)
	return diskState{Keys: ks, Res: r}, nil
}

func (s diskState) String() string {
	keys := "no key"
	if len(s.Keys) > 0 {
		var b []string
		for _, k := range s.Keys {
			b = append(b, k.String())
		}
		keys = "keys " + strings.Join(b, " ")
	}
	if !s.Res.Held {
		return keys + ", no reservation"
	}
	return fmt.Sprintf("%s, reservation %s by %s", keys, s.Res.Type.Short(), s.Res.Key)
}

// sameState reports whether two states agree on the keys, the holder and
// the type (not the PR generation, which every registration moves).
func sameState(a, b diskState) bool {
	if a.Res.Held != b.Res.Held || (a.Res.Held && (a.Res.Key != b.Res.Key || a.Res.Type != b.Res.Type)) {
		return false
	}
	return slices.Equal(a.Keys, b.Keys)
}

// holderName names the holder of a reservation for a person.
func (td *testDisk) holderName(k scsi.Key) string {
	switch k {
	case td.AgentKey[0]:
		return "this node's agent (key " + k.String() + ")"
	case td.AgentKey[1]:
		return "the peer's agent (key " + k.String() + ")"
	case td.Key[0], td.Key[1]:
		return "an earlier hwcheck run (test key " + k.String() + ")"
	}
	return "key " + k.String() + " (neither node's)"
}

// heldSkip is the skip of a test that would change a held reservation:
// it did not run and changed nothing.
func (td *testDisk) heldSkip(name string, s diskState) []Result {
	return skip(td.Prefix+name, fmt.Sprintf("%s: a persistent reservation (%s) is held by %s; the test would take it over, so it did not run and changed nothing", td.Name, s.Res.Type, td.holderName(s.Res.Key)),
		"run it when neither node holds the disk (hwagent release on the holder, in a maintenance window), or on a test LUN")
}

// register registers side's test key on its nexus.
func (td *testDisk) register(ctx context.Context, side int) error {
	return td.Dev[side].PROut(ctx, scsi.PROutRegisterAndIgnore, 0, scsi.PROutParams{ServiceActionKey: td.Key[side]})
}

// preempt is the peer's test session taking the disk from this node's
// test key as the agents fence: PREEMPT AND ABORT, or PREEMPT where the
// target refuses the abort and the peer's configuration allows it. method
// says which was used.
func (td *testDisk) preempt(ctx context.Context) (method string, err error) {
	pa := scsi.PROutParams{Key: td.Key[1], ServiceActionKey: td.Key[0]}
	method = scsi.PROutPreemptAndAbort.String()
	err = td.Dev[1].PROut(ctx, scsi.PROutPreemptAndAbort, prType, pa)
	if scsi.IsUnsupported(err) && td.Config[1].AllowPreemptWithoutAbort {
		method = scsi.PROutPreempt.String() + " (PREEMPT AND ABORT refused, allowed by allow_preempt_without_abort)"
		err = td.Dev[1].PROut(ctx, scsi.PROutPreempt, prType, pa)
	}
	return method, err
}

// cleanup removes hwcheck's registrations (and so any reservation they
// hold) from both nexuses, on a deadline of its own.
func (td *testDisk) cleanup() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var errs []error
	for side := range td.Dev {
		if err := td.Dev[side].PROut(ctx, scsi.PROutRegisterAndIgnore, 0, scsi.PROutParams{}); err != nil {
			errs = append(errs, fmt.Errorf("unregister %s's test key: %w", sideNames[side], err))
		}
	}
	return errors.Join(errs...)
}

// leftAsFound is the result comparing the state after a test with the one
// before.
func (td *testDisk) leftAsFound(ctx context.Context, name string, before diskState) Result {
	if err := td.cleanup(); err != nil {
		return res(td.Prefix+name, Fail, err.Error(), "remove hwcheck's test keys by hand: hwagent disk unregister with the test key")
	}
	after, err := readDiskState(ctx, td.Dev[0])
	if err != nil {
		return res(td.Prefix+name, Fail, "reading the disk after the test: "+err.Error(), "")
	}
	if !sameState(before, after) {
		return res(td.Prefix+name, Fail, fmt.Sprintf("before: %s; after: %s", before, after), "a key or a reservation changed while the test ran (the agents acted meanwhile?); compare hwagent disks on both nodes")
	}
	return res(td.Prefix+name, Pass, "as found: "+after.String(), "")
}

// withTestDisks runs fn on the pair's disks reached through hwcheck's own
// sessions, or returns name's skip (no consent, disks not drivable from
// here) or failure (no login).
func withTestDisks(ctx context.Context, env Env, name, consent string, fn func(tds *testDisks) []Result) []Result {
	if !env.PRTest {
		return skip(name, consent+": not run without consent", "add --pr-test")
	}
	tds, err := openTestDisks(ctx, env)
	if errors.Is(err, ErrNotDrivable) {
		return skip(name, err.Error(), "give --peer-config (readable from this node, as on the rig), with iscsi:// disks")
	}
	if err != nil {
		return []Result{res(name, Fail, err.Error(), "check the portal and the target's ACL for both initiator names")}
	}
	defer tds.Close()
	return fn(tds)
}

// eachTestDisk runs fn on every disk of the pair in turn (see
// withTestDisks).
func eachTestDisk(ctx context.Context, env Env, name, consent string, fn func(td *testDisk) []Result) []Result {
	return withTestDisks(ctx, env, name, consent, func(tds *testDisks) []Result {
		var out []Result
		for _, td := range tds.disks {
			out = append(out, fn(td)...)
		}
		return out
	})
}
