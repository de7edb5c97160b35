package scsi

import (
	"context"
	"fmt"
)

// Region is a range of logical blocks a caller allows writes to: Len blocks
// from Start. A zero Len allows nothing.
type Region struct {
	Start, Len uint64
}

// Contains reports whether the blocks blocks at lba lie wholly inside r.
func (r Region) Contains(lba, blocks uint64) bool {
	end := r.Start + r.Len
	if end < r.Start || lba+blocks < lba {
		return false // overflow
	}
	return blocks > 0 && lba >= r.Start && lba+blocks <= end
}

func (r Region) String() string {
	if r.Len == 0 {
		return "no blocks"
	}
	return fmt.Sprintf("blocks %d-%d", r.Start, r.Start+r.Len-1)
}

// RegionError is a write refused before it reached the device because it
// falls (partly) outside the region the caller named.
type RegionError struct {
	LBA, Blocks uint64
	Region      Region
}

func (e *RegionError) Error() string {
	return fmt.Sprintf("refusing to write %d blocks at LBA %d: outside the allowed region (%s)", e.Blocks, e.LBA, e.Region)
}

// ReadBlocks reads blocks blocks of blockSize bytes at lba with READ(16),
// FUA set when fua is true. A RESERVATION CONFLICT comes back as an error
// matching ErrReservationConflict. A device that returns fewer bytes than
// asked is ErrTruncated, never a shorter buffer.
func (d *Device) ReadBlocks(ctx context.Context, lba uint64, blocks uint32, blockSize int, fua bool) ([]byte, error) {
	cmd, err := Read16(lba, blocks, blockSize, fua)
	if err != nil {
		return nil, d.decodeErr("READ(16)", err)
	}
	r, err := d.Do(ctx, cmd)
	if err != nil {
		return nil, err
	}
	if want := int(blocks) * blockSize; len(r.Data) != want {
		return nil, d.decodeErr("READ(16)", fmt.Errorf("%w: asked for %d bytes, the device sent %d", ErrTruncated, want, len(r.Data)))
	}
	return r.Data, nil
}

// WriteBlocks writes data (whole blocks of blockSize bytes) at lba with
// WRITE(16), FUA set when fua is true, only when every block lies inside
// allowed: otherwise it returns a *RegionError and sends nothing. A write
// the device refuses because another node holds the disk (a fenced node's
// write) matches ErrReservationConflict.
func (d *Device) WriteBlocks(ctx context.Context, allowed Region, lba uint64, data []byte, blockSize int, fua bool) error {
	if blockSize > 0 {
		n := uint64(len(data) / blockSize)
		if !allowed.Contains(lba, n) {
			return d.decodeErr("WRITE(16)", &RegionError{LBA: lba, Blocks: n, Region: allowed})
		}
	}
	cmd, err := Write16(lba, data, blockSize, fua)
	if err != nil {
		return d.decodeErr("WRITE(16)", err)
	}
	_, err = d.Do(ctx, cmd)
	return err
}
