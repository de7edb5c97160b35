package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/agent/agenttest"
	"github.com/hakit/hakit/internal/testutil"
	"github.com/hakit/hakit/serialhb"
)

// startAgent runs node a over an in-memory LUN shared with a registered b.
func startAgent(t *testing.T) (sock, cfgPath string) {
	t.Helper()
	dir := t.TempDir()
	sock = filepath.Join(dir, "a.sock")
	y := fmt.Sprintf("node: {name: a, id: 1}\npeer: {name: b, id: 2}\ncluster: {id: 7}\ntimers: {disk_status_ms: 100}\napi: {socket: %s}\nstate_dir: %s\n", sock, filepath.Join(dir, "state"))
	cfgPath = filepath.Join(dir, "a.yaml")
	if err := os.WriteFile(cfgPath, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := agent.LoadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	lun := agenttest.NewLUN("naa.6001")
	ka, kb := agenttest.Key(7, 1), agenttest.Key(7, 2)
	peer := &agenttest.Disk{LUN: lun, Name: "lun0", Own: kb, Peer: ka}
	if err := peer.Register(context.Background()); err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(cfg, agent.Deps{
		Disks:     []agent.Disk{&agenttest.Disk{LUN: lun, Name: "lun0", Own: ka, Peer: kb}},
		Heartbeat: agenttest.Static[agent.HeartbeatStatus]{V: agent.HeartbeatStatus{LinkStatus: serialhb.LinkStatus{State: serialhb.StateAlive, RTT: serialhb.RTTStats{Last: 5}}, PortOpen: true}},
		Notifier:  agent.NewNotifier("", 0),
		Logger:    testutil.Logger(t, slog.LevelInfo),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		if _, err := os.Stat(sock); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("socket left after a clean stop: %v", err)
		}
	})
	c := agent.NewClient(sock)
	for i := 0; ; i++ {
		if _, err := c.Status(context.Background()); err == nil {
			break
		} else if i > 200 {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return sock, cfgPath
}

func run(args ...string) (string, string, error) {
	var out, errb bytes.Buffer
	err := Run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), err
}

func TestClientCommands(t *testing.T) {
	sock, cfgPath := startAgent(t)
	for _, tt := range []struct {
		name string
		args []string
		want []string // substrings of stdout
		err  string   // substring of the error, "" for none
	}{
		{"status", []string{"status", "--socket", sock}, []string{"node       a (id 1)", "peer       b (id 2)", "serial     peer ALIVE (never heard), normal priority\n", "nic        not configured", "raid       not configured", "disk       lun0: free (no reservation); this node's key 0x700000001 registered no, the peer's yes"}, ""},
		{"status via config", []string{"status", "--config", cfgPath}, []string{"fenced     no"}, ""},
		{"disks", []string{"disks", "--socket", sock}, []string{"disk lun0", "identity     naa.6001", "registered reservation key(s)", "there is NO reservation held", "peer         key 0x700000002 registered=yes"}, ""},
		{"register", []string{"register", "--socket", sock}, []string{"register: done", "this node    key 0x700000001 registered=yes"}, ""},
		{"acquire", []string{"acquire", "--socket", sock}, []string{"reservation  key=0x700000001", "owner=yes"}, ""},
		{"heartbeat json", []string{"heartbeat", "--socket", sock, "--json"}, []string{`"state": "alive"`}, ""},
		{"nics not configured", []string{"nics", "--socket", sock}, nil, "not configured"},
		{"fence self", []string{"fence", "--socket", sock, "a"}, nil, "itself"},
		{"fence needs a node", []string{"fence", "--socket", sock}, nil, "takes 1 argument"},
		{"fence two nodes", []string{"fence", "--socket", sock, "b", "a"}, nil, "takes 1 argument"},
		{"fence peer, flags after the node", []string{"fence", "b", "--socket", sock}, []string{"fence: done", "peer         key 0x700000002 registered=no"}, ""},
		{"acquire again", []string{"acquire", "--socket", sock}, []string{"acquire: done"}, ""},
		{"release held", []string{"release", "--socket", sock}, []string{"release: done", "owner=no"}, ""},
		{"release not held", []string{"release", "--socket", sock}, []string{"release: nothing released: this node held no reservation"}, ""},
		{"release", []string{"release", "--socket", sock, "--json"}, []string{`"action": "release"`}, ""},
		{"no agent", []string{"status", "--socket", filepath.Join(t.TempDir(), "none.sock")}, nil, "not reachable"},
		{"bad flag", []string{"status", "--colour"}, nil, "flag provided but not defined"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := run(tt.args...)
			if tt.err == "" && err != nil {
				t.Fatalf("err = %v\n%s", err, out)
			}
			if tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("err = %v, want ~%q", err, tt.err)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
		})
	}
	var st agent.Status
	out, _, err := run("status", "--socket", sock, "--json")
	if err != nil || json.Unmarshal([]byte(out), &st) != nil || st.Node != "a" {
		t.Errorf("status --json: %v %q", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var ev bytes.Buffer
	if err := Run(ctx, []string{"events", "--socket", sock, "--since", "0"}, &ev, &ev); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ev.String(), "agent     started") || !strings.Contains(ev.String(), "fenced b") {
		t.Errorf("events:\n%s", ev.String())
	}
}

func TestUsageAndConfig(t *testing.T) {
	if out, _, err := run("--help"); err != nil || !strings.Contains(out, "Usage: hwagent") {
		t.Errorf("--help: %v %q", err, out)
	}
	if out, _, err := run("hb", "--help"); err != nil || !strings.Contains(out, "cabletest") {
		t.Errorf("hb --help: %v %q", err, out)
	}
	for _, tool := range []string{"disk", "nic"} {
		if out, errb, err := run(tool, "--help"); err != nil || !strings.Contains(out+errb, "sage") {
			t.Errorf("%s --help: %v %q %q", tool, err, out, errb)
		}
	}
	if out, _, err := run("raid-tool", "--help"); err != nil || !strings.Contains(out, "validate") {
		t.Errorf("raid-tool --help: %v %q", err, out)
	}
	if _, _, err := run("frobnicate"); !errors.Is(err, ErrUsage) {
		t.Errorf("unknown command: %v", err)
	}
	if _, _, err := run(); !errors.Is(err, ErrUsage) {
		t.Errorf("no command: %v", err)
	}
	if out, _, err := run("status", "--help"); !errors.Is(err, flag.ErrHelp) || !strings.Contains(out, "Usage: hwagent status") || !strings.Contains(out, "Examples:") || !strings.Contains(out, "Exit status:") {
		t.Errorf("status --help: %v %q", err, out)
	}
	if out, _, err := run("check-config", "--parse-only", "--config", "../../dist/hwagent.yaml"); err != nil || !strings.Contains(out, "ok: node node-a") {
		t.Errorf("check-config: %v %q", err, out)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("node: {name: a, id: 1}\npeer: {name: b, id: 2}\ncluster: {id: 7}\nnic: {interface: eth1}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := run("run", "--config", bad)
	var ce *agent.ConfigError
	if !errors.As(err, &ce) || ce.Line != 4 {
		t.Errorf("run with a bad config: %v, want a ConfigError at line 4", err)
	}
	if _, _, err := run("run", "--config", "/nonexistent/hwagent.yaml"); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("run with a missing config: %v", err)
	}
}

func TestRunSecondAgentAndMissingDevice(t *testing.T) {
	sock, cfgPath := startAgent(t)
	_ = sock
	// A second agent on the same socket: refused, the first untouched.
	cfg, err := agent.LoadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := RunAgent(ctx, cfg, nil); !errors.Is(err, agent.ErrAgentRunning) {
		t.Errorf("second agent: %v, want ErrAgentRunning", err)
	}
	if _, _, err := run("status", "--socket", sock); err != nil {
		t.Errorf("first agent after the second's attempt: %v", err)
	}
	// A missing key file and a missing disk device: clear errors
	// before anything starts.
	cfg2 := *cfg
	cfg2.API.Socket = filepath.Join(t.TempDir(), "x.sock")
	cfg2.Serial = agent.SerialConfig{Port: "/dev/ttyS9", Baud: 19200, KeyFile: "/nonexistent/key"}
	if err := RunAgent(ctx, &cfg2, nil); err == nil || !strings.Contains(err.Error(), "serial.key_file") {
		t.Errorf("missing key file: %v", err)
	}
	cfg2.Serial = agent.SerialConfig{}
	cfg2.Disks = []agent.DiskConfig{{Device: "/dev/sdz"}}
	if err := RunAgent(ctx, &cfg2, nil); err == nil || !strings.Contains(err.Error(), "disks[0].device") {
		t.Errorf("device path: %v", err)
	}
	if _, err := os.Stat(cfg2.API.Socket); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed start left its socket: %v", err)
	}
}

// `hwagent raid-tool validate` exits 0, 3 (errors), 4 (warnings only), 1
// (an output that cannot be read) or 2 (usage), as its help documents:
// run as the built binary, as a script would.
func TestRaidValidateExitCodes(t *testing.T) {
	bin := builtHwagent(t)
	fx := "../../fixtures/raid/"
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"errors", []string{"--vendor", "arcconf", "--file-a", fx + "arcconf/check_raid__arcconf__86__arcconf-getconfig.out", "--file-b", fx + "arcconf/check_raid__arcconf__86__arcconf-getconfig.out"}, 3},
		{"warnings only", []string{"--file-a", fx + "ipssend/synthetic__getconfig-1-AL-cluster-A.txt", "--file-b", fx + "ipssend/synthetic__getconfig-1-AL-cluster-B.txt"}, 4},
		{"unreadable", []string{"--file-a", fx + "nonexistent.txt", "--file-b", fx + "ipssend/synthetic__getconfig-1-AL-cluster-B.txt"}, 1},
		{"usage", []string{"--no-such-flag"}, 2},
	} {
		cmd := exec.Command(bin, append([]string{"raid-tool", "validate"}, tc.args...)...)
		out, _ := cmd.CombinedOutput()
		if got := cmd.ProcessState.ExitCode(); got != tc.code {
			t.Errorf("%s: exit %d, want %d\n%s", tc.name, got, tc.code, out)
		}
	}
}

