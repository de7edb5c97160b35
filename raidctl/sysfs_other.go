//go:build !linux

package raidctl

import (
	"errors"
	"fmt"
	"io/fs"
	"runtime"
)

// liveSysfs fails: only Linux has md and /sys.
func liveSysfs() (fs.FS, error) {
	return nil, fmt.Errorf("raidctl: the sysfs md reader needs Linux, not %s/%s: %w", runtime.GOOS, runtime.GOARCH, errors.ErrUnsupported)
}
