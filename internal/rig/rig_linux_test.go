package rig

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hakit/hakit/internal/testutil"
	"golang.org/x/sys/unix"
)

func TestIntegrationDisk(t *testing.T) {
	t.Parallel()
	initiators := []string{"iqn.2026-11.io.hakit:node-a", "iqn.2026-11.io.hakit:node-b"}
	d := DiskFor(t, DiskConfig{Size: 8 << 20, Initiators: initiators})
	ctx := context.Background()

	out, err := d.Show(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range append([]string{"Target 1: " + d.IQN(), "LUN: 1", "Backing store path: " + d.BackingFile(), "Size: 8 MB"}, initiators...) {
		if !strings.Contains(out, want) {
			t.Errorf("tgtadm show lacks %q:\n%s", want, out)
		}
	}
	if fi, err := os.Stat(d.BackingFile()); err != nil || fi.Size() != 8<<20 {
		t.Fatalf("backing file: %v %v", fi, err)
	}
	if !strings.HasPrefix(d.URL(), "iscsi://127.0.0.1:") || !strings.HasSuffix(d.URL(), "/"+d.IQN()+"/1") {
		t.Errorf("URL %q", d.URL())
	}

	// Data written to the backing file survives a restart on the same port.
	if err := os.WriteFile(d.BackingFile()+".marker", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	port, pid := d.Port(), d.PID()
	if err := d.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if d.Port() != port || d.PID() == pid || d.PID() == 0 {
		t.Errorf("restart: port %d->%d pid %d->%d", port, d.Port(), pid, d.PID())
	}
	if out, err := d.Show(ctx); err != nil || !strings.Contains(out, initiators[1]) {
		t.Errorf("after restart: %v\n%s", err, out)
	}
	if err := d.SetOnline(ctx, false); err != nil {
		t.Error(err)
	}
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	if d.Running() {
		t.Error("running after Stop")
	}
	if err := unix.Kill(pid, 0); err == nil {
		t.Errorf("old tgtd %d still alive", pid)
	}
	if _, err := os.Stat(d.BackingFile()); err != nil {
		t.Errorf("Stop removed the backing file: %v", err)
	}
}

func TestIntegrationDiskWithLibiscsi(t *testing.T) {
	t.Parallel()
	testutil.SkipUnlessTools(t, "iscsi-inq")
	d := DiskFor(t, DiskConfig{Initiators: []string{"iqn.2026-11.io.hakit:node-a"}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "iscsi-inq", "-i", "iqn.2026-11.io.hakit:node-a", d.URL()).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Peripheral Device Type") {
		t.Fatalf("iscsi-inq from an allowed initiator: %v\n%s", err, out)
	}
	out, err = exec.CommandContext(ctx, "iscsi-inq", "-i", "iqn.2026-11.io.hakit:node-a", "-e", "1", "-c", "128", d.URL()).CombinedOutput()
	if err != nil || !strings.Contains(string(out), d.Serial()) {
		t.Fatalf("unit serial number: want %s: %v\n%s", d.Serial(), err, out)
	}
	out, err = exec.CommandContext(ctx, "iscsi-inq", "-i", "iqn.2026-11.io.hakit:stranger", d.URL()).CombinedOutput()
	if err == nil {
		t.Fatalf("iscsi-inq from an initiator outside the ACL succeeded:\n%s", out)
	}
	n, err := d.DropConnections(ctx, "")
	if err != nil || n != 0 {
		t.Errorf("DropConnections with no session: %d %v", n, err)
	}
}

func TestIntegrationDisksSideBySide(t *testing.T) {
	t.Parallel()
	a := DiskFor(t, DiskConfig{})
	b := DiskFor(t, DiskConfig{})
	if a.Port() == b.Port() || a.IQN() == b.IQN() || a.BackingFile() == b.BackingFile() {
		t.Fatalf("two disks collide: %s %s", a.URL(), b.URL())
	}
}

func readFull(t *testing.T, f *os.File, n int, timeout time.Duration) []byte {
	t.Helper()
	buf := make([]byte, 0, n)
	tmp := make([]byte, 256)
	deadline := time.Now().Add(timeout)
	for len(buf) < n {
		_ = f.SetReadDeadline(deadline)
		k, err := f.Read(tmp)
		buf = append(buf, tmp[:k]...)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return buf
			}
			t.Fatalf("read %s: %v", f.Name(), err)
		}
	}
	return buf
}

