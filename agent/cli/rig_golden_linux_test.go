//go:build linux

package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hakit/hakit/check"
	"github.com/hakit/hakit/internal/rig"
	"github.com/hakit/hakit/internal/rig/rigpair"
	"github.com/hakit/hakit/serialhb"
)

const (
	rigIQNA = "iqn.2026-11.io.hakit:node-a"
	rigIQNB = "iqn.2026-11.io.hakit:node-b"
)

// rigNormal is what changes from run to run in the commands' text on the
// rig, in the order it is replaced: the times, durations and counts that
// depend on the clock and the machine's load. The names of the rig's parts
// (folder, LUN, cable, namespaces, interfaces, addresses) are replaced
// first by rigRun.
var rigNormal = []struct{ re, to string }{
	{`\b([0-9a-f]{2}:){5}[0-9a-f]{2}\b`, "MAC"},
	{`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`, "TIME"},
	{`\b\d\d:\d\d:\d\d(\.\d+)?\b`, "CLOCK"},
	{`pid \d+, up [0-9a-z.µ]+`, "pid PID, up UPTIME"},
	{`events     \d+ so far`, "events     N so far"},
	{`\(index \d+,`, "(index N,"},
	// Whether this machine runs Pacemaker.
	{`\(the cluster's could not be read: .*\)\)`, "(the cluster's could not be read: REASON))"},
	// Durations (5ms, 1.234ms, 870µs, 2m3.5s, 0s) and rates.
	{`\b\d+(\.\d+)?(ns|µs|us|ms|s|m|h)(\d+(\.\d+)?(ns|µs|us|ms|s))*\b`, "DUR"},
	{`\b\d+(\.\d+)? ?(ns|µs|us|ms)\b`, "DUR"},
	{`/dev/pts/\d+`, "/dev/pts/N"},
	// hwcheck's latency verdict follows the machine's load (its figures
	// are DUR already): one verdict of the two, and the counts it moves.
	{`\[(PASS|WARN)\] (disk \d+ latency \(this node\) +.*)\n( +fix: reads above .*\n)?`, "[PASS or WARN, the load's] $2\n"},
	{`\d+ pass, \d+ warn, (\d+) fail, (\d+) skipped`, "N pass, N warn, $1 fail, $2 skipped"},
	{`\bincarnation \d+`, "incarnation N"},
}

// rigSubst replaces the rig's names and the measured numbers.
func rigSubst(s string, names [][2]string, numbers []*regexp.Regexp) string {
	for _, n := range names {
		if n[0] != "" {
			s = strings.ReplaceAll(s, n[0], n[1])
		}
	}
	for _, r := range rigNormal {
		s = regexp.MustCompile(r.re).ReplaceAllString(s, r.to)
	}
	// A table's padding follows the width of the names replaced.
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "CABLE") {
			lines[i] = regexp.MustCompile(`  +`).ReplaceAllString(l, "  ")
		}
	}
	s = strings.Join(lines, "\n")
	for _, re := range numbers {
		s = re.ReplaceAllStringFunc(s, func(m string) string {
			sub := re.FindStringSubmatchIndex(m)
			out, at := "", 0
			for g := 2; g+1 < len(sub); g += 2 {
				if sub[g] >= at {
					out += m[at:sub[g]] + "N"
					at = sub[g+1]
				}
			}
			return out + m[at:]
		})
	}
	return s
}

// rigNumbers are counts that depend on timing: the frames of a heartbeat
// so far, RTT samples, the PR generation after the agents' own
// registrations. Each regexp's top-level groups are replaced by N.
var rigNumbers = []*regexp.Regexp{
	regexp.MustCompile(`sent (\d+) received (\d+) gaps`),
	regexp.MustCompile(`unproven (\d+)`),
	regexp.MustCompile(`% \(\d+ of (\d+)\)`),
	regexp.MustCompile(`\((\d+) samples\)`),
	regexp.MustCompile(`generation=0x([0-9a-f]+)`),
}

