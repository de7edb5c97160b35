package main

import (
	"context"
	"encoding/xml"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/check"
	"github.com/hakit/hakit/internal/rig/pcmk"
	"github.com/hakit/hakit/internal/testutil"
)

// The tests below drive fence_hwagent through Pacemaker's real fencer on
// one two-node cluster, started once for this test binary (about 20 s) and
// removed by TestMain. TestIntegrationFencerKill powers a node off, so it
// runs last.

var shared struct {
	once sync.Once
	c    *pcmk.Cluster
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.c != nil {
		if err := shared.c.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "pcmk cluster close:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// cluster returns the shared cluster, starting it on first use. It skips
// (fails under CI) without root or Pacemaker.
func cluster(t *testing.T) *pcmk.Cluster {
	t.Helper()
	testutil.SkipUnlessRoot(t)
	testutil.SkipUnlessTools(t, append(pcmk.Tools, "go", "xmllint")...)
	shared.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		start := time.Now()
		shared.c, shared.err = pcmk.StartBuilt(ctx, pcmk.Config{Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
		t.Logf("pcmk cluster: both nodes online %v after start", time.Since(start).Round(time.Millisecond))
	})
	if shared.err != nil {
		t.Fatalf("pcmk cluster: %v", shared.err)
	}
	return shared.c
}

func TestIntegrationFencerValidate(t *testing.T) {
	c := cluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, n := range c.Nodes() {
		out, err := n.Run(ctx, "stonith_admin", "--validate", "--agent", "fence_hwagent", "--option", "config="+pcmk.HwagentConfig)
		if err != nil {
			t.Errorf("stonith_admin --validate on %s: %v", n.Name, err)
		}
		t.Logf("%s: %s", n.Name, strings.TrimSpace(out))
	}
	// hwcheck's fencing probe reads the cluster's stonith-timeout with the
	// real crm_attribute and judges both nodes' fence delays against it.
	a := c.Nodes()[0]
	var cfgs [2]*agent.Config
	for i, n := range c.Nodes() {
		var err error
		if cfgs[i], err = agent.LoadConfig(filepath.Join(n.Dir, "hwagent.yaml")); err != nil {
			t.Fatal(err)
		}
	}
	probe := func() []check.Result {
		return check.Fencing(ctx, check.Env{LocalConfig: cfgs[0], PeerConfig: cfgs[1], StonithTimeout: check.StonithTimeoutFrom(a.Command)})
	}
	for _, step := range []struct {
		set  string // stonith-timeout, "" = unset
		want check.Verdict
		says string
	}{
		{"", check.Pass, "Pacemaker's default stonith-timeout (the property is not set)"},
		{"20s", check.Fail, "limit 20s (the cluster's stonith-timeout)"},
		{"90s", check.Pass, "limit 1m30s (the cluster's stonith-timeout)"},
	} {
		if step.set != "" {
			if _, err := a.Run(ctx, "crm_attribute", "--type", "crm_config", "--name", "stonith-timeout", "--update", step.set); err != nil {
				t.Fatal(err)
			}
		}
		rs := probe()
		if len(rs) != 2 || rs[1].Verdict != step.want || !strings.Contains(rs[1].Measured, step.says) {
			t.Errorf("stonith-timeout %q: hwcheck's fencing probe says %+v: want node-b's delay %s, saying %q", step.set, rs, step.want, step.says)
		}
	}
	if _, err := a.Run(ctx, "crm_attribute", "--type", "crm_config", "--name", "stonith-timeout", "--delete"); err != nil {
		t.Fatal(err)
	}
	// A configuration that does not exist must fail validation.
	if _, err := c.Nodes()[0].Run(ctx, "stonith_admin", "--validate", "--agent", "fence_hwagent", "--option", "config=/nonexistent.yaml"); err == nil {
		t.Errorf("stonith_admin --validate with a missing config passed")
	}
}

func TestIntegrationFencerMetadata(t *testing.T) {
	c := cluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n := c.Nodes()[0]
	// The agent's own metadata, from where the fencer finds it
	// (/usr/sbin/fence_hwagent inside the node), validates as is.
	own, err := n.Run(ctx, "/usr/sbin/fence_hwagent", "-o", "metadata")
	if err != nil {
		t.Fatal(err)
	}
	xmllint(ctx, t, "fence_hwagent -o metadata", own)
	// The fencer appends start and stop actions with a timeout attribute,
	// which metadata.rng does not allow: it does so for every agent
	// (fence_scsi's fails the same way). Without those two, the fencer's
	// view validates too.
	out, err := n.Run(ctx, "stonith_admin", "--metadata", "--agent", "fence_hwagent")
	if err != nil {
		t.Fatal(err)
	}
	added := regexp.MustCompile(`(?m)^\s*<action name="(start|stop)" timeout="[^"]*"/>\n`)
	if got := len(added.FindAllString(out, -1)); got != 2 {
		t.Errorf("stonith_admin --metadata: %d start/stop actions with a timeout, want the 2 the fencer adds:\n%s", got, out)
	}
	xmllint(ctx, t, "stonith_admin --metadata", added.ReplaceAllString(out, ""))
	var md struct {
		Actions []struct {
			Name string `xml:"name,attr"`
		} `xml:"actions>action"`
	}
	if err := xml.Unmarshal([]byte(out), &md); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range md.Actions {
		names = append(names, a.Name)
	}
	if !slices.Contains(names, "off") || slices.Contains(names, "reboot") {
		t.Errorf("actions through the fencer: %v: want off, and no reboot", names)
	}
}

// xmllint validates doc against fence-agents' metadata.rng.
func xmllint(ctx context.Context, t *testing.T, what, doc string) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "metadata.xml")
	if err := os.WriteFile(f, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	rng := "/usr/share/cluster/relaxng/metadata.rng"
	if b, err := exec.CommandContext(ctx, "xmllint", "--noout", "--relaxng", rng, f).CombinedOutput(); err != nil {
		t.Errorf("%s: xmllint --relaxng %s: %v: %s\n%s", what, rng, err, b, doc)
	}
}

func TestIntegrationFencerKill(t *testing.T) {
	c := cluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	victim, survivor := pcmk.MustConfigureGroup(ctx, t, c)
	// Both nodes were unfenced by the fencer (fence_hwagent on, run on
	// each node): both keys are on the LUN.
	sc := agent.NewClient(filepath.Join(survivor.Dir, "hwagent.sock"))
	disks, err := sc.Disks(ctx)
	if err != nil || len(disks) != 1 || !disks[0].Registered || !disks[0].PeerRegistered || disks[0].Holder != disks[0].PeerKey {
		t.Fatalf("before the kill, %s's agent reads %+v, %v: want both keys registered (unfenced) and %s holding the disk (hakit-disk started there)", survivor.Name, disks, err, victim.Name)
	}
	victimKey := disks[0].PeerKey
	t.Logf("dummy runs on %s; keys %v; killing every process of %s", victim.Name, disks[0].Keys, victim.Name)

	kill := time.Now()
	if err := victim.Kill(); err != nil {
		t.Fatal(err)
	}
	// Fenced: the survivor's agent reads the victim's key gone from the
	// LUN, and Pacemaker no longer holds the victim unclean (it records a
	// node as clean only after a successful fence). The fencer's history
	// is no witness: Pacemaker 2.1.5 drops the events of a node that left
	// the membership, and --last has a one-second resolution.
	var goneAt, fencedAt, startedAt time.Duration
	var last pcmk.Status
	for fencedAt == 0 || startedAt == 0 {
		if ctx.Err() != nil || time.Since(kill) > 60*time.Second {
			t.Fatalf("after the kill: key gone after %v, fenced after %v, dummy started after %v (0 = not yet); last status %+v\n%s pacemaker.log: %s", goneAt, fencedAt, startedAt, last, survivor.Name, survivor.Tail("pacemaker.log"))
		}
		if goneAt == 0 {
			if d, err := sc.Disks(ctx); err == nil && len(d) == 1 && d[0].Error == "" && !d[0].PeerRegistered {
				goneAt = time.Since(kill)
			}
		}
		if s, err := survivor.Status(ctx); err == nil {
			last = s
			for _, n := range s.Nodes {
				if n.Name == victim.Name && !n.Online && !n.Unclean && goneAt != 0 && fencedAt == 0 {
					fencedAt = time.Since(kill)
				}
			}
			if startedAt == 0 && s.RunningOn("dummy") == survivor.Name && s.RunningOn("disk") == survivor.Name {
				startedAt = time.Since(kill)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("kill of %s: its key gone from the LUN after %v, fenced in Pacemaker's view after %v, disk and dummy started on %s after %v", victim.Name, goneAt.Round(time.Millisecond), fencedAt.Round(time.Millisecond), survivor.Name, startedAt.Round(time.Millisecond))
	// The fencer ran fence_hwagent for the victim and it succeeded.
	if log := survivor.Log("pacemaker.log"); !regexp.MustCompile(`Operation '(reboot|off)' targeting ` + victim.Name + ` by ` + survivor.Name + ` for .*: OK`).MatchString(log) {
		t.Errorf("%s's fencer log has no successful fence of %s", survivor.Name, victim.Name)
	}
	if out, err := survivor.Run(ctx, "stonith_admin", "--last", victim.Name); err != nil || !strings.Contains(out, "last fenced at") {
		t.Errorf("stonith_admin --last %s: %q, %v", victim.Name, out, err)
	}
	disks, err = sc.Disks(ctx)
	if err != nil || len(disks) != 1 {
		t.Fatalf("after the fence, %s's agent reads %+v, %v", survivor.Name, disks, err)
	}
	d := disks[0]
	if d.PeerRegistered || slices.Contains(d.Keys, victimKey) || !d.Registered || d.Holder != d.OwnKey {
		t.Errorf("after the fence: keys %v, holder %q, own registered %v: want %s's key %s gone, and ours registered and holding (hakit-disk started here)", d.Keys, d.Holder, d.Registered, victim.Name, victimKey)
	}
}
