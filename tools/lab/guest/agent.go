package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/agent/cli"
	"github.com/hakit/hakit/agent/fence"
	"github.com/hakit/hakit/agent/hw"
	"github.com/hakit/hakit/check"
)

// hwagent runs the hwagent command line with its exit codes (2 for usage).
func hwagent(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	err := cli.Run(ctx, args, stdout, stderr)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return nil
	case errors.Is(err, cli.ErrUsage):
		return &exitError{2, err}
	}
	return err
}

// fenceAgent is fence_hwagent: options on stdin when args are empty, the
// fence-agent API's exit codes.
func fenceAgent(stdin io.Reader) tool {
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		direct := func(cfg *agent.Config) (fence.Backend, func() error, error) {
			d, err := hw.NewDirect(cfg, nil)
			if err != nil {
				return nil, nil, err
			}
			return d, d.Close, nil
		}
		if code := fence.Run(ctx, args, stdin, stdout, stderr, fence.Deps{Direct: direct}); code != fence.ExitOK {
			return &exitError{code, fmt.Errorf("fence_hwagent exit %d", code)}
		}
		return nil
	}
}

// hwcheck runs hwcheck with its exit codes.
func hwcheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if code := check.Main(ctx, args, stdout, stderr); code != 0 {
		return &exitError{code, fmt.Errorf("hwcheck exit %d", code)}
	}
	return nil
}

// put writes stdin to a file: hakit put PATH [MODE] (octal, default 0644);
// the directory is created.
func put(stdin io.Reader) tool {
	return func(_ context.Context, args []string, _, _ io.Writer) error {
		if len(args) < 1 || len(args) > 2 {
			return &exitError{2, errors.New("usage: hakit put PATH [MODE] < DATA")}
		}
		mode := uint64(0o644)
		if len(args) == 2 {
			m, err := strconv.ParseUint(args[1], 8, 32)
			if err != nil {
				return &exitError{2, fmt.Errorf("mode %q: %w", args[1], err)}
			}
			mode = m
		}
		b, err := io.ReadAll(stdin)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(args[0]), 0o755); err != nil {
			return err
		}
		return os.WriteFile(args[0], b, os.FileMode(mode))
	}
}