func openEnd(t *testing.T, path string) *os.File {
	t.Helper()
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	f := os.NewFile(uintptr(fd), path)
	t.Cleanup(func() { f.Close() })
	return f
}

func TestCable(t *testing.T) {
	t.Parallel()
	c := CableFor(t, CableConfig{Seed: 1})
	a, b := openEnd(t, c.PathA()), openEnd(t, c.PathB())

	msg := []byte("hello over the null-modem\x00\xff\n\r")
	if _, err := a.Write(msg); err != nil {
		t.Fatal(err)
	}
	if got := readFull(t, b, len(msg), 2*time.Second); !bytes.Equal(got, msg) {
		t.Fatalf("A->B got %q, want %q", got, msg)
	}
	if _, err := b.Write([]byte("back")); err != nil {
		t.Fatal(err)
	}
	if got := readFull(t, a, 4, 2*time.Second); string(got) != "back" {
		t.Fatalf("B->A got %q", got)
	}

	c.Cut()
	if _, err := a.Write([]byte("lost")); err != nil {
		t.Fatal(err)
	}
	if got := readFull(t, b, 1, 200*time.Millisecond); len(got) != 0 {
		t.Fatalf("bytes crossed a cut cable: %q", got)
	}
	c.Reconnect()
	if _, err := a.Write([]byte("again")); err != nil {
		t.Fatal(err)
	}
	if got := readFull(t, b, 5, 2*time.Second); string(got) != "again" {
		t.Fatalf("after reconnect got %q", got)
	}
	// The relay counts a chunk once its write returns, which may be just
	// after the reader got the bytes.
	statsOK := func(st CableStats) bool {
		return st.Lost[A] == 4 && st.Relayed[A] == uint64(len(msg)+5) && st.Relayed[B] == 4
	}
	for deadline := time.Now().Add(2 * time.Second); !statsOK(c.Stats()) && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if st := c.Stats(); !statsOK(st) {
		t.Errorf("stats %+v", st)
	}

	// Delay.
	c.SetDelay(100 * time.Millisecond)
	start := time.Now()
	if _, err := a.Write([]byte("d")); err != nil {
		t.Fatal(err)
	}
	if got := readFull(t, b, 1, 2*time.Second); string(got) != "d" {
		t.Fatalf("delayed byte: %q", got)
	}
	if el := time.Since(start); el < 90*time.Millisecond {
		t.Errorf("delay 100ms, byte arrived after %v", el)
	}
	c.SetDelay(0)

	// Noise: every byte flipped, then every byte dropped.
	if err := c.SetNoise(Noise{Flip: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Write([]byte{0, 0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	got := readFull(t, b, 4, 2*time.Second)
	for _, x := range got {
		if x == 0 || x&(x-1) != 0 {
			t.Errorf("flip: byte %08b is not one flipped bit", x)
		}
	}
	if err := c.SetNoise(Noise{Drop: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Write([]byte("gone")); err != nil {
		t.Fatal(err)
	}
	if got := readFull(t, b, 1, 200*time.Millisecond); len(got) != 0 {
		t.Errorf("drop: %q arrived", got)
	}
	if err := c.SetNoise(Noise{Insert: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Write([]byte("ab")); err != nil {
		t.Fatal(err)
	}
	if got := readFull(t, b, 4, 2*time.Second); len(got) != 4 || got[1] != 'a' || got[3] != 'b' {
		t.Errorf("insert: got %q", got)
	}
	if err := c.SetNoise(Noise{Drop: 2}); err == nil {
		t.Error("noise probability 2 accepted")
	}
	_ = c.SetNoise(Noise{})

	// Inject reaches only the named side.
	if err := c.Inject(B, []byte("zz")); err != nil {
		t.Fatal(err)
	}
	if got := readFull(t, b, 2, 2*time.Second); string(got) != "zz" {
		t.Errorf("inject: %q", got)
	}
}

func TestCableUnplugReplug(t *testing.T) {
	t.Parallel()
	c := CableFor(t, CableConfig{})
	a := openEnd(t, c.PathA())
	old := c.PTS(B)
	if err := c.Unplug(B); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(c.PathB()); err == nil {
		t.Errorf("path B still exists after unplug")
	}
	if err := c.Replug(B); err != nil {
		t.Fatal(err)
	}
	if c.PTS(B) == "" {
		t.Fatalf("replug gave no pty (old %s)", old)
	}
	b := openEnd(t, c.PathB())
	if _, err := a.Write([]byte("hi")); err != nil {
		t.Fatal(err)
	}
	if got := readFull(t, b, 2, 2*time.Second); string(got) != "hi" {
		t.Fatalf("after replug got %q", got)
	}
}

func carrier(t *testing.T, nw *Net, s Side) string {
	t.Helper()
	var v []byte
	err := nw.Do(s, func() error {
		// sysfs shows the namespace of the mount, so read through the
		// namespace's own view with ip instead.
		out, err := nw.Command(context.Background(), s, "cat", "/sys/class/net/"+nw.Interface(s)+"/carrier").Output()
		v = out
		return err
	})
	if err != nil {
		t.Fatalf("carrier of %s: %v", s, err)
	}
	return strings.TrimSpace(string(v))
}

func TestIntegrationNet(t *testing.T) {
	t.Parallel()
	nw := NetFor(t, NetConfig{})
	ctx := context.Background()
	if nw.Namespace(A) == nw.Namespace(B) || nw.Addr(A) == nw.Addr(B) {
		t.Fatalf("sides collide")
	}
	if !nw.Addr(A).Addr().IsLinkLocalUnicast() {
		t.Errorf("address %v is not link-local", nw.Addr(A))
	}
	waitCarrier := func(s Side, want string) {
		t.Helper()
		deadline := time.Now().Add(3 * time.Second)
		for carrier(t, nw, s) != want {
			if time.Now().After(deadline) {
				t.Fatalf("carrier of %s: want %s", s, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitCarrier(A, "1")
	if err := nw.SetLink(ctx, B, false); err != nil {
		t.Fatal(err)
	}
	waitCarrier(A, "0")
	if err := nw.SetLink(ctx, B, true); err != nil {
		t.Fatal(err)
	}
	waitCarrier(A, "1")

	// The other namespace's address answers a ping from inside A only.
	out, err := nw.Command(ctx, A, "ping", "-c", "1", "-W", "2", nw.Addr(B).Addr().String()).CombinedOutput()
	if err != nil {
		t.Fatalf("ping A->B: %v\n%s", err, out)
	}
	// Do really enters the namespace: the veth end is visible inside only.
	err = nw.Do(A, func() error {
		_, err := os.ReadFile("/proc/self/net/dev")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("/sys/class/net/" + nw.Interface(A)); err == nil {
		t.Errorf("veth end %s visible in the host namespace", nw.Interface(A))
	}
}

func TestIntegrationNetCleanup(t *testing.T) {
	t.Parallel()
	var names []string
	t.Run("build", func(t *testing.T) {
		nw := NetFor(t, NetConfig{})
		names = []string{nw.Namespace(A), nw.Namespace(B)}
	})
	for _, n := range names {
		if _, err := os.Stat("/run/netns/" + n); err == nil {
			t.Errorf("namespace %s left behind", n)
		}
	}
}

func TestOwnerPID(t *testing.T) {
	for name, want := range map[string]int{"hakit-123-4-a": 123, "hakit-9-1-disk-xyz": 9, "other-1-2": 0, "hakit-x-1": 0, "hakit-": 0} {
		if got := ownerPID(name, namePrefix); got != want {
			t.Errorf("ownerPID(%q) = %d, want %d", name, got, want)
		}
	}
	if pidAlive(-1) || !pidAlive(os.Getpid()) {
		t.Error("pidAlive")
	}
}

func TestParseSessions(t *testing.T) {
	out := `Target 1: iqn.x:disk
    System information:
        Driver: iscsi
        State: ready
    I_T nexus information:
        I_T nexus: 1
            Initiator: iqn.2026-11.io.hakit:node-a alias: none
            Connection: 0
                IP Address: 127.0.0.1
        I_T nexus: 2
            Initiator: iqn.2026-11.io.hakit:node-b alias: none
            Connection: 0
                IP Address: 127.0.0.1
    LUN information:
        LUN: 0
`
	got := parseSessions(out)
	if len(got) != 2 || got[0].sid != "1" || got[1].initiator != "iqn.2026-11.io.hakit:node-b" || len(got[1].cids) != 1 {
		t.Fatalf("%+v", got)
	}
}
