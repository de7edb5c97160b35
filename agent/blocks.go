package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/hakit/hakit/scsi"
)

// BlockDisk is a Disk that moves data blocks through this node's own
// registered path to the LUN (its iSCSI session or its SG_IO device),
// with READ(16)/WRITE(16) and FUA: the path a service on the owning node
// writes its data through. The LUN, not the agent, decides: a write from
// a node whose key is gone comes back as a RESERVATION CONFLICT.
type BlockDisk interface {
	Disk
	// BlockSize is the logical block size (READ CAPACITY).
	BlockSize(ctx context.Context) (int, error)
	ReadBlocks(ctx context.Context, lba uint64, blocks uint32) ([]byte, error)
	// WriteBlocks refuses (*scsi.RegionError, nothing sent) a write not
	// wholly inside allowed.
	WriteBlocks(ctx context.Context, allowed scsi.Region, lba uint64, data []byte) error
}

// MaxBlockBytes bounds one block read or write through the API.
const MaxBlockBytes = 1 << 20

// BlockRequest is the body of POST /v1/blocks/read and /v1/blocks/write.
type BlockRequest struct {
	Device string `json:"device"`
	LBA    uint64 `json:"lba"`
	// Blocks is the read's length in blocks (read only).
	Blocks uint32 `json:"blocks,omitempty"`
	// RegionStart and RegionLen (blocks) name the region the write may
	// touch: the caller's consent to overwrite it (write only).
	RegionStart uint64 `json:"region_start,omitempty"`
	RegionLen   uint64 `json:"region_len,omitempty"`
	// Data is the write's payload, whole blocks (base64 in JSON).
	Data []byte `json:"data,omitempty"`
}

// BlockResult is the answer: the blocks read, or the count written.
type BlockResult struct {
	Device    string `json:"device"`
	LBA       uint64 `json:"lba"`
	Blocks    uint32 `json:"blocks"`
	BlockSize int    `json:"block_size"`
	Data      []byte `json:"data,omitempty"`
}

func (a *Agent) blockDisk(w http.ResponseWriter, r *http.Request) (BlockDisk, BlockRequest, bool) {
	var req BlockRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 2*MaxBlockBytes)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("blocks: body: %w", err))
		return nil, req, false
	}
	for _, d := range a.deps.Disks {
		if d.Device() != req.Device {
			continue
		}
		if bd, ok := d.(BlockDisk); ok {
			return bd, req, true
		}
		writeError(w, http.StatusNotImplemented, fmt.Errorf("%s: block I/O is not available on this disk (mode %s)", req.Device, modeOf(d)))
		return nil, req, false
	}
	writeError(w, http.StatusNotFound, fmt.Errorf("%q is not a disk of this node's configuration", req.Device))
	return nil, req, false
}

func modeOf(d Disk) string {
	if m, ok := d.(interface{ Mode() string }); ok {
		return m.Mode()
	}
	return "pr"
}

// blockError maps a block I/O error to its status: 409 for the LUN's
// RESERVATION CONFLICT, 400 for a write outside its region.
func blockError(w http.ResponseWriter, dev string, err error) {
	var re *scsi.RegionError
	switch {
	case errors.Is(err, scsi.ErrReservationConflict):
		writeError(w, http.StatusConflict, DeviceErr(dev, err))
	case errors.As(err, &re):
		writeError(w, http.StatusBadRequest, DeviceErr(dev, err))
	default:
		writeError(w, http.StatusBadGateway, DeviceErr(dev, err))
	}
}

// blockCall decodes the request, finds the disk and reads its block size
// under the call's deadline.
func (a *Agent) blockCall(w http.ResponseWriter, r *http.Request, fn func(ctx context.Context, d BlockDisk, req BlockRequest, bs int)) {
	d, req, ok := a.blockDisk(w, r)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*a.diskTimeout())
	defer cancel()
	bs, err := d.BlockSize(ctx)
	if err != nil {
		blockError(w, req.Device, err)
		return
	}
	fn(ctx, d, req, bs)
}

func (a *Agent) postBlocksRead(w http.ResponseWriter, r *http.Request) {
	a.blockCall(w, r, func(ctx context.Context, d BlockDisk, req BlockRequest, bs int) {
		readBlocks(ctx, w, d, req, bs)
	})
}

func (a *Agent) postBlocksWrite(w http.ResponseWriter, r *http.Request) {
	a.blockCall(w, r, func(ctx context.Context, d BlockDisk, req BlockRequest, bs int) {
		writeBlocks(ctx, w, d, req, bs)
	})
}

func readBlocks(ctx context.Context, w http.ResponseWriter, d BlockDisk, req BlockRequest, bs int) {
	if req.Blocks == 0 || int(req.Blocks)*bs > MaxBlockBytes {
		writeError(w, http.StatusBadRequest, fmt.Errorf("blocks: read of %d blocks of %d bytes: want 1 to %d bytes", req.Blocks, bs, MaxBlockBytes))
		return
	}
	b, err := d.ReadBlocks(ctx, req.LBA, req.Blocks)
	if err != nil {
		blockError(w, req.Device, err)
		return
	}
	writeJSON(w, http.StatusOK, BlockResult{Device: req.Device, LBA: req.LBA, Blocks: req.Blocks, BlockSize: bs, Data: b})
}

func writeBlocks(ctx context.Context, w http.ResponseWriter, d BlockDisk, req BlockRequest, bs int) {
	if len(req.Data) == 0 || len(req.Data) > MaxBlockBytes {
		writeError(w, http.StatusBadRequest, fmt.Errorf("blocks: write of %d bytes: want 1 to %d", len(req.Data), MaxBlockBytes))
		return
	}
	if len(req.Data)%bs != 0 {
		writeError(w, http.StatusBadRequest, fmt.Errorf("blocks: write of %d bytes is not whole %d-byte blocks", len(req.Data), bs))
		return
	}
	if err := d.WriteBlocks(ctx, scsi.Region{Start: req.RegionStart, Len: req.RegionLen}, req.LBA, req.Data); err != nil {
		blockError(w, req.Device, err)
		return
	}
	writeJSON(w, http.StatusOK, BlockResult{Device: req.Device, LBA: req.LBA, Blocks: uint32(len(req.Data) / bs), BlockSize: bs})
}
