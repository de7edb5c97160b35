package diskcli

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"

	"github.com/hakit/hakit/scsi"
)

const readLong = `Reads --count blocks from --lba with READ(16) and FUA (the data comes from the medium, not a
cache), and writes them raw to stdout, or as hex with --json. The block size is the device's (READ
CAPACITY(16)). A node fenced off a disk reserved Exclusive Access gets RESERVATION CONFLICT (exit 24).`

const writeLong = `Writes --count blocks at --lba with WRITE(16) and FUA: the command completes only once the data
is on the medium. The data is read from stdin (exactly --count blocks), or is --pattern, one byte
(0x00-0xff) repeated. The write must lie wholly inside the region that --region-start and
--region-len name (in blocks): that region is the consent to overwrite it, and a write outside it
is refused before anything is sent. A write from a node that was fenced (its key preempted) comes
back as RESERVATION CONFLICT (exit 24): the disk refused it.`

// blockFlags are read's and write's flags.
type blockFlags struct {
	lba, count             uint64
	regionStart, regionLen uint64
	pattern                string
	noFUA                  bool
}

func (b *blockFlags) blockSize(ctx context.Context, e *env) (int, error) {
	capa, err := e.dev.ReadCapacity(ctx)
	if err != nil {
		return 0, err
	}
	if capa.BlockSize == 0 || capa.BlockSize > 1<<20 {
		return 0, fmt.Errorf("%s: READ CAPACITY(16) reports a block size of %d bytes", e.device, capa.BlockSize)
	}
	if b.count == 0 || b.count > 0xffffffff || b.count*uint64(capa.BlockSize) > 16<<20 {
		return 0, usagef("--count %d: want 1 to %d blocks of %d bytes (16 MiB)", b.count, (16<<20)/capa.BlockSize, capa.BlockSize)
	}
	if b.lba+b.count > capa.Blocks() || b.lba+b.count < b.lba {
		return 0, usagef("--lba %d --count %d: past the end of the disk (%d blocks)", b.lba, b.count, capa.Blocks())
	}
	return int(capa.BlockSize), nil
}

// blockResult is read's and write's --json answer; Data is read's only.
type blockResult struct {
	Device    string `json:"device"`
	LBA       uint64 `json:"lba"`
	Count     uint64 `json:"count"`
	BlockSize int    `json:"block_size"`
	FUA       bool   `json:"fua"`
	Data      string `json:"data_hex,omitempty"`
}

func readBlocks(ctx context.Context, e *env) error {
	b := e.opts.blocks
	bs, err := b.blockSize(ctx, e)
	if err != nil {
		return err
	}
	data, err := e.dev.ReadBlocks(ctx, b.lba, uint32(b.count), bs, !b.noFUA)
	if err != nil {
		return err
	}
	if e.json {
		return e.emit(blockResult{e.device, b.lba, b.count, bs, !b.noFUA, hex.EncodeToString(data)}, nil)
	}
	_, err = e.out.Write(data)
	return err
}

func writeBlocks(ctx context.Context, e *env) error {
	b := e.opts.blocks
	if b.regionLen == 0 {
		return usagef("write: needs --region-start and --region-len, the blocks it may overwrite")
	}
	region := scsi.Region{Start: b.regionStart, Len: b.regionLen}
	if !region.Contains(b.lba, b.count) {
		return &scsi.RegionError{LBA: b.lba, Blocks: b.count, Region: region}
	}
	bs, err := b.blockSize(ctx, e)
	if err != nil {
		return err
	}
	n := int(b.count) * bs
	var data []byte
	if b.pattern != "" {
		v, err := strconv.ParseUint(b.pattern, 0, 8)
		if err != nil {
			return usagef("--pattern %q: want one byte, 0x00 to 0xff", b.pattern)
		}
		data = bytes.Repeat([]byte{byte(v)}, n)
	} else {
		data = make([]byte, n)
		if _, err := io.ReadFull(e.stdin, data); err != nil {
			return usagef("write: stdin must hold --count blocks (%d bytes): %v", n, err)
		}
	}
	if err := e.dev.WriteBlocks(ctx, region, b.lba, data, bs, !b.noFUA); err != nil {
		return err
	}
	return e.emit(blockResult{e.device, b.lba, b.count, bs, !b.noFUA, ""}, func(w io.Writer) {
		fmt.Fprintf(w, "%s: wrote %d block%s of %d bytes at LBA %d (FUA %v)\n", e.device, b.count, plural(int(b.count)), bs, b.lba, !b.noFUA)
	})
}
