// Package secretfile reads small secrets (CHAP secrets, the heartbeat key)
// from files that only their owner may read.
package secretfile

import (
	"bytes"
	"errors"
	"fmt"
)

// MaxSize is the largest secret file accepted, in bytes.
const MaxSize = 4096

// ErrUnsafe is a secret file that others could read or replace: a symlink,
// not a regular file, owned by another user, or readable by group or
// others. The error names the fix.
var ErrUnsafe = errors.New("secret file unsafe")

// ErrSize is a secret file that is empty or over MaxSize bytes.
var ErrSize = errors.New("secret file size")

// check judges an open file's metadata: regular, owned by root or euid, mode
// no wider than 0600, at most MaxSize bytes.
func check(path string, regular bool, perm uint32, uid, euid int, size int64) error {
	switch {
	case !regular:
		return fmt.Errorf("%w: %s is not a regular file", ErrUnsafe, path)
	case uid != 0 && uid != euid:
		return fmt.Errorf("%w: %s is owned by uid %d, want root or uid %d (chown root %s)", ErrUnsafe, path, uid, euid, path)
	case perm&0o177 != 0:
		return fmt.Errorf("%w: %s has mode %#o, want 0600 or stricter (chmod 600 %s)", ErrUnsafe, path, perm, path)
	case size > MaxSize:
		return fmt.Errorf("%w: %s holds %d bytes, at most %d accepted", ErrSize, path, size, MaxSize)
	}
	return nil
}

// trim drops one trailing newline (\n or \r\n) and checks what is left.
func trim(path string, b []byte) ([]byte, error) {
	if len(b) > MaxSize {
		return nil, fmt.Errorf("%w: %s holds over %d bytes", ErrSize, path, MaxSize)
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: %s is empty", ErrSize, path)
	}
	return b, nil
}