// builtHwagent builds cmd/hwagent into a temporary folder.
func builtHwagent(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds hwagent")
	}
	bin := filepath.Join(t.TempDir(), "hwagent")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/hwagent").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// `hwagent disk` exits with the statuses its help documents (sg3_utils'),
// not 1 for everything: run as the built binary.
func TestDiskExitCodes(t *testing.T) {
	bin := builtHwagent(t)
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"help", []string{"--help"}, 0},
		{"unknown command (usage)", []string{"no-such-command"}, 1},
		{"missing device (usage)", []string{"keys"}, 1},
		{"device cannot be opened", []string{"keys", "/nonexistent/sg9"}, 15},
	} {
		cmd := exec.Command(bin, append([]string{"disk"}, tc.args...)...)
		out, _ := cmd.CombinedOutput()
		if got := cmd.ProcessState.ExitCode(); got != tc.code {
			t.Errorf("%s: exit %d, want %d\n%s", tc.name, got, tc.code, out)
		}
	}
}

// check-config fails on a path the configuration names that does not
// exist, naming the key and the path; a mistyped command gets the nearest.
func TestCheckConfigPathsAndSuggestions(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "a.yaml")
	y := "node: {name: a, id: 1}\npeer: {name: b, id: 2, socket: /nonexistent/b/hwagent.sock}\ncluster: {id: 7}\n" +
		"serial: {port: /nonexistent/ttyS1, key_file: /nonexistent/hb.key}\nraid: {tool: storcli, file: /nonexistent/raid.txt}\n"
	if err := os.WriteFile(cfg, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errb, err := run("check-config", "--config", cfg)
	if err == nil || ExitCode(err) != 1 {
		t.Errorf("check-config with missing paths: %v", err)
	}
	for _, want := range []string{"serial.port: /nonexistent/ttyS1 does not exist", "serial.key_file: /nonexistent/hb.key does not exist", "raid.file: /nonexistent/raid.txt does not exist", "peer.socket (its folder): /nonexistent/b does not exist"} {
		if !strings.Contains(errb, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errb)
		}
	}
	if out, _, err := run("check-config", "--parse-only", "--config", cfg); err != nil || !strings.Contains(out, "ok: node a") {
		t.Errorf("--parse-only: %v %q", err, out)
	}
	for args, want := range map[string]string{
		"stauts":            `did you mean "status"?`,
		"disk idnetify":     `did you mean "identify"?`,
		"hb cabeltest":      `did you mean "cabletest"?`,
		"nic prbe":          `did you mean "probe"?`,
		"raid-tool valdate": `did you mean "validate"?`,
		"sbd -d x dupm":     `did you mean "dump"?`,
	} {
		_, _, err := run(strings.Fields(args)...)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want ~%q", args, err, want)
		}
	}
}
