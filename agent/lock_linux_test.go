package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
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

// The API socket appears at its path in one step (a rename, never a
// create there) with its final mode already set, and goes on Close.
func TestListenSocketAppearsComplete(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "hwagent.sock")
	in, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(in)
	if _, err := unix.InotifyAddWatch(in, dir, unix.IN_CREATE|unix.IN_MOVED_TO|unix.IN_ATTRIB); err != nil {
		t.Fatal(err)
	}
	old := unix.Umask(0) // a careless umask would leave a fresh socket 0777
	l, err := listenSocket(sock, Access{}, 0o660)
	unix.Umask(old)
	if err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(sock, &st); err != nil {
		t.Fatal(err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFSOCK || st.Mode&0o7777 != 0o660 {
		t.Errorf("socket mode %o, want a socket 0660", st.Mode)
	}
	buf := make([]byte, 4096)
	n, err := unix.Read(in, buf)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for off := 0; off+unix.SizeofInotifyEvent <= n; {
		ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
		name := strings.TrimRight(string(buf[off+unix.SizeofInotifyEvent:off+unix.SizeofInotifyEvent+int(ev.Len)]), "\x00")
		off += unix.SizeofInotifyEvent + int(ev.Len)
		if name != "hwagent.sock" {
			continue
		}
		switch {
		case ev.Mask&unix.IN_CREATE != 0:
			got = append(got, "create")
		case ev.Mask&unix.IN_MOVED_TO != 0:
			got = append(got, "moved-to")
		case ev.Mask&unix.IN_ATTRIB != 0:
			got = append(got, "attrib")
		}
	}
	if strings.Join(got, ",") != "moved-to" {
		t.Errorf("events on the socket's path: %v, want only moved-to (created elsewhere, then renamed in)", got)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(sock); !os.IsNotExist(err) {
		t.Errorf("socket left after Close: %v", err)
	}
	if es, _ := os.ReadDir(dir); len(es) != 0 {
		t.Errorf("left in the directory: %v", es)
	}
}
