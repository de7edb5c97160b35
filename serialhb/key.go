package serialhb

import (
	"bytes"
	"errors"
	"fmt"
	"os"
)

// ErrKeyFile: a key file that cannot be used (its mode lets others read it).
var ErrKeyFile = errors.New("serialhb: unusable key file")

// LoadKey reads a shared key file: its bytes, without trailing white space,
// at least MinKeyLen of them. Like Heartbeat's authkeys, the file must not
// be readable by group or others. Errors name the path and wrap
// fs.ErrNotExist, ErrShortKey or ErrKeyFile.
func LoadKey(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("serialhb: key file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("serialhb: key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrKeyFile, path)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %#o, want 0600 or stricter (chmod 600 %s)", ErrKeyFile, path, fi.Mode().Perm(), path)
	}
	b := make([]byte, 4096)
	n, err := f.Read(b)
	if err != nil && n == 0 {
		return nil, fmt.Errorf("%w: %s is empty (need at least %d bytes)", ErrShortKey, path, MinKeyLen)
	}
	key := bytes.TrimRight(b[:n], " \t\r\n")
	if len(key) < MinKeyLen {
		return nil, fmt.Errorf("%w: %s holds %d bytes, need at least %d (e.g. head -c 32 /dev/urandom | base64 > %s)", ErrShortKey, path, len(key), MinKeyLen, path)
	}
	return bytes.Clone(key), nil
}
