package pcmk

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/hakit/hakit/internal/rig"
)

// Build compiles hwagent, fence_hwagent, the OCF agents hakit-disk and
// hakit-health and the acceptance tests' data service (recordsvc, left in
// dir for Config.Recordsvc) into dir and returns their paths (for Config).
func Build(ctx context.Context, dir string) (hwagent, fenceAgent string, ocfAgents []string, err error) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		return "", "", nil, fmt.Errorf("pcmk: go is not on PATH (make adds /usr/local/go/bin): %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, gobin, "build", "-o", dir+"/", "github.com/hakit/hakit/cmd/hwagent", "github.com/hakit/hakit/cmd/fence_hwagent", "github.com/hakit/hakit/cmd/hakit-disk", "github.com/hakit/hakit/cmd/hakit-health", "github.com/hakit/hakit/tools/recordsvc")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", "", nil, fmt.Errorf("pcmk: go build: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return filepath.Join(dir, "hwagent"), filepath.Join(dir, "fence_hwagent"), []string{filepath.Join(dir, "hakit-disk"), filepath.Join(dir, "hakit-health")}, nil
}

// StartBuilt builds the binaries (hakit-disk and hakit-health installed as
// ocf:hakit:hakit-disk and ocf:hakit:hakit-health) into a temporary folder, starts the
// cluster and waits until every node is online; the folder is removed
// before it returns.
func StartBuilt(ctx context.Context, cfg Config) (*Cluster, error) {
	dir, err := os.MkdirTemp("", rig.NewName("bin")+"-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if cfg.Hwagent, cfg.FenceAgent, cfg.OCFAgents, err = Build(ctx, dir); err != nil {
		return nil, err
	}
	if cfg.Public && cfg.Recordsvc == "" {
		cfg.Recordsvc = filepath.Join(dir, "recordsvc")
	}
	c, err := Start(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := c.WaitOnline(ctx, c.nodes[0], 90*time.Second); err != nil {
		err = fmt.Errorf("%w\nnode-a pacemaker.log: %s", err, c.nodes[0].Tail("pacemaker.log"))
		_ = c.Close()
		return nil, err
	}
	return c, nil
}
