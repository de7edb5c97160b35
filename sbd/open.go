package sbd

import (
	"context"
	"io"

	"github.com/hakit/hakit/blockio"
	"github.com/hakit/hakit/scsi"
	"github.com/hakit/hakit/scsi/opener"
	"github.com/hakit/hakit/scsi/opener/devname"
)

// Open opens an SBD device: /dev/... (or a file) with O_DIRECT, iscsi://
// with hakit's initiator and READ(16)/WRITE(16) FUA, writes allowed only in
// the SBD area and hakit's heartbeat area after it.
func Open(ctx context.Context, device, initiator string) (blockio.SectorCloser, error) {
	if !devname.IsISCSI(device) {
		return blockio.OpenFile(device)
	}
	// A field tool's own ISID (the zero Options.ISID): never the agent's
	// session to the same target.
	tr, sess, err := opener.Open(ctx, device, opener.Options{Initiator: initiator})
	if err != nil {
		return nil, err
	}
	dev := &scsi.Device{Transport: tr, Name: device, UnitAttentionRetries: 8, TransportRetries: 2}
	capa, err := dev.ReadCapacity(ctx)
	if err != nil {
		sess.Close()
		return nil, err
	}
	return scsiCloser{&blockio.SCSI{Device: dev, BlockSize: int(capa.BlockSize), Allowed: scsi.Region{Start: 0, Len: AreaSectors(Slots)}}, sess}, nil
}

type scsiCloser struct {
	*blockio.SCSI
	c io.Closer
}

func (s scsiCloser) Close() error { return s.c.Close() }
