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
	return nil, fmt.Errorf("raidctl: %w on %s/%s: %w", errNoSysfs, runtime.GOOS, runtime.GOARCH, errors.ErrUnsupported)
}
