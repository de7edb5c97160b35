package check_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hakit/hakit/check"
	"github.com/hakit/hakit/internal/rig"
	"github.com/hakit/hakit/internal/rig/rigpair"
	"github.com/hakit/hakit/internal/testutil"
	"github.com/hakit/hakit/scsi"
)

const (
	iqnA = "iqn.2026-11.io.hakit:node-a"
	iqnB = "iqn.2026-11.io.hakit:node-b"
)

func logger(t testing.TB) *slog.Logger {
	return testutil.Logger(t, slog.LevelWarn)
}

func rigEnv(t testing.TB, more ...func(*rigpair.RigPair)) (check.Env, rigpair.RigPair) {
	t.Helper()
	rp := rigpair.RigPairFor(t, iqnA, iqnB)
	for _, f := range more {
		f(&rp)
	}
	// The synthetic ipssend pair: partners named, IDs 6 and 7.
	rp.RAIDTool = "ipssend"
	rp.RAIDFiles = [2]string{"../fixtures/raid/ipssend/synthetic__getconfig-1-AL-cluster-A.txt", "../fixtures/raid/ipssend/synthetic__getconfig-1-AL-cluster-B.txt"}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p, err := rigpair.StartPair(ctx, rp, logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	// The heartbeat must be up before the serial checks can pass.
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := p.Clients[0].Status(ctx)
		var hb struct{ State string }
		if err == nil && json.Unmarshal(st.Heartbeat, &hb) == nil && hb.State == "alive" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("heartbeat not alive: %s %v", st.Heartbeat, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return check.Env{Local: p.Clients[0], Peer: p.Clients[1], LocalConfig: p.Configs[0], PeerConfig: p.Configs[1], PRTest: true, Inventory: true, Logger: logger(t),
		// 64 blocks 4 MiB in: inside the rig's LUNs (16 MiB and more), which
		// hold no data.
		TestRegion: scsi.Region{Start: 8192, Len: 64},
		// The rig runs no cluster: corosync's file and Pacemaker's
		// stonith-timeout as a two-node cluster would have them.
		Corosync: check.CorosyncFrom(corosyncConf(t), func(ctx context.Context, name string, args ...string) *exec.Cmd {
			return exec.CommandContext(ctx, "false")
		}),
		StonithTimeout: func(context.Context) (time.Duration, bool, error) { return 60 * time.Second, true, nil }}, rp
}

// corosyncConf writes a two-node corosync.conf with token 3000 ms.
func corosyncConf(t testing.TB) string {
	p := filepath.Join(t.TempDir(), "corosync.conf")
	conf := "totem {\n\tversion: 2\n\tcluster_name: rig\n\ttoken: 3000\n}\nnodelist {\n\tnode {\n\t\tnodeid: 1\n\t}\n\tnode {\n\t\tnodeid: 2\n\t}\n}\n"
	if err := os.WriteFile(p, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// runReport runs every probe, logs the report, fails the test for each
// failed check and returns the report and its results by group/name.
func runReport(t *testing.T, env check.Env) (check.Report, map[string]check.Result) {
	t.Helper()
	rep := check.Run(context.Background(), env)
	var buf bytes.Buffer
	rep.WriteText(&buf)
	t.Logf("report:\n%s", buf.String())
	got := map[string]check.Result{}
	for _, r := range rep.Results {
		got[r.Group+"/"+r.Name] = r
		if r.Verdict == check.Fail {
			t.Errorf("%s/%s failed: %s", r.Group, r.Name, r.Measured)
		}
	}
	return rep, got
}

func TestIntegrationHWCheckOnRig(t *testing.T) {
	env, rp := rigEnv(t)
	// Disk Failover puts the test region's contents back: seed it with
	// data of our own and read the backing file after.
	seed := make([]byte, env.TestRegion.Len*512)
	for i := range seed {
		seed[i] = byte(i*7 + 3)
	}
	f, err := os.OpenFile(rp.Disk.BackingFile(), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(seed, int64(env.TestRegion.Start)*512); err != nil {
		t.Fatal(err)
	}
	rep, got := runReport(t, env)
	// The report to hand over renders in a browser with every test.
	page := filepath.Join(t.TempDir(), "hwcheck.html")
	var hb bytes.Buffer
	if err := rep.WriteHTML(&hb); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(page, hb.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	check.CheckPage(t, hb.String(), rep)
	check.CheckPage(t, check.RenderInChromium(t, page), rep)
	after := make([]byte, len(seed))
	if _, err := f.ReadAt(after, int64(env.TestRegion.Start)*512); err != nil || !bytes.Equal(after, seed) {
		t.Errorf("the test region was not restored (%v)", err)
	}
	must := map[string]check.Verdict{}
	for name, r := range got {
		must[name] = r.Verdict
	}
	for _, name := range []string{"serial/cable test", "nic/link and peer (this node)", "nic/link and peer (peer)", "pr/conflict from the peer", "pr/preempt (peer fences this node)", "pr/self-fence guard notices", "scsi2/live owner wins a challenge", "scsi2/LUN reset takeover of a dead owner", "latency/disk 0 latency (this node)", "latency/disk 0 latency (peer)",
		"arbitration/Disk Arbitration (SCSI-2)", "arbitration/Multiple Arbitration (SCSI-2)", "arbitration/Disk Arbitration (PR)", "arbitration/Multiple Arbitration (PR)", "arbitration/disk left as found (arbitration)",
		"scsi3/REPORT CAPABILITIES", "scsi3/keys that cannot collide", "scsi3/disk left as found (capabilities)",
		"failover/Disk Failover", "failover/disk left as found (failover)", "failover/Simultaneous Failover",
		"mpio/MPIO identity", "mpio/MPIO registration covers every path", "mpio/MPIO writes on each path", "mpio/MPIO fence removes the node from every path", "mpio/disk left as found (MPIO)",
		"timeouts/corosync token and consensus", "timeouts/serial deadtime vs corosync (node-a)", "timeouts/NIC detection vs corosync (node-b)"} {
		if must[name] != check.Pass {
			t.Errorf("%s: %q, want pass", name, must[name])
		}
	}
	// tgtd refuses PREEMPT AND ABORT (ILLEGAL REQUEST) and lacks APTPL: a
	// warning with the consequence, not a failure.
	for _, name := range []string{"scsi3/PREEMPT AND ABORT", "scsi3/APTPL (persist through power loss)"} {
		if r := got[name]; r.Verdict != check.Warn || r.Hint == "" {
			t.Errorf("%s: %+v, want a warning with its consequence", name, r)
		}
	}
	// Unpinned identity is a warning, not a pass.
	if must["disks/disk 0 identity"] != check.Warn {
		t.Errorf("disk identity: %q, want warn (not pinned)", must["disks/disk 0 identity"])
	}
	// A broken link makes the NIC check fail with the hint.
	if err := rp.Net.SetLink(context.Background(), rig.B, false); err != nil {
		t.Fatal(err)
	}
	res := check.HeartbeatNIC(context.Background(), env)
	if res[0].Verdict != check.Fail || res[0].Hint == "" {
		t.Errorf("NIC check with the link down: %+v", res[0])
	}
	if rep.ExitCode(false) != 0 {
		t.Errorf("exit code %d", rep.ExitCode(false))
	}
}

// Two LUNs of one target, one initiator name per node: every disk probe
// covers both (the agents share one session per target).
func TestIntegrationHWCheckTwoLUNs(t *testing.T) {
	env, _ := rigEnv(t, func(rp *rigpair.RigPair) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		u, err := rp.Disk.AddLUN(ctx, 2, 16<<20, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		rp.MoreDisks = []string{u}
	})
	_, got := runReport(t, env)
	for _, name := range []string{"disks/disk 0 identity", "disks/disk 1 identity"} {
		if got[name].Verdict != check.Warn {
			t.Errorf("%s: %+v, want warn (seen on both nodes, not pinned)", name, got[name])
		}
	}
	for _, name := range []string{"pr/register (both nodes)", "pr/reserve (this node)", "pr/reservation seen from the peer", "pr/preempt (peer fences this node)", "pr/unfence (this node registers again)", "pr/release"} {
		r := got[name]
		if r.Verdict != check.Pass || !strings.Contains(r.Measured, "/1:") || !strings.Contains(r.Measured, "/2:") {
			t.Errorf("%s: %+v, want pass naming both LUNs", name, r)
		}
	}
	for _, lun := range []string{"disk 0: ", "disk 1: "} {
		for _, name := range []string{"arbitration/" + lun + "Multiple Arbitration (PR)", "arbitration/" + lun + "Multiple Arbitration (SCSI-2)", "failover/" + lun + "Disk Failover", "scsi3/" + lun + "REPORT CAPABILITIES", "mpio/" + lun + "MPIO fence removes the node from every path"} {
			if r := got[name]; r.Verdict != check.Pass {
				t.Errorf("%s: %+v, want pass", name, r)
			}
		}
	}
	if r := got["failover/Simultaneous Failover"]; r.Verdict != check.Pass || !strings.Contains(r.Measured, "2 disk(s) at once") || !strings.Contains(r.Measured, "disk 1 ") {
		t.Errorf("simultaneous failover: %+v, want both disks at once with a time each", r)
	}
	for _, lun := range []string{"disk 0: ", "disk 1: "} {
		for _, name := range []string{"live owner wins a challenge", "LUN reset takeover of a dead owner", "release"} {
			if r := got["scsi2/"+lun+name]; r.Verdict != check.Pass {
				t.Errorf("scsi2/%s%s: %+v, want pass", lun, name, r)
			}
		}
	}
}

// With --long: LongRounds of each kind of arbitration and longLatencyReads
// per node; the time is logged (the figure hwcheck --long states).
func TestIntegrationHWCheckLongOnRig(t *testing.T) {
	env, _ := rigEnv(t)
	env.Long = true
	rep, got := runReport(t, env)
	t.Logf("hwcheck --long on the rig: %v", rep.Duration.Round(time.Millisecond))
	for name, want := range map[string]string{
		"arbitration/Multiple Arbitration (PR)":     fmt.Sprintf("%d rounds", 2*check.LongRounds),
		"arbitration/Multiple Arbitration (SCSI-2)": fmt.Sprintf("%d rounds", 2*check.LongRounds),
		"latency/disk 0 latency (this node)":        "1000 READs",
	} {
		if r := got[name]; r.Verdict != check.Pass || !strings.Contains(r.Measured, want) {
			t.Errorf("%s: %+v, want pass with %q", name, r, want)
		}
	}
}

// BenchmarkHWCheckRig measures hwcheck's total time on the rig (target
// under 10 s).
func BenchmarkHWCheckRig(b *testing.B) {
	env, _ := rigEnv(b)
	var total time.Duration
	for b.Loop() {
		rep := check.Run(context.Background(), env)
		total += rep.Duration
		if rep.Counts[check.Fail] > 0 {
			var buf bytes.Buffer
			rep.WriteText(&buf)
			b.Fatalf("failures:\n%s", buf.String())
		}
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/run")
}

// The PR matrix refuses to run while a node holds the shared disk: it
// would leave it released. It says so and changes nothing (holder, type
// and keys read back the same).
func TestIntegrationPRMatrixKeepsHolder(t *testing.T) {
	env, _ := rigEnv(t)
	ctx := context.Background()
	for _, c := range []check.Agent{env.Local, env.Peer} {
		if _, err := c.Action(ctx, "register"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := env.Local.Action(ctx, "acquire"); err != nil {
		t.Fatal(err)
	}
	before, err := env.Local.Disks(ctx)
	if err != nil || len(before) == 0 || !before[0].Owner {
		t.Fatalf("before: %+v, %v", before, err)
	}
	rs := check.PRMatrix(ctx, env)
	if len(rs) != 1 || rs[0].Verdict != check.Skip || !strings.Contains(rs[0].Measured, "held by this node") || !strings.Contains(rs[0].Measured, "changed nothing") {
		t.Fatalf("PR matrix with a held reservation: %+v, want one skip that says who holds it", rs)
	}
	// The other disk tests refuse too, naming the holder; the capability
	// lines that only read still run.
	for _, p := range []struct {
		name string
		run  func(context.Context, check.Env) []check.Result
		skip string
	}{{"arbitration", check.Arbitration, "Disk Arbitration"}, {"failover", check.Failover, "Disk Failover"}, {"mpio", check.MPIO, "MPIO"}, {"scsi3", check.PRCapabilities, "PREEMPT AND ABORT"}} {
		var found bool
		for _, r := range p.run(ctx, env) {
			if r.Verdict == check.Fail {
				t.Errorf("%s with a held reservation: %+v", p.name, r)
			}
			if r.Name == p.skip {
				found = r.Verdict == check.Skip && strings.Contains(r.Measured, "held by this node's agent") && strings.Contains(r.Measured, "changed nothing")
			}
		}
		if !found {
			t.Errorf("%s with a held reservation: no skip %q that says who holds it", p.name, p.skip)
		}
	}
	after, err := env.Local.Disks(ctx)
	if err != nil || len(after) == 0 {
		t.Fatal(err)
	}
	if after[0].Holder != before[0].Holder || after[0].Type != before[0].Type || strings.Join(after[0].Keys, " ") != strings.Join(before[0].Keys, " ") {
		t.Errorf("disk changed: before %+v, after %+v", before[0], after[0])
	}
}
