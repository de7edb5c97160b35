//go:build !linux

package blockio

import (
	"errors"
	"fmt"
	"runtime"
)

// OpenFile is Linux only (O_DIRECT, BLKSSZGET).
func OpenFile(path string) (*File, error) {
	return nil, fmt.Errorf("blockio: %s: O_DIRECT sector I/O on %s/%s: %w", path, runtime.GOOS, runtime.GOARCH, errors.ErrUnsupported)
}
