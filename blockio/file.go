package blockio

import (
	"context"
	"os"
	"unsafe"
)

// File is a Sectors over a block device or a regular file, opened with
// O_DIRECT|O_SYNC on Linux so that each write reaches the device before it
// returns and each read comes from it, not the page cache. Its buffers are
// aligned to the sector size as O_DIRECT wants. Each call runs the system
// call on its own goroutine so that a hung device does not outlive ctx for
// the caller (the goroutine ends when the kernel completes or fails the
// I/O). Safe for concurrent use.
type File struct {
	f    *os.File
	name string
	ss   int
}

// Name is the path it was opened with.
func (f *File) Name() string { return f.name }

// SectorSize is the device's logical sector size (BLKSSZGET), or 512 for
// a regular file.
func (f *File) SectorSize() int { return f.ss }

// Close closes the file.
func (f *File) Close() error { return f.f.Close() }

// alignedBuf returns n bytes whose start is aligned to a.
func alignedBuf(n, a int) []byte {
	b := make([]byte, n+a)
	off := int(uintptr(unsafe.Pointer(&b[0])) % uintptr(a))
	if off != 0 {
		off = a - off
	}
	return b[off : off+n : off+n]
}

type ioResult struct {
	n   int
	err error
}

func (f *File) io(ctx context.Context, op string, lba uint64, buf []byte, write bool) error {
	if err := checkLen(buf, f.ss); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return deadline(ctx, op, f.name)
	}
	ab := alignedBuf(len(buf), max(f.ss, 4096))
	if write {
		copy(ab, buf)
	}
	off := int64(lba) * int64(f.ss)
	done := make(chan ioResult, 1)
	go func() {
		var r ioResult
		if write {
			r.n, r.err = f.f.WriteAt(ab, off)
		} else {
			r.n, r.err = f.f.ReadAt(ab, off)
		}
		done <- r
	}()
	select {
	case <-ctx.Done():
		return deadline(ctx, op, f.name)
	case r := <-done:
		if r.n != len(ab) {
			return &ShortError{Op: op, LBA: lba, Want: len(ab), Got: r.n, Device: f.name, Err: r.err}
		}
		if !write {
			copy(buf, ab)
		}
		return nil
	}
}

// ReadSectors reads len(buf) bytes at sector lba.
func (f *File) ReadSectors(ctx context.Context, lba uint64, buf []byte) error {
	return f.io(ctx, "read", lba, buf, false)
}

// WriteSectors writes buf at sector lba.
func (f *File) WriteSectors(ctx context.Context, lba uint64, buf []byte) error {
	return f.io(ctx, "write", lba, buf, true)
}
