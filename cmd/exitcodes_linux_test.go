package cmd_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hakit/hakit/internal/exitcode"
)

// needsHardware are the documented codes this test cannot provoke on a
// machine without a shared disk, a peer or Pacemaker, and why.
var needsHardware = map[string]map[int]string{
	"hwagent disk": {
		2:  "not ready or not registered: a SCSI device answering",
		5:  "a SCSI device refusing a command",
		6:  "a SCSI device reporting a unit attention",
		24: "a reservation held by another node",
		67: "a SCSI device that does not answer in time",
		99: "a SCSI device failing otherwise",
	},
	"hwagent nic": {1: "an interface whose facts cannot be read (a missing one is a usage of status)"},
	"hwagent run": {},
	"hwagent cabletest": {
		0: "a serial cable to a running peer agent (the rig golden test runs it)",
		4: "a serial cable that loses pings (agent/cli TestCableTestThroughTheAgent, in process)",
	},
	"hwagent compare": {0: "two nodes that both identify the same shared disk"},
	"fence_hwagent":   {2: "a fenced node on a shared disk"},
	"hakit-disk, hakit-health": {
		1: "a fenced node on a shared disk",
		4: "a non-root user without the API group",
		5: "a missing tool (attrd_updater)",
	},
}

// startAgent runs the built hwagent with cfg until the test stops it (or
// ends), once its socket is there.
func startAgent(t *testing.T, bin, cfg, sock string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, "hwagent"), "run", "--config", cfg)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	for i := 0; ; i++ {
		if _, err := os.Stat(sock); err == nil {
			return cmd
		} else if i > 300 {
			t.Fatalf("agent did not start: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// nodeConfig writes node a's configuration with no hardware into dir and
// returns its path and the agent's socket.
func nodeConfig(t *testing.T, dir string) (cfg, sock string) {
	t.Helper()
	sock = filepath.Join(dir, "a.sock")
	cfg = filepath.Join(dir, "a.yaml")
	y := fmt.Sprintf("node: {name: a, id: 1}\npeer: {name: b, id: 2}\ncluster: {id: 7}\napi: {socket: %s}\nstate_dir: %s\n", sock, filepath.Join(dir, "state"))
	if err := os.WriteFile(cfg, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg, sock
}

// builtNode builds every binary into bin and writes node a's
// configuration into dir (skipped with -short).
func builtNode(t *testing.T) (bin, dir, cfg, sock string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds every binary")
	}
	bin, dir = t.TempDir(), t.TempDir()
	buildAll(t, bin)
	cfg, sock = nodeConfig(t, dir)
	return bin, dir, cfg, sock
}

// writeFile writes content into dir/name, then extends it to size bytes
// when size is larger.
func writeFile(t *testing.T, dir, name, content string, mode os.FileMode, size int64) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if size > int64(len(content)) {
		if err := os.Truncate(p, size); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// buildAll builds every main under cmd/ into dir.
func buildAll(t *testing.T, dir string) {
	t.Helper()
	if out, err := exec.Command("go", "build", "-o", dir+string(os.PathSeparator), "./...").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
}

// openPTY returns a pseudo-terminal's master and the path of its slave: a
// serial port on which no peer ever answers.
func openPTY(t *testing.T) string {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("/dev/pts/%d", n)
}

// Every command's documented exit codes (internal/exitcode), provoked on
// the built binaries as a script would see them; every documented code is
// either provoked here or listed in needsHardware, and no command exits
// with a code its row does not document.
func TestExitCodesOfBuiltBinaries(t *testing.T) {
	bin, dir, cfg, sock := builtNode(t)
	write := func(name, content string, mode os.FileMode) string { return writeFile(t, dir, name, content, mode, 0) }
	bad := write("bad.yaml", "node: {name: a, id: 1}\npeer: {name: b, id: 2}\ncluster: {id: 7}\nnic: {interface: eth1}\n", 0o644)
	cfgB := write("b.yaml", "node: {name: b, id: 2}\npeer: {name: a, id: 1}\ncluster: {id: 7}\napi: {socket: /nonexistent/b.sock}\n", 0o644)
	capA, capB := filepath.Join(dir, "a.capture.json"), filepath.Join(dir, "b.capture.json")
	missing := write("missing.yaml", "node: {name: a, id: 1}\npeer: {name: b, id: 2}\ncluster: {id: 7}\nserial: {port: /nonexistent/ttyS1, key_file: /nonexistent/hb.key}\n", 0o644)
	key := write("hb.key", "0123456789abcdef0123456789abcdef\n", 0o600)
	sbdImg := writeFile(t, dir, "sbd.img", "", 0o600, 4<<20)
	zero := writeFile(t, dir, "zero.img", "", 0o600, 1<<20)
	fx := "../fixtures/raid/"
	pty := openPTY(t)

	// The agent of node a with no hardware: run exits 0 on SIGTERM.
	agentCmd := startAgent(t, bin, cfg, sock)

	type tc struct {
		row  string // the command's name in the table
		args []string
		code int
	}
	hw := func(args ...string) []string { return append([]string{"hwagent"}, args...) }
	cases := []tc{
		{"hwagent", hw("--help"), 0},
		{"hwagent", hw(), 2},
		{"hwagent", hw("frobnicate"), 2},
		{"hwagent run", hw("run", "--config", "/nonexistent/hwagent.yaml"), 1},
		{"hwagent run", hw("run", "--config", bad), 1},
		{"hwagent run", hw("run", "--colour"), 2},
		{"hwagent run", hw("run", "extra"), 2},
		{"hwagent check-config", hw("check-config", "--config", cfg), 0},
		{"hwagent check-config", hw("check-config", "--config", bad), 1},
		{"hwagent check-config", hw("check-config", "--config", "/nonexistent/hwagent.yaml"), 1},
		{"hwagent check-config", hw("check-config", "--config", missing), 1},
		{"hwagent check-config", hw("check-config", "--parse-only", "--config", missing), 0},
		{"hwagent check-config", hw("check-config", "--colour"), 2},
		{"hwagent capture", hw("capture", capA, "--config", cfg), 0},
		{"hwagent capture", hw("capture", capB, "--config", cfgB), 0},
		{"hwagent capture", hw("capture", capA, "--config", "/nonexistent/hwagent.yaml"), 1},
		{"hwagent capture", hw("capture"), 2},
		{"hwagent compare", hw("compare", capA, filepath.Join(dir, "none.json")), 1},
		{"hwagent compare", hw("compare", capA), 2},
		{"hwagent compare", hw("compare", capA, capB), 3}, // no disk configured: nothing shows they share one
		{"hwagent status", hw("status", "--socket", sock), 0},
		{"hwagent status", hw("status", "--help"), 0},
		{"hwagent status", hw("status", "--socket", filepath.Join(dir, "none.sock")), 3},
		{"hwagent status", hw("status", "--config", "/nonexistent/hwagent.yaml"), 1},
		{"hwagent status", hw("status", "extra"), 2},
		{"hwagent cabletest", hw("cabletest", "--socket", sock), 1},
		{"hwagent cabletest", hw("cabletest", "--socket", sock, "extra"), 2},
		{"hwagent cabletest", hw("cabletest", "--socket", filepath.Join(dir, "none.sock")), 3},
		{"hwagent disks", hw("disks", "--colour"), 2},
		{"hwagent release", hw("release", "--socket", sock), 1}, // no shared disk configured: the agent refuses
		{"hwagent fence", hw("fence", "nobody", "--socket", sock), 1},
		{"hwagent fence", hw("fence", "--socket", sock), 2},
		{"hwagent events", hw("events", "--socket", filepath.Join(dir, "none.sock")), 3},
		{"hwagent disk", hw("disk", "--help"), 0},
		{"hwagent disk", hw("disk", "no-such-command"), 1},
		{"hwagent disk", hw("disk", "keys"), 1},
		{"hwagent disk", hw("disk", "keys", "/nonexistent/sg9"), 15},
		{"hwagent hb", hw("hb", "ports"), 0},
		{"hwagent hb", hw("hb", "status", "--port", pty, "--key-file", filepath.Join(dir, "none.key")), 1},
		{"hwagent hb", hw("hb"), 2},
		{"hwagent hb", hw("hb", "status", "--colour"), 2},
		{"hwagent hb", hw("hb", "status", "--port", pty, "--key-file", key, "--wait", "300ms"), 3},
		{"hwagent hb", hw("hb", "cabletest", "--port", pty, "--key-file", key, "--count", "3", "--interval", "10ms", "--timeout", "200ms"), 3},
		{"hwagent nic", hw("nic", "status", "lo"), 0},
		{"hwagent nic", hw("nic"), 2},
		{"hwagent nic", hw("nic", "probe", "192.0.2.1"), 2},
		{"hwagent nic", hw("nic", "probe", "192.0.2.1", "--iface", "lo", "--count", "1"), 3},
		{"hwagent raid-tool", hw("raid-tool", "show", "--vendor", "ipssend", "--file", fx+"ipssend/synthetic__getconfig-1-AL-cluster-A.txt"), 0},
		{"hwagent raid-tool", hw("raid-tool", "validate", "--file-a", fx+"nonexistent.txt", "--file-b", fx+"ipssend/synthetic__getconfig-1-AL-cluster-B.txt"), 1},
		{"hwagent raid-tool", hw("raid-tool"), 2},
		{"hwagent raid-tool", hw("raid-tool", "validate", "--vendor", "arcconf", "--file-a", fx+"arcconf/check_raid__arcconf__86__arcconf-getconfig.out", "--file-b", fx+"arcconf/check_raid__arcconf__86__arcconf-getconfig.out"), 3},
		{"hwagent raid-tool", hw("raid-tool", "validate", "--file-a", fx+"ipssend/synthetic__getconfig-1-AL-cluster-A.txt", "--file-b", fx+"ipssend/synthetic__getconfig-1-AL-cluster-B.txt"), 4},
		{"hwagent sbd", hw("sbd", "-d", sbdImg, "-1", "1", "-2", "1", "-4", "1", "create"), 0},
		{"hwagent sbd", hw("sbd", "-d", sbdImg, "-n", "a", "allocate", "b"), 0},
		{"hwagent sbd", hw("sbd", "-d", sbdImg, "-n", "a", "message", "b", "reset"), 0},
		{"hwagent sbd", hw("sbd", "-d", sbdImg, "-n", "b", "watch"), 3},
		{"hwagent sbd", hw("sbd"), 2},
		{"hwagent sbd", hw("sbd", "-d", zero, "dump"), 4},
		{"hwagent sbd", hw("sbd", "-d", "/nonexistent/sbd", "dump"), 99},
		{"hwcheck", []string{"hwcheck", "--config", cfg}, 0},
		{"hwcheck", []string{"hwcheck", "--help"}, 0},
		{"hwcheck", []string{"hwcheck", "--config", cfg, "--socket", filepath.Join(dir, "none.sock")}, 1},
		{"hwcheck", []string{"hwcheck", "--colour"}, 2},
		{"hwcheck", []string{"hwcheck", "--config", bad}, 2},
		{"fence_hwagent", []string{"fence_hwagent", "-o", "metadata"}, 0},
		{"fence_hwagent", []string{"fence_hwagent", "--colour"}, 1},
		{"hakit-disk", []string{"hakit-disk", "meta-data"}, 0},
		{"hakit-disk", []string{"hakit-disk"}, 2},
		{"hakit-disk", []string{"hakit-disk", "frobnicate"}, 3},
		{"hakit-disk", []string{"hakit-disk", "monitor"}, 6},
		{"hakit-health", []string{"hakit-health", "monitor"}, 7},
	}
	covered := map[string]map[int]bool{}
	for _, c := range cases {
		row, ok := exitcode.For(c.row)
		if !ok {
			t.Errorf("%s: no row in the exit code table", c.row)
			continue
		}
		documented := false
		for _, k := range row.Codes {
			documented = documented || k.Code == c.code
		}
		if !documented {
			t.Errorf("%s: the case expects %d, which its row does not document", strings.Join(c.args, " "), c.code)
		}
		cmd := exec.Command(filepath.Join(bin, c.args[0]), c.args[1:]...)
		cmd.Env = os.Environ()
		if c.row == "hakit-disk" || c.row == "hakit-health" {
			cmd.Env = append(cmd.Env, "OCF_RESKEY_config="+cfg, "OCF_RESKEY_socket="+sock)
		}
		out, _ := cmd.CombinedOutput()
		if got := cmd.ProcessState.ExitCode(); got != c.code {
			t.Errorf("%s: exit %d, want %d\n%s", strings.Join(c.args, " "), got, c.code, out)
		}
		if covered[row.Name] == nil {
			covered[row.Name] = map[int]bool{}
		}
		covered[row.Name][c.code] = true
	}

	// A user without permission on the socket is told what it needs.
	if os.Geteuid() == 0 {
		// nobody may run the binary, not reach the socket's folder.
		for _, d := range []string{bin, filepath.Dir(bin)} {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		cmd := exec.Command(filepath.Join(bin, "hwagent"), "status", "--socket", sock)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, _ := cmd.CombinedOutput()
		if got := cmd.ProcessState.ExitCode(); got != exitcode.Unreachable || !strings.Contains(string(out), "needs root or group hakit") {
			t.Errorf("status as nobody: exit %d, want %d and the permission it needs:\n%s", got, exitcode.Unreachable, out)
		}
	}

	if err := agentCmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	agentCmd.Wait()
	if got := agentCmd.ProcessState.ExitCode(); got != 0 {
		t.Errorf("hwagent run after SIGTERM: exit %d, want 0", got)
	}
	covered["hwagent run"][0] = true

	for _, row := range exitcode.Table() {
		for _, k := range row.Codes {
			if !covered[row.Name][k.Code] && needsHardware[row.Name][k.Code] == "" {
				t.Errorf("%s: exit %d (%s) is documented but neither provoked nor listed as needing hardware", row.Name, k.Code, k.Meaning)
			}
		}
	}
}

// Every binary's --version names the commit it was built from, and its
// --help goes to stdout with examples and exit statuses.
func TestVersionOfBuiltBinaries(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every binary")
	}
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	rev := strings.TrimSpace(string(head))
	bin := t.TempDir()
	// As make build does: the commit given at link time, since a
	// worktree or -buildvcs=false leaves vcs.revision out.
	ld := "-X github.com/hakit/hakit/internal/version.linked=" + rev
	if out, err := exec.Command("go", "build", "-ldflags", ld, "-o", bin+string(os.PathSeparator), "./...").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, b := range []string{"hwagent", "hwcheck", "fence_hwagent", "hakit-disk", "hakit-health"} {
		out, err := exec.Command(filepath.Join(bin, b), "--version").CombinedOutput()
		if err != nil || !strings.Contains(string(out), b+" (hakit) commit "+rev) {
			t.Errorf("%s --version: %v %q, want the commit %s", b, err, out, rev)
		}
		// --help: stdout, exit 0, with examples and exit statuses.
		cmd := exec.Command(filepath.Join(bin, b), "--help")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		help, err := cmd.Output()
		if err != nil || !strings.Contains(string(help), "Examples:\n") || !strings.Contains(string(help), "Exit status") || stderr.Len() > 0 {
			t.Errorf("%s --help: %v, stderr %q, stdout:\n%s", b, err, stderr.String(), help)
		}
	}
}
