package raidctl

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// Source reads one node's RAID configuration: a live controller through its
// vendor CLI, Linux md through sysfs, or a saved capture.
type Source interface {
	Read(ctx context.Context) (*System, error)
}

// Runner runs external commands. ExecRunner is the real one; raidctltest
// has a scripted double.
type Runner interface {
	// LookPath resolves a binary name as exec.LookPath does.
	LookPath(name string) (string, error)
	// Run runs path with args until it exits or ctx is done, and returns
	// its stdout and stderr. A non-zero exit is an *exec.ExitError.
	Run(ctx context.Context, path string, args ...string) (stdout, stderr []byte, err error)
}

// ExecRunner runs commands with os/exec. It is safe for concurrent use.
type ExecRunner struct{}

// LookPath implements Runner.
func (ExecRunner) LookPath(name string) (string, error) { return exec.LookPath(name) }

// Run implements Runner. When ctx ends the process is killed, and pipes
// still held open by its children are abandoned after a second.
func (ExecRunner) Run(ctx context.Context, path string, args ...string) ([]byte, []byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	return stdout.Bytes(), stderr.Bytes(), err
}

// CommandError is a vendor CLI run that failed: it exited non-zero without
// output the parser accepts, or it timed out. Stderr is kept.
type CommandError struct {
	Tool     Tool
	Path     string
	Args     []string
	ExitCode int // -1 when the process did not exit normally
	Stderr   string
	Err      error
}

func (e *CommandError) Error() string {
	msg := fmt.Sprintf("%s: %s %s: %v", e.Tool, e.Path, strings.Join(e.Args, " "), e.Err)
	if s := strings.TrimSpace(e.Stderr); s != "" {
		msg += ": stderr: " + clip(s, 300)
	}
	return msg
}

// Unwrap returns the cause.
func (e *CommandError) Unwrap() error { return e.Err }

// Binaries lists the executable names tried for tool, in order.
func Binaries(tool Tool) []string {
	if tool == ToolStorcliText {
		tool = ToolStorcli // the same binaries print both forms
	}
	s, _ := spec(tool)
	return slices.Clone(s.binaries)
}

// ExecConfig configures an Exec source.
type ExecConfig struct {
	// Tool is the vendor CLI to run: a tool of the tool table with
	// binaries (the error of NewExec for another lists them). Required.
	Tool Tool
	// Binary overrides the executable (name or path). Empty: the first of
	// Binaries(Tool) found on PATH.
	Binary string
	// Controller is the controller number for the tools whose command
	// names one: arcconf and ipssend (default "1"), sas2ircu (default "0",
	// it numbers controllers from 0). storcli and MegaCLI always read all
	// controllers.
	Controller string
	// Timeout bounds each command (default 60s); a ctx deadline that comes
	// sooner wins.
	Timeout time.Duration
	// Runner runs the commands (nil: ExecRunner).
	Runner Runner
	// ProcFS is where mdadm's list of arrays is read from: an fs.FS rooted
	// at /proc (nil: os.DirFS("/proc")).
	ProcFS fs.FS
	// Logger receives debug lines for each command (nil: discard).
	Logger *slog.Logger
}

// Exec reads a live controller through its vendor CLI. It holds no state
// between calls and is safe for concurrent use if its Runner is.
type Exec struct {
	cfg ExecConfig
}

