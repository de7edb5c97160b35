package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/agent/cli"
	"github.com/hakit/hakit/agent/fence"
	"github.com/hakit/hakit/internal/testutil"
)

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestNoSecretInOutput runs an agent whose disk URL carries a known CHAP
// password (one with a % that is no URL escape) against a target that is not
// there, and reads every output channel for it: /v1/status, /v1/disks,
// /metrics, the event stream, the log, fence_hwagent's stdout and stderr,
// check-config and a config error.
func TestNoSecretInOutput(t *testing.T) {
	const secret = "S3cr%zzETpw"
	dir := t.TempDir()
	sock := filepath.Join(dir, "a.sock")
	target := freePort(t) // closed again: logins fail
	metrics := freePort(t)
	device := "iscsi://alice%" + secret + "@" + target + "/iqn.2026-01.test:secret/0"
	y := fmt.Sprintf("node: {name: a, id: 1}\npeer: {name: b, id: 2}\ncluster: {id: 7}\ntimers: {disk_status_ms: 100}\n"+
		"api: {socket: %s}\nstate_dir: %s\nmetrics: {listen: %q}\n"+
		"disks:\n  - device: %q\n    initiator: iqn.2026-01.test:a\n", sock, filepath.Join(dir, "state"), metrics, device)
	cfgPath := filepath.Join(dir, "a.yaml")
	if err := os.WriteFile(cfgPath, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	var seen []string // name: output, each checked at the end
	add := func(name, out string) { seen = append(seen, name+": "+out) }

	stdout, stderr, err := runCLI("check-config", "--config", cfgPath)
	if err != nil || !strings.Contains(stderr, "CHAP password in the URL is readable") {
		t.Errorf("check-config: %v, stderr %q: want a warning about the password in the URL", err, stderr)
	}
	add("check-config", stdout+stderr)

	cfg, err := agent.LoadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	var logs testutil.SyncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- cli.RunAgent(ctx, cfg, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
		close(done) // the deferred stop receives again
	}()
	defer func() {
		cancel()
		<-done
	}()
	c := agent.NewClient(sock)
	var disks []agent.DiskStatus
	for i := 0; ; i++ {
		disks, err = c.Disks(context.Background())
		if err == nil && len(disks) == 1 && disks[0].Error != "" {
			break
		}
		if i > 300 {
			t.Fatalf("agent: disks %+v, %v", disks, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if want := "iscsi://alice%***@" + target + "/iqn.2026-01.test:secret/0"; disks[0].Device != want {
		t.Errorf("disk device %q, want %q", disks[0].Device, want)
	}
	for _, path := range []string{"/v1/status", "/v1/disks"} {
		raw, err := c.Raw(context.Background(), path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		add(path, string(raw))
	}
	resp, err := http.Get("http://" + metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `device="iscsi://alice%***@`) {
		t.Errorf("metrics carry no masked device label:\n%s", body)
	}
	add("/metrics", string(body))

	ectx, ecancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	var events []string
	_ = c.Events(ectx, 0, func(e agent.Event) error {
		b, _ := json.Marshal(e)
		events = append(events, string(b))
		return nil
	})
	ecancel()
	add("events", strings.Join(events, "\n"))

	for _, action := range []string{"status", "off", "monitor"} {
		var out, errb bytes.Buffer
		in := fmt.Sprintf("action=%s\nplug=b\nconfig=%s\ndevices=%s\npower_timeout=2\n", action, cfgPath, device)
		code := fence.Run(context.Background(), nil, strings.NewReader(in), &out, &errb, fence.Deps{})
		add("fence_hwagent "+action, fmt.Sprintf("exit %d stdout %q stderr %q", code, out.String(), errb.String()))
	}

	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(strings.Replace(y, "/0\"", "/x\"", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, err = runCLI("check-config", "--config", bad)
	add("config error", fmt.Sprint(err)+stderr)
	if err == nil {
		t.Errorf("check-config of a bad LUN: no error")
	}

	cancel()
	<-done
	add("log", logs.String())
	for _, s := range seen {
		if strings.Contains(s, secret) || strings.Contains(s, strings.ReplaceAll(secret, "%", "%25")) {
			t.Errorf("the secret shows in %s", s)
		}
	}
}

func runCLI(args ...string) (string, string, error) {
	var out, errb bytes.Buffer
	err := cli.Run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), err
}
