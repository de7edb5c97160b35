package secretfile

import (
	"fmt"
	"io"
	"os"
	"syscall"
)

// Read returns the secret in path without its trailing newline. The file is
// opened without following a symlink and judged on the open descriptor: it
// must be a regular file owned by root or the effective uid, with mode 0600
// or stricter, and hold 1 to MaxSize bytes. Errors name the path and the
// fix, never the content.
func Read(path string) ([]byte, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
	if err == syscall.ELOOP {
		return nil, fmt.Errorf("%w: %s is a symlink: name the file itself", ErrUnsafe, path)
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return nil, &os.PathError{Op: "fstat", Path: path, Err: err}
	}
	if err := check(path, st.Mode&syscall.S_IFMT == syscall.S_IFREG, st.Mode&0o7777, int(st.Uid), os.Geteuid(), st.Size); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, &os.PathError{Op: "read", Path: path, Err: err}
	}
	return trim(path, b)
}
