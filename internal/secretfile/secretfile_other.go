//go:build !linux

package secretfile

import (
	"errors"
	"fmt"
)

// Read is Linux only.
func Read(path string) ([]byte, error) {
	return nil, fmt.Errorf("secretfile: %s: %w", path, errors.ErrUnsupported)
}