// The text of each command an operator reads on a site visit, on the rig:
// the field commands on the devices themselves (hb status and cabletest
// on the pty cable with a peer on its other end, nic status in the veth
// pair's namespace, disk status and keys on the tgtd LUN, raid-tool
// validate on the pair's captures), then the agents' commands and hwcheck
// against both nodes' agents. Compared whole with testdata/rig.golden
// (go test -run TestIntegrationCommandTextGoldenOnRig -update
// rewrites it; review the diff); the rig's names and what depends on the
// clock are replaced (rigSubst).
func TestIntegrationCommandTextGoldenOnRig(t *testing.T) {
	rp := rigpair.RigPairFor(t, rigIQNA, rigIQNB)
	rp.RAIDTool = "ipssend"
	fx := "../../fixtures/raid/ipssend/synthetic__getconfig-1-AL-cluster-"
	rp.RAIDFiles = [2]string{fx + "A.txt", fx + "B.txt"}
	paths, cfgs, err := rp.Configs()
	if err != nil {
		t.Fatal(err)
	}
	keyFile := cfgs[0].Serial.KeyFile
	names := [][2]string{
		{rp.Disk.URL(), "DISK"},
		{rp.Disk.IQN(), "TARGET"},
		{rp.Disk.Serial(), "SERIAL"},
		{rp.Dir, "DIR"},
		{rp.Cable.Path(rig.A), "CABLE_A"},
		{rp.Cable.Path(rig.B), "CABLE_B"},
		{rp.Net.Namespace(rig.A), "NS_A"},
		{rp.Net.Namespace(rig.B), "NS_B"},
		{rp.Net.Interface(rig.A), "IF_A"},
		{rp.Net.Interface(rig.B), "IF_B"},
		{rp.Net.Addr(rig.A).Addr().String(), "ADDR_A"},
		{rp.Net.Addr(rig.B).Addr().String(), "ADDR_B"},
		{strconv.Itoa(rp.Disk.Port()), "PORT"},
	}
	var b strings.Builder
	ctx := context.Background()
	hwagent := func(args ...string) {
		t.Helper()
		var out, errOut bytes.Buffer
		err := Run(ctx, args, &out, &errOut)
		writeRun(&b, "hwagent", args, out.String(), errOut.String(), err, ExitCode(err))
	}

	// The field commands, before the agents hold the devices. B's end of
	// the cable answers as the agent would.
	peer, err := serialhb.NewRunner(serialhb.Config{Path: rp.Cable.Path(rig.B), Link: serialhb.LinkConfig{Cluster: 42, Node: 2, Key: mustRead(t, keyFile), Timers: serialhb.TimersMS(100, 0, 1000, 0)}})
	if err != nil {
		t.Fatal(err)
	}
	if err := peer.Start(ctx); err != nil {
		t.Fatal(err)
	}
	hb := []string{"--port", rp.Cable.Path(rig.A), "--key-file", keyFile, "--cluster", "42", "--node", "1", "--keepalive", "100", "--deadtime", "1000"}
	hwagent(append([]string{"hb", "status", "--wait", "3s"}, hb...)...)
	hwagent(append([]string{"hb", "cabletest", "--count", "20", "--interval", "5ms"}, hb...)...)
	peer.Stop(ctx)
	hwagent("nic", "status", rp.Net.Interface(rig.A), "--netns", rp.Net.Namespace(rig.A))
	hwagent("disk", "keys", rp.Disk.URL(), "--initiator", rigIQNA)
	hwagent("disk", "status", rp.Disk.URL(), "--initiator", rigIQNA, "--cluster", "42", "--node", "1")
	hwagent("raid-tool", "validate", "--file-a", fx+"A.txt", "--file-b", fx+"B.txt")

	// The agents' commands, on node A's agent.
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	p, err := rigpair.StartPair(sctx, rp, rig.TestLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	waitAlive(t, p)
	sock := p.Configs[0].API.Socket
	for _, args := range [][]string{
		{"status"}, {"disks"}, {"heartbeat"}, {"heartbeat", "-v"}, {"cabletest"}, {"nics"}, {"raid"},
		{"register"}, {"acquire"}, {"status"}, {"release"}, {"release"}, {"fence", "node-b"}, {"disks"},
	} {
		hwagent(append(args, "--socket", sock)...)
	}
	// B registers again (hwagent unfence on B) so hwcheck sees the pair
	// as it would be after a fence and a repair.
	hwagent("unfence", "--socket", p.Configs[1].API.Socket)

	// hwcheck's text report, without the tests that change reservations.
	cc := filepath.Join(rp.Dir, "corosync.conf")
	if err := os.WriteFile(cc, []byte("totem {\n\tversion: 2\n\tcluster_name: rig\n\ttoken: 3000\n}\nnodelist {\n\tnode {\n\t\tnodeid: 1\n\t}\n\tnode {\n\t\tnodeid: 2\n\t}\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	args := []string{"--config", paths[0], "--corosync-conf", cc}
	code := check.Main(ctx, args, &out, &errOut)
	writeRun(&b, "hwcheck", args, out.String(), errOut.String(), nil, code)

	got := rigSubst(b.String(), names, rigNumbers)
	compareGolden(t, "rig.golden", got)
}

func writeRun(b *strings.Builder, prog string, args []string, out, errOut string, err error, code int) {
	b.WriteString("$ " + prog + " " + strings.Join(args, " ") + "\n" + out)
	if errOut != "" {
		b.WriteString("[stderr] " + errOut)
	}
	if err != nil {
		b.WriteString("[error] " + err.Error() + "\n")
	}
	if code != 0 {
		b.WriteString("[exit " + strconv.Itoa(code) + "]\n")
	}
	b.WriteString("\n")
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// waitAlive waits until each agent has read its disks and heard the
// other on the cable at least twice (a silence between two frames
// measured), so the first status and hwcheck's serial checks have a
// figure to show.
func waitAlive(t *testing.T, p *rigpair.Pair) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, c := range p.Clients {
		for {
			st, err := c.Status(context.Background())
			hb, herr := c.Heartbeat(context.Background())
			if err == nil && herr == nil && len(st.Disks) > 0 && hb.State == serialhb.StateAlive && hb.MaxSilence > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("agents not ready: %+v %v %v", hb, err, herr)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}
