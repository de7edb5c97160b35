package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A symlink planted at the lock's path is refused, never followed: the
// file it points at is untouched. A socket directory others can write is
// refused too.
func TestLockSocketRefusesPlantedSymlink(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	sockDir := filepath.Join(dir, "run")
	if err := os.Mkdir(sockDir, 0o750); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(sockDir, "hwagent.sock")
	if err := os.Symlink(victim, sock+".lock"); err != nil {
		t.Fatal(err)
	}
	f, err := lockSocket(sock)
	if err == nil {
		f.Close()
		t.Fatal("lock taken through a planted symlink")
	}
	if !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("error %v does not say why", err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Errorf("victim changed: %q", b)
	}
	if fi, _ := os.Stat(victim); fi.Mode().Perm() != 0o644 {
		t.Errorf("victim mode changed: %v", fi.Mode())
	}

	open := filepath.Join(dir, "open")
	if err := os.Mkdir(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if f, err := lockSocket(filepath.Join(open, "hwagent.sock")); err == nil {
		f.Close()
		t.Error("lock taken in a world-writable directory")
	} else if !strings.Contains(err.Error(), "writable by group or others") {
		t.Errorf("error %v does not say why", err)
	}
}
