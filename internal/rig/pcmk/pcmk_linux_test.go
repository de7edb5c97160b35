package pcmk

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hakit/hakit/internal/testutil"
)

func TestIntegrationCluster(t *testing.T) {
	testutil.SkipUnlessRoot(t)
	testutil.SkipUnlessTools(t, append(Tools, "go")...)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	c, err := StartBuilt(ctx, Config{Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cluster online %v after start", time.Since(start).Round(time.Millisecond))
	dir := c.Dir()
	var inits []int
	for _, n := range c.Nodes() {
		inits = append(inits, n.init)
	}
	a := c.Nodes()[0]
	if out, err := a.Run(ctx, "hostname"); err != nil || strings.TrimSpace(out) != "node-a" {
		t.Errorf("hostname in node-a: %q, %v", out, err)
	}
	if out, err := a.Run(ctx, "sh", "-c", "ls /usr/sbin/fence_hwagent && fence_hwagent -o metadata | head -3"); err != nil {
		t.Errorf("fence_hwagent in node-a: %q, %v", out, err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("%s left behind", dir)
	}
	for _, ns := range []string{c.sw, a.netns, c.Nodes()[1].netns} {
		if _, err := os.Stat("/run/netns/" + ns); err == nil {
			t.Errorf("namespace %s left behind", ns)
		}
	}
	for _, pid := range inits {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			t.Errorf("node init %d left behind", pid)
		}
	}
}
