package lab

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hakit/hakit/internal/rig"
)

// Lab is a set of running nodes and the host-side parts wiring them. Its
// methods and its nodes' methods are safe for concurrent use.
type Lab struct {
	cfg   Config
	log   *slog.Logger
	dir   string
	disk  *rig.Disk
	nodes []*Node
}

// Node is one virtual machine. It can be powered off and on again; its
// wiring stays.
type Node struct {
	spec    NodeSpec
	log     *slog.Logger
	qemu    string
	timeout time.Duration

	mu      sync.Mutex // guards the fields below and serializes commands
	cmd     *exec.Cmd
	exited  chan struct{}
	qmp     *QMP
	conn    net.Conn
	reader  *bufio.Reader
	nextID  uint64
	bootDur time.Duration
}

// Result is the outcome of a command run on a node.
type Result struct {
	Stdout, Stderr string
	Code           int
}

// ErrNotReady is returned when a node does not reach its ready marker in
// time, or its QEMU exits first.
var ErrNotReady = errors.New("lab: node not ready")

// dirPrefix names the lab's temporary directories, followed by the pid.
const dirPrefix = "hakit-lab-"

// Start boots the lab's nodes (in parallel) and returns once every node is
// ready. On error everything started is stopped and removed.
func Start(ctx context.Context, cfg Config) (_ *Lab, err error) {
	if cfg.Parts == nil {
		return nil, fmt.Errorf("%w: lab.Config.Parts is nil (call lab.Prepare)", ErrMissing)
	}
	if cfg.Nodes == 0 {
		cfg.Nodes = 2
	}
	if cfg.Nodes < 1 || cfg.Nodes > 16 {
		return nil, fmt.Errorf("lab: %d nodes: want 1 to 16", cfg.Nodes)
	}
	if cfg.BootTimeout == 0 {
		cfg.BootTimeout = 120 * time.Second
	}
	sweepDirs()
	dir, err := os.MkdirTemp("", fmt.Sprintf("%s%d-", dirPrefix, os.Getpid()))
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	l := &Lab{cfg: cfg, log: logger(cfg.Logger), dir: dir}
	defer func() {
		if err != nil {
			l.Close()
		}
	}()
	names := make([]string, cfg.Nodes)
	initiators := make([]string, cfg.Nodes)
	for i := range names {
		names[i] = string(rune('a' + i))
		initiators[i] = "iqn.2026-11.io.hakit.lab:node-" + names[i]
	}
	if !cfg.NoDisk {
		if l.disk, err = rig.StartDisk(ctx, rig.DiskConfig{Initiators: initiators, Logger: cfg.Logger}); err != nil {
			return nil, err
		}
	}
	specs := make([]NodeSpec, cfg.Nodes)
	for i := range specs {
		specs[i] = NodeSpec{Name: names[i], Kernel: cfg.Parts.Kernel, Initrd: cfg.Parts.Initramfs, Dir: dir, MemoryMiB: cfg.MemoryMiB, Disks: cfg.Disks}
		if cfg.Forward != nil {
			specs[i].Forward, specs[i].Addr = cfg.Forward, ForwardAddr
		}
		if l.disk != nil {
			specs[i].Disk = &DiskEnd{Portal: l.disk.Addr(), TargetIQN: l.disk.IQN(), LUN: rig.DiskLUN, Initiator: initiators[i]}
		}
	}
	if cfg.Forward != nil && cfg.Nodes > 1 {
		return nil, fmt.Errorf("lab: Forward takes eth0 and needs Nodes 1, not %d", cfg.Nodes)
	}
	for i := 0; i+1 < cfg.Nodes; i += 2 {
		sp, err := freePort("tcp")
		if err != nil {
			return nil, err
		}
		up1, err := freePort("udp")
		if err != nil {
			return nil, err
		}
		up2, err := freePort("udp")
		if err != nil {
			return nil, err
		}
		specs[i].Addr, specs[i+1].Addr = fmt.Sprintf("10.99.%d.1/24", i/2), fmt.Sprintf("10.99.%d.2/24", i/2)
		specs[i].Serial = &SerialEnd{Port: sp, Server: true}
		specs[i+1].Serial = &SerialEnd{Port: sp}
		specs[i].Net = &NetEnd{LocalPort: up1, RemotePort: up2, Model: cfg.NIC, MAC: fmt.Sprintf("52:54:00:99:%02x:01", i/2)}
		specs[i+1].Net = &NetEnd{LocalPort: up2, RemotePort: up1, Model: cfg.NIC, MAC: fmt.Sprintf("52:54:00:99:%02x:02", i/2)}
	}
	for _, s := range specs {
		l.nodes = append(l.nodes, &Node{spec: s, log: l.log.With("node", s.Name), qemu: cfg.Parts.QEMU, timeout: cfg.BootTimeout})
	}
	errs := make([]error, len(l.nodes))
	var wg sync.WaitGroup
	for i, n := range l.nodes {
		wg.Go(func() { errs[i] = n.PowerOn(ctx) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return l, nil
}

// Nodes returns the nodes in order (a, b, ...).
func (l *Lab) Nodes() []*Node { return append([]*Node(nil), l.nodes...) }

// Node returns node i (0 is a).
func (l *Lab) Node(i int) *Node { return l.nodes[i] }

// Disk is the shared disk's tgtd, or nil.
func (l *Lab) Disk() *rig.Disk { return l.disk }

// Close powers every node off, stops tgtd and removes the lab's files.
func (l *Lab) Close() error {
	var errs []error
	for _, n := range l.nodes {
		n.kill()
	}
	if l.disk != nil {
		errs = append(errs, l.disk.Close())
	}
	errs = append(errs, os.RemoveAll(l.dir))
	return errors.Join(errs...)
}

// sweepDirs removes lab directories left by processes that no longer run.
func sweepDirs() {
	old, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, d := range old {
		rest := strings.TrimPrefix(filepath.Base(d), dirPrefix)
		pidStr, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid <= 0 {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			os.RemoveAll(d)
		}
	}
}

func freePort(network string) (int, error) {
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("lab: free udp port: %w", err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port, nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("lab: free tcp port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Name is the node's name ("a", "b", ...).
func (n *Node) Name() string { return n.spec.Name }

// Spec is the node's wiring.
func (n *Node) Spec() NodeSpec { return n.spec }

// BootTime is how long the last boot took to the ready marker.
func (n *Node) BootTime() time.Duration {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.bootDur
}

// Console returns the node's console output so far.
func (n *Node) Console() string {
	b, _ := os.ReadFile(n.spec.ConsolePath())
	return string(b)
}

// Running reports whether the node's QEMU runs.
func (n *Node) Running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.running()
}

func (n *Node) running() bool {
	if n.cmd == nil {
		return false
	}
	select {
	case <-n.exited:
		return false
	default:
		return true
	}
}

// PowerOn starts the node's QEMU and waits for the ready marker; a node that
// does not get there within the boot bound is killed and the error carries
// its console log.
func (n *Node) PowerOn(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.running() {
		return fmt.Errorf("lab: node %s is already on", n.spec.Name)
	}
	args, err := n.spec.Args()
	if err != nil {
		return err
	}
	console, err := os.Create(n.spec.ConsolePath())
	if err != nil {
		return fmt.Errorf("lab: console log: %w", err)
	}
	defer console.Close()
	cmd := exec.Command(n.qemu, args...)
	cmd.Stdout, cmd.Stderr = console, console
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("lab: start %s: %w", n.qemu, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	n.cmd, n.exited = cmd, exited
	n.log.Info("lab: node started", "pid", cmd.Process.Pid)
	bctx, cancel := context.WithTimeout(ctx, n.timeout)
	defer cancel()
	fail := func(err error) error {
		n.killLocked()
		return fmt.Errorf("lab: node %s: %w\n--- console of %s ---\n%s", n.spec.Name, err, n.spec.Name, lastLines(n.Console(), 40))
	}
	for !strings.Contains(n.Console(), ReadyMarker) {
		select {
		case <-exited:
			return fail(fmt.Errorf("%w: QEMU exited (%v) before the ready marker", ErrNotReady, cmd.ProcessState))
		case <-bctx.Done():
			return fail(fmt.Errorf("%w: no ready marker within %v", ErrNotReady, n.timeout))
		case <-time.After(50 * time.Millisecond):
		}
	}
	n.bootDur = time.Since(start)
	if n.qmp, err = DialQMP(bctx, n.spec.QMPPath()); err != nil {
		return fail(err)
	}
	var d net.Dialer
	if n.conn, err = d.DialContext(bctx, "unix", n.spec.CommandPath()); err != nil {
		return fail(fmt.Errorf("command channel: %w", err))
	}
	n.reader = bufio.NewReaderSize(n.conn, 64<<10)
	n.log.Info("lab: node ready", "boot", n.bootDur.Round(time.Millisecond))
	return nil
}

// PowerOff pulls the node's power: QEMU quits at once (no guest shutdown).
func (n *Node) PowerOff(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.running() {
		return nil
	}
	if n.qmp != nil {
		_, _ = n.qmp.Execute(ctx, "quit", nil)
	}
	select {
	case <-n.exited:
	case <-time.After(5 * time.Second):
	case <-ctx.Done():
	}
	n.killLocked()
	return nil
}

func (n *Node) kill() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.killLocked()
}

func (n *Node) killLocked() {
	if n.qmp != nil {
		n.qmp.Close()
		n.qmp = nil
	}
	if n.conn != nil {
		n.conn.Close()
		n.conn, n.reader = nil, nil
	}
	if n.cmd != nil {
		_ = syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
		<-n.exited
		n.cmd = nil
	}
	os.Remove(n.spec.QMPPath())
	os.Remove(n.spec.CommandPath())
}

func (n *Node) qmpExec(ctx context.Context, what string, execute string, args any) error {
	n.mu.Lock()
	q := n.qmp
	n.mu.Unlock()
	if q == nil {
		return fmt.Errorf("lab: node %s is off", n.spec.Name)
	}
	if _, err := q.Execute(ctx, execute, args); err != nil {
		return fmt.Errorf("lab: node %s: %s: %w", n.spec.Name, what, err)
	}
	n.log.Info("lab: "+what, "qmp", execute)
	return nil
}

// SetCable plugs (true) or pulls (false) this node's end of the serial
// cable: its chardev is switched to the null backend and back.
func (n *Node) SetCable(ctx context.Context, plugged bool) error {
	e := n.spec.Serial
	if e == nil {
		return fmt.Errorf("lab: node %s has no serial cable", n.spec.Name)
	}
	return n.qmpExec(ctx, fmt.Sprintf("cable plugged=%v", plugged), "chardev-change", chardevChangeArgs(serialID, plugged, e.Server, "127.0.0.1", e.Port))
}

// SetLink sets this node's end of the heartbeat link up or down (carrier).
func (n *Node) SetLink(ctx context.Context, up bool) error {
	return n.qmpExec(ctx, fmt.Sprintf("link up=%v", up), "set_link", setLinkArgs(nicID, up))
}

// Freeze stops the node's vCPU (a hung node); Thaw resumes it.
func (n *Node) Freeze(ctx context.Context) error { return n.qmpExec(ctx, "freeze", "stop", nil) }

// Thaw resumes a frozen node.
func (n *Node) Thaw(ctx context.Context) error { return n.qmpExec(ctx, "thaw", "cont", nil) }

// Run runs argv on the node and waits for it; ctx's deadline (or 60 s)
// bounds it. A non-zero exit code is not an error.
func (n *Node) Run(ctx context.Context, argv ...string) (Result, error) {
	return n.RunInput(ctx, nil, argv...)
}

// RunInput is Run with stdin fed to the command (as Pacemaker feeds a
// fence agent its options).
func (n *Node) RunInput(ctx context.Context, stdin []byte, argv ...string) (Result, error) {
	timeout := time.Minute
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	resp, err := n.call(ctx, Request{Argv: argv, TimeoutMS: timeout.Milliseconds(), Stdin: stdin})
	if err != nil {
		return Result{}, err
	}
	if resp.Err != "" {
		return Result{Stdout: string(resp.Stdout), Stderr: string(resp.Stderr), Code: resp.Code}, fmt.Errorf("lab: node %s: %s: %s", n.spec.Name, strings.Join(argv, " "), resp.Err)
	}
	return Result{Stdout: string(resp.Stdout), Stderr: string(resp.Stderr), Code: resp.Code}, nil
}

// StartBackground starts argv on the node without waiting; its output goes
// to the guest file log. It returns the guest pid.
func (n *Node) StartBackground(ctx context.Context, log string, argv ...string) (int, error) {
	resp, err := n.call(ctx, Request{Argv: argv, Background: true, Log: log})
	if err != nil {
		return 0, err
	}
	if resp.Err != "" {
		return 0, fmt.Errorf("lab: node %s: %s: %s", n.spec.Name, strings.Join(argv, " "), resp.Err)
	}
	return resp.PID, nil
}

func (n *Node) call(ctx context.Context, req Request) (Response, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.conn == nil {
		return Response{}, fmt.Errorf("lab: node %s is off", n.spec.Name)
	}
	n.nextID++
	req.ID = n.nextID
	b, err := EncodeRequest(req)
	if err != nil {
		return Response{}, err
	}
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(time.Duration(req.TimeoutMS)*time.Millisecond + 10*time.Second)
	} else {
		dl = dl.Add(5 * time.Second) // the guest times the command out first
	}
	if err := n.conn.SetDeadline(dl); err != nil {
		return Response{}, err
	}
	if _, err := n.conn.Write(b); err != nil {
		return Response{}, fmt.Errorf("lab: node %s: send: %w", n.spec.Name, err)
	}
	for {
		line, err := n.reader.ReadBytes('\n')
		if err != nil {
			return Response{}, fmt.Errorf("lab: node %s: %s: %w", n.spec.Name, strings.Join(req.Argv, " "), err)
		}
		resp, err := DecodeResponse(line)
		if err != nil {
			return Response{}, err
		}
		if resp.ID == req.ID {
			return resp, nil
		}
		// A late answer to a request that timed out: skip it.
	}
}
