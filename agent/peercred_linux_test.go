package agent

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hakit/hakit/internal/testutil"
)

// TestIntegrationPeerGroupsFromSocket: a caller running as uid 65534 with
// supplementary groups connects and exits before the agent accepts. Its
// groups come from the connection (SO_PEERGROUPS), not from /proc/PID
// (gone, or another process's once the pid is reused).
func TestIntegrationPeerGroupsFromSocket(t *testing.T) {
	testutil.SkipUnlessRoot(t)
	dir, err := os.MkdirTemp("", "hwagent-groups-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "s.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := os.Chmod(sock, 0o666); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "client")
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	groups := []uint32{4242, 4343, 65534}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "HWAGENT_CONNECT_HELPER="+sock)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: groups}}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cr, err := peerCred(c)
	if err != nil {
		t.Fatal(err)
	}
	if cr.UID != 65534 || cr.GID != 65534 || cr.PID != int32(cmd.Process.Pid) {
		t.Errorf("cred %+v, want uid/gid 65534 pid %d", cr, cmd.Process.Pid)
	}
	if diff := cmp.Diff(groups, cr.Groups); diff != "" {
		t.Errorf("groups of a caller that has exited (-want +got):\n%s", diff)
	}
	a := Access{GID: 4343, HasGroup: true, Group: "g4343"}
	if err := a.Check(cr); err != nil {
		t.Errorf("a member by supplementary group refused: %v", err)
	}
}
