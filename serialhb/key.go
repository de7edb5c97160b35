package serialhb

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/hakit/hakit/internal/secretfile"
)

// ErrKeyFile: a key file that cannot be used (its mode lets others read it).
var ErrKeyFile = errors.New("serialhb: unusable key file")

// LoadKey reads a shared key file: its bytes, without trailing white space,
// at least MinKeyLen of them. Like Heartbeat's authkeys, the file must be
// owned by root or this user and not readable by group or others; it is
// opened without following symlinks and may hold at most
// secretfile.MaxSize bytes. Errors name the path and wrap fs.ErrNotExist,
// ErrShortKey or ErrKeyFile.
func LoadKey(path string) ([]byte, error) {
	b, err := secretfile.Read(path)
	switch {
	case errors.Is(err, secretfile.ErrSize) && !strings.Contains(err.Error(), "empty"):
		return nil, fmt.Errorf("%w: %w", ErrKeyFile, err)
	case errors.Is(err, secretfile.ErrSize):
		return nil, fmt.Errorf("%w: %s is empty (need at least %d bytes)", ErrShortKey, path, MinKeyLen)
	case errors.Is(err, secretfile.ErrUnsafe):
		return nil, fmt.Errorf("%w: %w", ErrKeyFile, err)
	case err != nil:
		return nil, fmt.Errorf("serialhb: key file: %w", err)
	}
	key := bytes.TrimRight(b, " \t\r\n")
	if len(key) < MinKeyLen {
		return nil, fmt.Errorf("%w: %s holds %d bytes, need at least %d (e.g. head -c 32 /dev/urandom | base64 > %s)", ErrShortKey, path, len(key), MinKeyLen, path)
	}
	return key, nil
}
