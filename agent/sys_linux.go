package agent

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// peerCred reads the caller's credentials from the connection itself, as
// the kernel recorded them at connect: uid, gid and pid (SO_PEERCRED) and
// the supplementary groups (SO_PEERGROUPS). Nothing is read from /proc, so
// a caller that exits and whose pid is reused cannot lend another
// process's groups.
func peerCred(c net.Conn) (Cred, error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return Cred{}, fmt.Errorf("peer credentials: %T is not a Unix socket", c)
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return Cred{}, fmt.Errorf("peer credentials: %w", err)
	}
	var u *unix.Ucred
	var groups []uint32
	var serr, gerr error
	if err := raw.Control(func(fd uintptr) {
		u, serr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
		groups, gerr = peerGroups(int(fd))
	}); err != nil {
		return Cred{}, fmt.Errorf("peer credentials: %w", err)
	}
	if serr != nil {
		return Cred{}, fmt.Errorf("peer credentials: SO_PEERCRED: %w", serr)
	}
	if gerr != nil {
		return Cred{}, fmt.Errorf("peer credentials: SO_PEERGROUPS: %w", gerr)
	}
	return Cred{PID: u.Pid, UID: u.Uid, GID: u.Gid, Groups: groups}, nil
}

// maxGroups is the kernel's NGROUPS_MAX.
const maxGroups = 65536

// peerGroups reads SO_PEERGROUPS: an array of gid_t whose length the
// kernel reports (ERANGE with the needed length when the buffer is short).
func peerGroups(fd int) ([]uint32, error) {
	buf := make([]uint32, 64)
	for {
		n := uint32(len(buf) * 4)
		_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_PEERGROUPS, uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&n)), 0)
		if e == unix.ERANGE && int(n/4) > len(buf) && n/4 <= maxGroups {
			buf = make([]uint32, n/4)
			continue
		}
		if e != 0 {
			return nil, e
		}
		if int(n/4) > len(buf) {
			return nil, fmt.Errorf("%d bytes of groups for a %d-entry buffer", n, len(buf))
		}
		return buf[: n/4 : n/4], nil
	}
}

// lockSocket takes an exclusive lock next to the socket path, so a second
// agent fails before it touches anything. The returned file holds the lock
// until closed.
func lockSocket(path string) (*os.File, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("api socket directory: %w", err)
	}
	// Nobody but root (or the agent's user) may plant files there: the
	// lock and the socket are created in it.
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return nil, fmt.Errorf("api socket directory: %w", err)
	}
	if st.Mode&0o022 != 0 && st.Mode&unix.S_ISVTX == 0 {
		return nil, fmt.Errorf("api socket directory %s is writable by group or others (mode %04o): use a directory only root can write, e.g. /run/hakit", dir, st.Mode&0o7777)
	}
	if st.Uid != 0 && int(st.Uid) != os.Geteuid() {
		return nil, fmt.Errorf("api socket directory %s is owned by uid %d, not root or this user", dir, st.Uid)
	}
	// O_NOFOLLOW: a planted symlink is refused, never followed to a victim.
	f, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_RDWR|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o600)
	if errors.Is(err, unix.ELOOP) {
		return nil, fmt.Errorf("api socket lock %s.lock is a symbolic link: refusing to follow it (remove it)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("api socket lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			b, _ := os.ReadFile(path + ".lock")
			return nil, fmt.Errorf("%w on %s (lock held by pid %s)", ErrAgentRunning, path, string(b))
		}
		return nil, fmt.Errorf("api socket lock %s.lock: %w", path, err)
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())), 0)
	return f, nil
}

