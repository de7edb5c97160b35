package blockio

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// OpenFile opens path (a block device or a regular file) for sector I/O
// with O_DIRECT|O_SYNC. The sector size is the device's logical one
// (BLKSSZGET); a regular file has 512-byte sectors.
func OpenFile(path string) (*File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|unix.O_DIRECT|unix.O_SYNC, 0)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	ss := 512
	if st.Mode()&os.ModeDevice != 0 {
		n, err := unix.IoctlGetInt(int(f.Fd()), unix.BLKSSZGET)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: BLKSSZGET: %w", path, err)
		}
		if n <= 0 || n > 1<<16 || n&(n-1) != 0 {
			f.Close()
			return nil, fmt.Errorf("%s: BLKSSZGET says %d bytes, not a sector size", path, n)
		}
		ss = n
	}
	return &File{f: f, name: path, ss: ss}, nil
}
