// Package blockio reads and writes whole sectors of a shared disk behind
// one small interface, Sectors, so that code above it (the SBD mailbox, the
// disk heartbeat) works the same on a block device opened with O_DIRECT
// (/dev/sdX, /dev/loopN, a file in tests) and on a SCSI logical unit driven
// with READ(16)/WRITE(16) FUA through SG_IO or hakit's iSCSI initiator.
//
// Every call takes a context; a call that has not completed when the
// context ends returns an error wrapping os.ErrDeadlineExceeded (or the
// context's error), never a short read taken for data.
package blockio

import (
	"context"
	"fmt"
	"os"

	"github.com/hakit/hakit/scsi"
)

// Sectors is a disk addressed in sectors of SectorSize bytes. ReadSectors
// fills buf (a whole number of sectors) from sector lba; WriteSectors writes
// buf there and returns once the device reports it stable (O_DIRECT|O_SYNC,
// or FUA). Implementations document their concurrency guarantee.
type Sectors interface {
	SectorSize() int
	ReadSectors(ctx context.Context, lba uint64, buf []byte) error
	WriteSectors(ctx context.Context, lba uint64, buf []byte) error
}

// SectorCloser is a Sectors its opener owns.
type SectorCloser interface {
	Sectors
	Close() error
}

// ShortError is an I/O that moved fewer bytes than asked.
type ShortError struct {
	Op     string
	LBA    uint64
	Want   int
	Got    int
	Device string
	// Err is the system call's error, if any (io.EOF past the end).
	Err error
}

func (e *ShortError) Error() string {
	msg := fmt.Sprintf("%s: %s at sector %d: %d of %d bytes", e.Device, e.Op, e.LBA, e.Got, e.Want)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *ShortError) Unwrap() error { return e.Err }

// SizeError is a buffer that is not a whole, non-zero number of sectors.
type SizeError struct {
	Len, SectorSize int
}

func (e *SizeError) Error() string {
	return fmt.Sprintf("buffer of %d bytes is not a whole number of %d-byte sectors", e.Len, e.SectorSize)
}

func checkLen(buf []byte, ss int) error {
	if ss <= 0 || len(buf) == 0 || len(buf)%ss != 0 {
		return &SizeError{Len: len(buf), SectorSize: ss}
	}
	return nil
}

// SCSI is a Sectors over a SCSI logical unit: READ(16) and WRITE(16) with
// FUA, so that neither read nor write is served by a cache another node's
// write has bypassed. Writes outside Allowed are refused with a
// *scsi.RegionError before anything is sent. It is as safe for concurrent
// use as the Device's Transport.
type SCSI struct {
	Device *scsi.Device
	// BlockSize is the logical block size (READ CAPACITY's).
	BlockSize int
	// Allowed is the region writes may touch.
	Allowed scsi.Region
}

// SectorSize is the logical block size.
func (s *SCSI) SectorSize() int { return s.BlockSize }

// ReadSectors reads len(buf) bytes at lba.
func (s *SCSI) ReadSectors(ctx context.Context, lba uint64, buf []byte) error {
	if err := checkLen(buf, s.BlockSize); err != nil {
		return err
	}
	b, err := s.Device.ReadBlocks(ctx, lba, uint32(len(buf)/s.BlockSize), s.BlockSize, true)
	if err != nil {
		return err
	}
	copy(buf, b)
	return nil
}

// WriteSectors writes buf at lba, inside Allowed only.
func (s *SCSI) WriteSectors(ctx context.Context, lba uint64, buf []byte) error {
	if err := checkLen(buf, s.BlockSize); err != nil {
		return err
	}
	return s.Device.WriteBlocks(ctx, s.Allowed, lba, buf, s.BlockSize, true)
}

// deadline wraps a context's end for a call that did not complete.
func deadline(ctx context.Context, op, dev string) error {
	err := ctx.Err()
	if err == context.DeadlineExceeded {
		return fmt.Errorf("%s: %s: %w (%w)", dev, op, os.ErrDeadlineExceeded, err)
	}
	return fmt.Errorf("%s: %s: %w", dev, op, err)
}
