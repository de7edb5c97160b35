//go:build !linux

package pcmk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
)

// Config describes the cluster.
type Config struct {
	Hwagent, FenceAgent string
	Nodes               int
	Logger              *slog.Logger
}

// Cluster is a running cluster (Linux only).
type Cluster struct{}

// Start fails: the cluster needs Linux namespaces.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	return nil, fmt.Errorf("pcmk: a Pacemaker cluster in namespaces needs Linux, not %s/%s: %w", runtime.GOOS, runtime.GOARCH, errors.ErrUnsupported)
}

// Close does nothing.
func (c *Cluster) Close() error { return nil }
