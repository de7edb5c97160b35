package rig

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DiskConfig describes the shared disk. The zero value is a 64 MiB LUN open to
// every initiator.
type DiskConfig struct {
	// Size of the sparse backing file in bytes; 0 means 64 MiB.
	Size int64
	// TargetIQN is the target's name; empty means a unique rig name.
	TargetIQN string
	// Initiators are the initiator names allowed to log in (one ACL each);
	// empty means any initiator.
	Initiators []string
	// Namespace is the network namespace (a name under /run/netns) tgtd
	// runs in; empty means this process's. Host is the portal address
	// there; empty means 127.0.0.1.
	Namespace string
	Host      string
	// Logger receives tgtd's start and stop; nil discards.
	Logger *slog.Logger
}

// Disk is a running tgtd serving one file-backed LUN (LUN 1) on 127.0.0.1.
// Its methods are safe for concurrent use.
type Disk struct {
	cfg  DiskConfig
	log  *slog.Logger
	dir  string
	img  string
	sock string
	port int
	// serial is the LUN's unit serial number (VPD 0x80), unique per disk.
	serial string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	werr error
}

// DiskLUN is the logical unit number of the shared LUN.
const DiskLUN = 1

// StartDisk creates the backing file and starts tgtd with its own control
// socket on a free loopback port.
func StartDisk(ctx context.Context, cfg DiskConfig) (*Disk, error) {
	for _, tool := range []string{"tgtd", "tgtadm"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("rig: disk needs %s (Debian package tgt; make deps installs it): %w", tool, err)
		}
	}
	sweep()
	if cfg.Size == 0 {
		cfg.Size = 64 << 20
	}
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	if _, err := netip.ParseAddr(cfg.Host); err != nil {
		return nil, fmt.Errorf("rig: disk host %q: want an IP address", cfg.Host)
	}
	if cfg.Size < 1<<20 || cfg.Size%512 != 0 {
		return nil, fmt.Errorf("rig: disk size %d: want a multiple of 512 bytes, at least 1 MiB", cfg.Size)
	}
	pid, n := newID()
	if cfg.TargetIQN == "" {
		cfg.TargetIQN = fmt.Sprintf("iqn.2026-11.io.hakit.rig:disk-%d-%d", pid, n)
	}
	dir, err := os.MkdirTemp("", fmt.Sprintf("%s-%d-%d-disk-", namePrefix, pid, n))
	if err != nil {
		return nil, fmt.Errorf("rig: disk directory: %w", err)
	}
	d := &Disk{cfg: cfg, log: logger(cfg.Logger), dir: dir, serial: fmt.Sprintf("HAKIT%05d%04d", pid%100000, n%10000), img: filepath.Join(dir, "disk.img"), sock: filepath.Join(dir, "ctl")}
	f, err := os.Create(d.img)
	if err == nil {
		err = f.Truncate(cfg.Size)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("rig: backing file: %w", err)
	}
	if err := d.start(ctx, 0); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return d, nil
}

// Addr is the target portal, "host:port" (127.0.0.1 unless DiskConfig.Host
// says otherwise).
func (d *Disk) Addr() string { return net.JoinHostPort(d.cfg.Host, strconv.Itoa(d.port)) }

// Port is the portal's TCP port.
func (d *Disk) Port() int { return d.port }

// IQN is the target name.
func (d *Disk) IQN() string { return d.cfg.TargetIQN }

// Initiators returns the initiator names in the target's ACL (nil = any).
func (d *Disk) Initiators() []string { return append([]string(nil), d.cfg.Initiators...) }

// URL is the LUN in libiscsi's form: iscsi://127.0.0.1:port/iqn/1.
func (d *Disk) URL() string {
	return fmt.Sprintf("iscsi://%s/%s/%d", d.Addr(), d.cfg.TargetIQN, DiskLUN)
}

// BackingFile is the path of the sparse file behind the LUN.
func (d *Disk) BackingFile() string { return d.img }

