package hbcli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hakit/hakit/serialhb"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

func keyFile(t *testing.T, content []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "authkey")
	if err := os.WriteFile(p, content, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := Run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), err
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"help"}, {"run", "--help"}, {"status", "-h"}, {"cabletest", "--help"}, {"ports", "--help"}} {
		out, _, err := run(t, args...)
		if err != nil || !strings.Contains(out, "usage: hb") {
			t.Errorf("%v: %v, output %q", args, err, out)
		}
	}
	if out, _, _ := run(t, "cabletest", "--help"); !strings.Contains(out, "-count") || !strings.Contains(out, "-json") {
		t.Errorf("cabletest help lacks its flags: %s", out)
	}
}

func TestBadInput(t *testing.T) {
	good := keyFile(t, testKey)
	short := keyFile(t, []byte("short\n"))
	regular := filepath.Join(t.TempDir(), "notatty")
	os.WriteFile(regular, nil, 0o600)
	for _, tc := range []struct {
		name string
		args []string
		want error
		msg  string
	}{
		{"no command", nil, ErrUsage, "no command"},
		{"unknown command", []string{"frobnicate"}, ErrUsage, "frobnicate"},
		{"unknown flag", []string{"run", "--nope"}, ErrUsage, "nope"},
		{"stray argument", []string{"ports", "extra"}, ErrUsage, "extra"},
		{"no port", []string{"run", "--key-file", good}, ErrUsage, "--port is required"},
		{"no key file", []string{"status", "--port", regular}, ErrUsage, "--key-file is required"},
		{"missing key file", []string{"run", "--port", regular, "--key-file", "/nonexistent/key"}, fs.ErrNotExist, "/nonexistent/key"},
		{"short key", []string{"run", "--port", regular, "--key-file", short}, serialhb.ErrShortKey, "need at least 32"},
		{"baud", []string{"run", "--port", regular, "--key-file", good, "--baud", "300"}, serialhb.ErrUnsupportedBaud, "300"},
		{"timers", []string{"run", "--port", regular, "--key-file", good, "--keepalive", "1000", "--deadtime", "2000"}, serialhb.ErrBadConfig, "2 x keepalive"},
		{"node", []string{"run", "--port", regular, "--key-file", good, "--node", "0"}, ErrUsage, "--node"},
		{"count", []string{"cabletest", "--port", regular, "--key-file", good, "--count", "0"}, ErrUsage, "--count"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := run(t, tc.args...)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Run(%q): %v; want %v mentioning %q", tc.args, err, tc.want, tc.msg)
			}
		})
	}
}

func TestPorts(t *testing.T) {
	out, _, err := run(t, "ports", "--json")
	if errors.Is(err, errors.ErrUnsupported) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Version int                 `json:"schema_version"`
		Ports   []serialhb.PortInfo `json:"ports"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || doc.Version != 1 {
		t.Fatalf("ports --json is not a document with its list: %v\n%s", err, out)
	}
	ports := doc.Ports
	text, _, err := run(t, "ports")
	if err != nil || (len(ports) == 0) != strings.Contains(text, "no serial ports") {
		t.Errorf("ports: %v\n%s", err, text)
	}
}