// NewExec validates cfg and returns a Source. It does not look for the
// binary yet: Read does, and reports a *NotInstalledError.
func NewExec(cfg ExecConfig) (*Exec, error) {
	switch {
	case cfg.Tool == "":
		return nil, errors.New("raidctl: ExecConfig.Tool is required")
	case !slices.Contains(liveTools(), cfg.Tool):
		return nil, fmt.Errorf("raidctl: cannot run %q live (use one of %v; %s is read from a file or sysfs)", cfg.Tool, liveTools(), cfg.Tool)
	}
	if cfg.Controller == "" {
		s, _ := spec(cfg.Tool)
		cfg.Controller = cmp.Or(s.controller, "1")
	}
	if strings.ContainsAny(cfg.Controller, " \t/") {
		return nil, fmt.Errorf("raidctl: bad controller number %q", cfg.Controller)
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("raidctl: negative timeout %v", cfg.Timeout)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 60 * time.Second
	}
	if cfg.Runner == nil {
		cfg.Runner = ExecRunner{}
	}
	if cfg.ProcFS == nil {
		cfg.ProcFS = os.DirFS("/proc")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Exec{cfg: cfg}, nil
}

// lookup finds the binary to run.
func (e *Exec) lookup() (string, error) {
	names := Binaries(e.cfg.Tool)
	if e.cfg.Binary != "" {
		names = []string{e.cfg.Binary}
	}
	for _, n := range names {
		if p, err := e.cfg.Runner.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", &NotInstalledError{Tool: e.cfg.Tool, Binaries: names}
}

// run runs one command under the configured timeout. accept says whether
// output from a non-zero exit is still usable (MegaCLI and old ipssend exit
// non-zero on success).
func (e *Exec) run(ctx context.Context, path string, accept func(out []byte) bool, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()
	start := time.Now()
	out, stderr, err := e.cfg.Runner.Run(ctx, path, args...)
	e.cfg.Logger.Debug("raidctl: ran vendor CLI", "tool", e.cfg.Tool, "path", path, "args", args,
		"bytes", len(out), "stderr_bytes", len(stderr), "took", time.Since(start), "err", err)
	if ctxErr := ctx.Err(); ctxErr != nil {
		return nil, &CommandError{Tool: e.cfg.Tool, Path: path, Args: args, ExitCode: -1, Stderr: string(stderr),
			Err: fmt.Errorf("%w: %w", os.ErrDeadlineExceeded, ctxErr)}
	}
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && accept != nil && accept(out) {
			e.cfg.Logger.Debug("raidctl: non-zero exit with usable output", "tool", e.cfg.Tool, "exit", ee.ExitCode())
			return out, nil
		}
		code := -1
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		}
		return nil, &CommandError{Tool: e.cfg.Tool, Path: path, Args: args, ExitCode: code, Stderr: string(stderr), Err: err}
	}
	return out, nil
}

// Read runs the tool and parses its output: the commands of the tool's
// table row, in order, or its own reader.
func (e *Exec) Read(ctx context.Context) (*System, error) {
	path, err := e.lookup()
	if err != nil {
		return nil, err
	}
	s, _ := spec(e.cfg.Tool)
	if s.read != nil {
		return s.read(e, ctx, path)
	}
	var all []byte
	for _, args := range s.commands {
		args = slices.Clone(args)
		for i, a := range args {
			if a == "<ctrl>" {
				args[i] = e.cfg.Controller
			}
		}
		out, err := e.run(ctx, path, s.accept, args...)
		if err != nil {
			return nil, err
		}
		if len(s.commands) == 1 {
			all = out
			break
		}
		all = append(append(all, out...), '\n')
	}
	sys, err := s.parse(all)
	if err == nil && s.idFromController {
		for i := range sys.Controllers {
			sys.Controllers[i].ID = e.cfg.Controller
		}
	}
	return sys, err
}

// readMdadm runs mdadm --detail on every array /proc/mdstat lists.
func (e *Exec) readMdadm(ctx context.Context, path string) (*System, error) {
	stat, err := fs.ReadFile(e.cfg.ProcFS, "mdstat")
	if err != nil {
		return nil, fmt.Errorf("mdadm: reading the array list: %w", err)
	}
	sys, err := ParseMdstat(stat)
	if err != nil {
		return nil, err
	}
	args := []string{"--detail"}
	for _, ld := range sys.Controllers[0].LogicalDrives {
		args = append(args, "/dev/"+ld.ID)
	}
	if len(args) == 1 {
		return sys, nil // no arrays: the mdstat model says so
	}
	out, err := e.run(ctx, path, nil, args...)
	if err != nil {
		return nil, err
	}
	return ParseMdadmDetail(out)
}

func lastLine(b []byte) []byte {
	b = bytes.TrimRight(b, "\r\n\t ")
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		return b[i+1:]
	}
	return b
}

// File reads a saved capture, e.g. one sent from site.
type File struct {
	// Path of the capture.
	Path string
	// Tool that printed it; empty means Detect it from the content.
	Tool Tool
}

// Read implements Source. ctx is not used: reading a local file does not
// block on a device.
func (f File) Read(ctx context.Context) (*System, error) {
	data, err := os.ReadFile(f.Path)
	if err != nil {
		return nil, err
	}
	tool := f.Tool
	if tool == "" {
		var ok bool
		if tool, ok = Detect(data); !ok {
			return nil, fmt.Errorf("%s: cannot tell which tool printed this file; name it (one of %v)", f.Path, parsers())
		}
	}
	sys, err := Parse(tool, data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Path, err)
	}
	return sys, nil
}
