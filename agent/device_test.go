package agent

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigSecrets(t *testing.T) {
	base := "node: {name: a, id: 1}\npeer: {name: b, id: 2}\ncluster: {id: 7}\ndisks:\n  - initiator: iqn.2026-01.test:a\n"
	tests := []struct {
		name, disk string
		msg        string // "" means valid
	}{
		{"chap files", "    device: iscsi://h/iqn.2026-01.t:x/0\n    chap_user: u\n    chap_secret_file: /etc/hakit/chap\n    target_chap_user: t\n    target_chap_secret_file: /etc/hakit/tchap\n", ""},
		{"user without file", "    device: iscsi://h/iqn.2026-01.t:x/0\n    chap_user: u\n", "chap_user needs the file"},
		{"file without user", "    device: iscsi://h/iqn.2026-01.t:x/0\n    chap_secret_file: /k\n", "needs the CHAP user"},
		{"two users", "    device: iscsi://u%pw@h/iqn.2026-01.t:x/0\n    chap_user: u\n    chap_secret_file: /k\n", "keep one"},
		{"mutual alone", "    device: iscsi://h/iqn.2026-01.t:x/0\n    target_chap_secret_file: /k\n", "needs this initiator's CHAP"},
		{"same file", "    device: iscsi://h/iqn.2026-01.t:x/0\n    chap_user: u\n    chap_secret_file: /k\n    target_chap_secret_file: /k\n", "must differ"},
		{"chap on a path", "    device: /dev/sdb\n    chap_user: u\n    chap_secret_file: /k\n", "iscsi:// disks only"},
		{"percent in password", "    device: iscsi://u%50%zz!@h/iqn.2026-01.t:x/0\n", ""},
		{"bad URL masked", "    device: iscsi://u%S3cretpw@h/iqn.2026-01.t:x/lun\n", "u%***@"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig("c.yaml", []byte(base+tt.disk))
			if tt.msg == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err = %v; want %q", err, tt.msg)
			}
			if strings.Contains(err.Error(), "S3cret") {
				t.Fatalf("error shows the password: %v", err)
			}
		})
	}
	c, err := ParseConfig("c.yaml", []byte(base+"    device: iscsi://u%S3cretpw@h/iqn.2026-01.t:x/0\n"))
	if err != nil {
		t.Fatal(err)
	}
	if w := c.Warnings(); len(w) != 1 || !strings.Contains(w[0], "u%***@h") || strings.Contains(w[0], "S3cret") {
		t.Fatalf("Warnings = %q; want one, masked", w)
	}

	// Read from a file, the warning says who else can read it.
	for _, tt := range []struct {
		mode fs.FileMode
		want string
	}{
		{0o644, "(mode 0644) is readable by every local user: chmod 0600 it now"},
		{0o640, "(mode 0640) is readable by its group"},
		{0o600, ""},
	} {
		path := filepath.Join(t.TempDir(), "hwagent.yaml")
		if err := os.WriteFile(path, []byte(base+"    device: iscsi://u%S3cretpw@h/iqn.2026-01.t:x/0\n"), tt.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, tt.mode); err != nil { // past the umask
			t.Fatal(err)
		}
		c, err := LoadConfig(path)
		if err != nil {
			t.Fatal(err)
		}
		w := c.Warnings()
		if len(w) != 1 || strings.Contains(w[0], "S3cret") {
			t.Fatalf("mode %04o: Warnings = %q; want one, masked", tt.mode, w)
		}
		if tt.want == "" && strings.Contains(w[0], "mode 0") || tt.want != "" && !strings.Contains(w[0], tt.want) {
			t.Errorf("mode %04o: warning %q; want %q", tt.mode, w[0], tt.want)
		}
	}
}

// A file that is no configuration (config=/etc/shadow) is never echoed.
func TestConfigErrorHidesContent(t *testing.T) {
	for _, data := range []string{
		"root:$y$j9T$S3cretHash:19000:0:99999:7:::\n",
		"node: root:$y$S3cretHash\n",
		"- \"S3cretHash\"\n",
	} {
		_, err := ParseConfig("/etc/shadow", []byte(data))
		if err == nil || strings.Contains(err.Error(), "S3cret") {
			t.Errorf("ParseConfig(%q) = %v; want an error without the content", data, err)
		}
	}
}

func TestDeviceErr(t *testing.T) {
	const dev = "iscsi://127.0.0.1:3260/iqn.2026-11.io.hakit:t/1"
	inner := errors.New(dev + ": acquire: reservation held by another key")
	if got := DeviceErr(dev, inner); got.Error() != inner.Error() || !errors.Is(got, inner) {
		t.Errorf("an error naming the device: %q, want it unchanged", got)
	}
	bare := errors.New("context deadline exceeded")
	if got := DeviceErr(dev, bare); got.Error() != dev+": context deadline exceeded" || !errors.Is(got, bare) {
		t.Errorf("a bare error: %q, want the device in front", got)
	}
	if DeviceErr(dev, nil) != nil {
		t.Error("nil error: want nil")
	}
}
