// Package blockiotest is the test double of blockio: an in-memory disk of
// sectors with fault injection.
package blockiotest

import (
	"context"
	"fmt"
	"sync"
)

// Mem is an in-memory blockio.Sectors. Safe for concurrent use.
type Mem struct {
	mu    sync.Mutex
	ss    int
	data  []byte
	fail  error
	reads int
}

// New returns a zeroed disk of sectors sectors of ss bytes.
func New(ss, sectors int) *Mem { return &Mem{ss: ss, data: make([]byte, ss*sectors)} }

// SectorSize is the sector size given to New.
func (m *Mem) SectorSize() int { return m.ss }

// Fail makes every later call return err (nil heals).
func (m *Mem) Fail(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fail = err
}

// Reads counts ReadSectors calls.
func (m *Mem) Reads() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.reads
}

func (m *Mem) span(ctx context.Context, lba uint64, n int) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if m.fail != nil {
		return 0, m.fail
	}
	off := lba * uint64(m.ss)
	if n == 0 || n%m.ss != 0 || off+uint64(n) > uint64(len(m.data)) || off+uint64(n) < off {
		return 0, fmt.Errorf("blockiotest: %d bytes at sector %d: outside the %d-byte disk or not whole sectors", n, lba, len(m.data))
	}
	return int(off), nil
}

// ReadSectors copies len(buf) bytes at lba into buf.
func (m *Mem) ReadSectors(ctx context.Context, lba uint64, buf []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reads++
	off, err := m.span(ctx, lba, len(buf))
	if err != nil {
		return err
	}
	copy(buf, m.data[off:])
	return nil
}

// WriteSectors copies buf to lba.
func (m *Mem) WriteSectors(ctx context.Context, lba uint64, buf []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	off, err := m.span(ctx, lba, len(buf))
	if err != nil {
		return err
	}
	copy(m.data[off:], buf)
	return nil
}
