package agent

import (
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"testing"
)

// An unreachable agent's error says the fix: the service to check, or the
// permission needed.
func TestUnreachableHint(t *testing.T) {
	for err, want := range map[error]string{
		fmt.Errorf("dial: %w", fs.ErrPermission):     "needs root or group hakit",
		fmt.Errorf("dial: %w", fs.ErrNotExist):       "is hwagent running? systemctl status hwagent",
		fmt.Errorf("dial: %w", syscall.ECONNREFUSED): "is hwagent running? systemctl status hwagent",
	} {
		if got := unreachableHint(err); !strings.Contains(got, want) {
			t.Errorf("unreachableHint(%v) = %q, want ~%q", err, got, want)
		}
	}
}

// A mistyped key gets the nearest known key of its section.
func TestConfigKeyTypo(t *testing.T) {
	for y, want := range map[string]string{
		"node: {name: a, id: 1}\npeer: {name: b, id: 2, sokcet: /x}\ncluster: {id: 7}\n":                                  `:2: unknown key sokcet in peer (did you mean "socket"?)`,
		"node: {name: a, id: 1}\npeer: {name: b, id: 2}\ncluster: {id: 7}\nserail: {}\n":                                  `did you mean "serial"?`,
		"node: {name: a, id: 1}\npeer: {name: b, id: 2}\ncluster: {id: 7}\ndisks:\n  - {device: /dev/sdb, initator: x}\n": `did you mean "initiator"?`,
		"node: {name: a, id: 1}\npeer: {name: b, id: 2}\ncluster: {id: 7}\nzzz: 1\n":                                      "unknown key zzz at the top level",
	} {
		_, err := ParseConfig("t.yaml", []byte(y))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want ~%q", y, err, want)
		}
		if strings.HasSuffix(want, "top level") && strings.Contains(err.Error(), "did you mean") {
			t.Errorf("%q: a suggestion for a key nowhere near: %v", y, err)
		}
	}
	keys := ConfigKeys()
	for _, k := range []string{"serial.key_file", "disks[].initiator", "peer.socket", "peer.name", "nic.netns", "raid.file"} {
		found := false
		for _, have := range keys {
			found = found || have == k
		}
		if !found {
			t.Errorf("ConfigKeys lacks %s: %v", k, keys)
		}
	}
}
