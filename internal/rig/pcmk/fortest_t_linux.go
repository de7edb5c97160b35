package pcmk

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hakit/hakit/internal/testutil"
)

// ForTest starts a cluster for one test (StartBuilt) and removes it when
// the test ends; when the test failed it first logs each node's agent
// log and the fencer's and resource agents' lines of its Pacemaker log.
// It skips (fails under CI) without root or the cluster's tools.
func ForTest(t *testing.T, cfg Config) *Cluster {
	t.Helper()
	testutil.SkipUnlessRoot(t)
	testutil.SkipUnlessTools(t, append(Tools, "go")...)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	start := time.Now()
	c, err := StartBuilt(ctx, cfg)
	if err != nil {
		t.Fatalf("pcmk cluster: %v", err)
	}
	t.Logf("pcmk cluster: %d nodes online %v after start", len(c.nodes), time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() {
		if t.Failed() {
			for _, n := range c.Nodes() {
				t.Logf("%s hwagent.log: %s\npacemaker.log: %s", n.Name, n.Tail("hwagent.log"), GrepAgents(n.Log("pacemaker.log")))
			}
		}
		if err := c.Close(); err != nil {
			t.Errorf("pcmk cluster close: %v", err)
		}
	})
	return c
}

// GrepAgents returns the fencer's and the resource agents' lines of a
// Pacemaker log, the last 40.
func GrepAgents(log string) string {
	var keep []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "fence") || strings.Contains(l, "Operation") || strings.Contains(l, "hakit-") || strings.Contains(l, "disk_") || strings.Contains(l, "health") {
			keep = append(keep, l)
		}
	}
	if len(keep) > 40 {
		keep = keep[len(keep)-40:]
	}
	return strings.Join(keep, "\n")
}

// Eventually polls ok every 100 ms until it returns true and returns how
// long that took; after timeout it fails the test naming what.
func Eventually(ctx context.Context, t *testing.T, timeout time.Duration, what string, ok func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !ok() {
		if ctx.Err() != nil || time.Since(start) > timeout {
			t.Fatalf("%s: not after %v", what, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return time.Since(start)
}

// MustConfigureGroup is ConfigureGroup that fails the test on error.
func MustConfigureGroup(ctx context.Context, t *testing.T, c *Cluster, extra ...string) (holder, other *Node) {
	t.Helper()
	holder, other, err := c.ConfigureGroup(ctx, extra...)
	if err != nil {
		t.Fatal(err)
	}
	return holder, other
}