// Running reports whether an agent holds the lock of the API socket path
// (whether or not it answers), and its pid as written in the lock file.
func Running(path string) (pid string, running bool, err error) {
	f, err := os.OpenFile(path+".lock", os.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if errors.Is(err, os.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("api socket lock: %w", err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); err != nil {
		if errors.Is(err, unix.EWOULDBLOCK) {
			b, _ := os.ReadFile(path + ".lock")
			return string(b), true, nil
		}
		return "", false, fmt.Errorf("api socket lock %s.lock: %w", path, err)
	}
	_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
	return "", false, nil
}

// listenSocket removes a stale socket (the lock is ours, so no agent serves
// it) and listens on path with the socket already restricted to the owner
// and the group: it is bound in a private directory (0700, beside path),
// given its owner and mode there, where no one else can reach or swap it,
// and only then renamed into place. It never exists at path with another
// mode or owner, and no chown or chmod follows a name others could plant.
// When the directory keeps others out, its group becomes the API group (it
// may enter, never write), so members reach the socket without a looser
// directory.
func listenSocket(path string, a Access, mode os.FileMode) (net.Listener, error) {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("api socket: remove stale %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	if a.HasGroup {
		if err := shareDir(dir, a); err != nil {
			return nil, err
		}
	}
	priv, err := os.MkdirTemp(dir, ".hwagent-")
	if err != nil {
		return nil, fmt.Errorf("api socket: private directory: %w", err)
	}
	defer os.RemoveAll(priv)
	tmp := filepath.Join(priv, "s")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("api socket: %w", err)
	}
	// The bound name moves: remove the final path on close instead.
	l.SetUnlinkOnClose(false)
	fail := func(format string, args ...any) (net.Listener, error) {
		l.Close()
		return nil, fmt.Errorf(format, args...)
	}
	if a.HasGroup {
		if err := unix.Fchownat(unix.AT_FDCWD, tmp, 0, int(a.GID), unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fail("api socket: chown to group %s: %w", a.Group, err)
		}
	}
	if err := unix.Fchmodat(unix.AT_FDCWD, tmp, uint32(mode.Perm()), 0); err != nil {
		return fail("api socket: chmod: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(tmp, &st); err != nil {
		return fail("api socket: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail("api socket: rename into place: %w", err)
	}
	return &socketListener{UnixListener: l, path: path, dev: st.Dev, ino: st.Ino}, nil
}

// socketListener removes its socket file on Close, if the file at path is
// still the one it bound.
type socketListener struct {
	*net.UnixListener
	path     string
	dev, ino uint64
	once     sync.Once
}

// Close stops listening and removes the socket file.
func (l *socketListener) Close() error {
	err := l.UnixListener.Close()
	l.once.Do(func() {
		var st unix.Stat_t
		if unix.Lstat(l.path, &st) == nil && st.Dev == l.dev && st.Ino == l.ino {
			_ = os.Remove(l.path)
		}
	})
	return err
}

// shareDir lets the API group enter the socket directory, by descriptor:
// a directory owned by root that others may not enter, whose group is root,
// gets the API group and group search permission, never group write. A
// directory others may already enter (such as /run) is left alone.
func shareDir(dir string, a Access) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("api socket directory %s: %w", dir, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("api socket directory %s: %w", dir, err)
	}
	if st.Mode&0o001 != 0 || st.Uid != 0 || (st.Gid != 0 && st.Gid != a.GID) {
		return nil
	}
	if st.Gid != a.GID {
		if err := unix.Fchown(fd, -1, int(a.GID)); err != nil {
			return fmt.Errorf("api socket directory %s: give it group %s: %w", dir, a.Group, err)
		}
	}
	if m := st.Mode & 0o7777; m&0o010 == 0 {
		if err := unix.Fchmod(fd, (m|0o010)&^0o020); err != nil {
			return fmt.Errorf("api socket directory %s: let group %s enter: %w", dir, a.Group, err)
		}
	}
	return nil
}

// fdBudget is how many file descriptors the API and metrics connections
// may use: half the soft RLIMIT_NOFILE, the rest for devices and sessions.
func fdBudget() int {
	var r unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &r); err != nil || r.Cur == unix.RLIM_INFINITY || r.Cur > 1<<20 {
		return 0
	}
	return int(r.Cur / 2)
}