// Serial is the LUN's unit serial number (VPD page 0x80).
func (d *Disk) Serial() string { return d.serial }

// Size is the LUN's size in bytes.
func (d *Disk) Size() int64 { return d.cfg.Size }

// PID is tgtd's process id, or 0 when it is stopped.
func (d *Disk) PID() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cmd == nil {
		return 0
	}
	return d.cmd.Process.Pid
}

// Running reports whether tgtd is running.
func (d *Disk) Running() bool { return d.PID() != 0 }

func (d *Disk) start(ctx context.Context, port int) error {
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		p := port
		if p == 0 {
			var err error
			if p, err = d.freePort(); err != nil {
				return err
			}
		}
		err := d.startOn(ctx, p)
		if err == nil {
			return nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
		if port != 0 {
			// A restart on a fixed port: the port may linger briefly.
			time.Sleep(100 * time.Millisecond)
		}
	}
	return lastErr
}

func (d *Disk) startOn(ctx context.Context, port int) error {
	d.removeSockets()
	logf, err := os.OpenFile(filepath.Join(d.dir, "tgtd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("rig: tgtd log: %w", err)
	}
	defer logf.Close()
	args := []string{"tgtd", "-f", "-C", strconv.Itoa(ctlPort(port)), "--iscsi", "portal=" + net.JoinHostPort(d.cfg.Host, strconv.Itoa(port))}
	if d.cfg.Namespace != "" {
		// nsenter execs tgtd in place: the pid stays tgtd's.
		args = append([]string{"nsenter", "--net=/run/netns/" + d.cfg.Namespace, "--"}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), "TGT_IPC_SOCKET="+d.sock)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Own process group, and killed with us if this process dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("rig: start tgtd: %w", err)
	}
	done := make(chan struct{})
	d.mu.Lock()
	d.cmd, d.done, d.port, d.werr = cmd, done, port, nil
	d.mu.Unlock()
	go func() {
		err := cmd.Wait()
		d.mu.Lock()
		d.werr = err
		d.mu.Unlock()
		close(done)
	}()

	fail := func(err error) error {
		d.kill()
		return fmt.Errorf("rig: tgtd on 127.0.0.1:%d: %w (log: %s)", port, err, d.logTail())
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := d.Tgtadm(ctx, "--op", "show", "--mode", "sys"); err == nil {
			if d.dial() == nil {
				break
			}
		}
		select {
		case <-done:
			return fail(errors.New("tgtd exited during start"))
		case <-ctx.Done():
			return fail(ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fail(errors.New("not ready after 5s"))
		}
	}
	steps := [][]string{
		{"--lld", "iscsi", "--op", "new", "--mode", "target", "--tid", "1", "-T", d.cfg.TargetIQN},
		{"--lld", "iscsi", "--op", "new", "--mode", "logicalunit", "--tid", "1", "--lun", strconv.Itoa(DiskLUN), "-b", d.img},
		{"--lld", "iscsi", "--op", "update", "--mode", "logicalunit", "--tid", "1", "--lun", strconv.Itoa(DiskLUN), "--params", "scsi_sn=" + d.serial},
	}
	if len(d.cfg.Initiators) == 0 {
		steps = append(steps, []string{"--lld", "iscsi", "--op", "bind", "--mode", "target", "--tid", "1", "-I", "ALL"})
	}
	for _, name := range d.cfg.Initiators {
		steps = append(steps, []string{"--lld", "iscsi", "--op", "bind", "--mode", "target", "--tid", "1", "-Q", name})
	}
	for _, args := range steps {
		if _, err := d.Tgtadm(ctx, args...); err != nil {
			return fail(err)
		}
	}
	d.log.Info("rig disk started", "portal", d.Addr(), "iqn", d.cfg.TargetIQN, "pid", cmd.Process.Pid, "size", d.cfg.Size)
	return nil
}

func (d *Disk) logTail() string {
	b, _ := os.ReadFile(filepath.Join(d.dir, "tgtd.log"))
	if len(b) > 400 {
		b = b[len(b)-400:]
	}
	return strings.TrimSpace(string(b))
}

// Tgtadm runs tgtadm against this tgtd's control socket and returns its
// output.
func (d *Disk) Tgtadm(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	d.mu.Lock()
	port := d.port
	d.mu.Unlock()
	cmd := exec.CommandContext(ctx, "tgtadm", append([]string{"-C", strconv.Itoa(ctlPort(port))}, args...)...)
	cmd.Env = append(os.Environ(), "TGT_IPC_SOCKET="+d.sock)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("tgtadm %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}

// AddLUN adds LUN lun to the target, backed by a sparse file of size bytes
// in dir (the caller removes dir), and returns its URL. It does not come
// back after Restart.
func (d *Disk) AddLUN(ctx context.Context, lun int, size int64, dir string) (string, error) {
	img := filepath.Join(dir, fmt.Sprintf("lun%d.img", lun))
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		return "", err
	}
	if err := os.Truncate(img, size); err != nil {
		return "", err
	}
	if _, err := d.Tgtadm(ctx, "--lld", "iscsi", "--op", "new", "--mode", "logicalunit", "--tid", "1", "--lun", strconv.Itoa(lun), "-b", img); err != nil {
		return "", err
	}
	return fmt.Sprintf("iscsi://%s/%s/%d", d.Addr(), d.cfg.TargetIQN, lun), nil
}

// CHAP makes target 1 require CHAP: initiators log in as user with
// secret; with a targetUser, the target answers mutual CHAP as targetUser
// with targetSecret (an outgoing account).
func (d *Disk) CHAP(ctx context.Context, user, secret, targetUser, targetSecret string) error {
	steps := [][]string{
		{"--lld", "iscsi", "--op", "new", "--mode", "account", "--user", user, "--password", secret},
		{"--lld", "iscsi", "--op", "bind", "--mode", "account", "--tid", "1", "--user", user},
	}
	if targetUser != "" {
		steps = append(steps,
			[]string{"--lld", "iscsi", "--op", "new", "--mode", "account", "--user", targetUser, "--password", targetSecret},
			[]string{"--lld", "iscsi", "--op", "bind", "--mode", "account", "--tid", "1", "--user", targetUser, "--outgoing"})
	}
	for _, args := range steps {
		if _, err := d.Tgtadm(ctx, args...); err != nil {
			return err
		}
	}
	return nil
}

// Show returns `tgtadm --op show --mode target`.
func (d *Disk) Show(ctx context.Context) (string, error) {
	return d.Tgtadm(ctx, "--lld", "iscsi", "--op", "show", "--mode", "target")
}

// SetOnline sets the LUN online or offline; offline makes it answer NOT READY.
func (d *Disk) SetOnline(ctx context.Context, online bool) error {
	v := "online=1"
	if !online {
		v = "online=0"
	}
	_, err := d.Tgtadm(ctx, "--op", "update", "--mode", "logicalunit", "--tid", "1", "--lun", strconv.Itoa(DiskLUN), "--params", v)
	return err
}

// DropConnections drops the iSCSI connections of the sessions whose initiator
// name is initiator (every session when it is empty), as a network fault
// would. It returns how many were dropped.
func (d *Disk) DropConnections(ctx context.Context, initiator string) (int, error) {
	out, err := d.Show(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range parseSessions(out) {
		if initiator != "" && s.initiator != initiator {
			continue
		}
		for _, cid := range s.cids {
			if _, err := d.Tgtadm(ctx, "--lld", "iscsi", "--op", "delete", "--mode", "conn", "--tid", "1", "--sid", s.sid, "--cid", cid); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

type tgtSession struct {
	sid, initiator string
	cids           []string
}

// parseSessions reads the I_T nexus blocks of `tgtadm --op show --mode target`.
func parseSessions(out string) []tgtSession {
	var res []tgtSession
	var cur *tgtSession
	for _, line := range strings.Split(out, "\n") {
		f := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(f, "I_T nexus:"):
			res = append(res, tgtSession{sid: strings.TrimSpace(strings.TrimPrefix(f, "I_T nexus:"))})
			cur = &res[len(res)-1]
		case cur != nil && strings.HasPrefix(f, "Initiator:"):
			name := strings.TrimSpace(strings.TrimPrefix(f, "Initiator:"))
			name, _, _ = strings.Cut(name, " ")
			cur.initiator = name
		case cur != nil && strings.HasPrefix(f, "Connection:"):
			cur.cids = append(cur.cids, strings.TrimSpace(strings.TrimPrefix(f, "Connection:")))
		case strings.HasPrefix(f, "LUN information:"):
			cur = nil
		}
	}
	return res
}

// Stop stops tgtd and keeps the backing file; the PR state held by tgtd is
// lost, as on a target restart.
func (d *Disk) Stop() error {
	d.mu.Lock()
	cmd, done := d.cmd, d.done
	d.mu.Unlock()
	if cmd == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, _ = d.Tgtadm(ctx, "--lld", "iscsi", "--op", "delete", "--force", "--mode", "target", "--tid", "1")
	_, _ = d.Tgtadm(ctx, "--op", "delete", "--mode", "system")
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		d.kill()
	}
	d.mu.Lock()
	d.cmd = nil
	d.mu.Unlock()
	d.removeSockets()
	d.log.Info("rig disk stopped", "portal", d.Addr())
	return nil
}

// Kill stops tgtd at once with SIGKILL, as a crash would.
func (d *Disk) Kill() {
	d.kill()
	d.mu.Lock()
	d.cmd = nil
	d.mu.Unlock()
}

func (d *Disk) kill() {
	d.mu.Lock()
	cmd, done := d.cmd, d.done
	d.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	_ = cmd.Process.Kill()
	<-done
	d.removeSockets()
}

// Restart stops tgtd (if running) and starts it again on the same port with
// the same target, LUN and ACLs, keeping the backing file's data.
func (d *Disk) Restart(ctx context.Context) error {
	if err := d.Stop(); err != nil {
		return err
	}
	return d.start(ctx, d.port)
}

// Close stops tgtd and removes the backing file and every file of the disk.
func (d *Disk) Close() error {
	err := d.Stop()
	if rerr := os.RemoveAll(d.dir); err == nil {
		err = rerr
	}
	return err
}

// inNamespace runs fn in the disk's network namespace (here when it has
// none).
func (d *Disk) inNamespace(fn func() error) error {
	if d.cfg.Namespace == "" {
		return fn()
	}
	return InNamespace("/run/netns/"+d.cfg.Namespace, fn)
}

// dial checks that the portal accepts connections.
func (d *Disk) dial() error {
	return d.inNamespace(func() error {
		c, err := net.DialTimeout("tcp", d.Addr(), time.Second)
		if err == nil {
			c.Close()
		}
		return err
	})
}

func (d *Disk) freePort() (int, error) {
	var port int
	err := d.inNamespace(func() error {
		l, err := net.Listen("tcp", net.JoinHostPort(d.cfg.Host, "0"))
		if err != nil {
			return err
		}
		defer l.Close()
		port = l.Addr().(*net.TCPAddr).Port
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("rig: free port: %w", err)
	}
	return port, nil
}

// ctlPort maps a portal port to tgtd's -C value, which must be below 32768.
// The control socket's path comes from TGT_IPC_SOCKET, so the value only has
// to be valid, not unique.
func ctlPort(port int) int { return port % 32768 }

// removeSockets removes tgtd's control socket and lock file
// (TGT_IPC_SOCKET.<ctl> and .lock), which a killed tgtd leaves behind.
func (d *Disk) removeSockets() {
	stale, _ := filepath.Glob(d.sock + ".*")
	for _, p := range stale {
		_ = os.Remove(p)
	}
}
