// Package sgio runs SCSI commands on Linux SCSI devices (/dev/sgN, /dev/sdX)
// through the SG_IO ioctl, and resets them with SG_SCSI_RESET. It
// implements scsi.Transport and scsi.Resetter. Other systems get an error
// wrapping errors.ErrUnsupported.
//
// SG_IO cannot be cancelled once issued, so Execute requires a context with
// a deadline and passes the time left (or Command.Timeout, if shorter) to
// the kernel as sg_io_hdr.timeout.
//
// To try it by hand on a host with a SCSI disk (as root):
//
//	go run ./cmd/hwagent disk identify /dev/sg1
//	go run ./cmd/hwagent disk keys /dev/sdb
package sgio

import (
	"errors"
	"fmt"
	"math"
	"os"
	"time"
	"unsafe"

	"github.com/hakit/hakit/scsi"
)

// ioctl request numbers and values from <scsi/sg.h>. SG_SCSI_RESET_TARGET
// and SG_SCSI_RESET_NO_ESCALATE are missing from older headers.
const (
	sgIO            = 0x2285
	sgGetVersionNum = 0x2282
	sgSCSIReset     = 0x2284

	sgResetDevice     = 1
	sgResetBus        = 2
	sgResetHost       = 3
	sgResetTarget     = 4
	sgResetNoEscalate = 0x100

	sgDxferNone     = -1
	sgDxferToDev    = -2
	sgDxferFromDev  = -3
	senseBufferSize = 252
	maxTimeout      = math.MaxUint32 - 1
)

// sgIOHdr mirrors struct sg_io_hdr of <scsi/sg.h>. Go lays it out as C does
// on every Linux architecture (88 bytes with 64-bit pointers, 64 with
// 32-bit ones); TestHeaderSize checks it.
type sgIOHdr struct {
	interfaceID    int32
	dxferDirection int32
	cmdLen         uint8
	mxSbLen        uint8
	iovecCount     uint16
	dxferLen       uint32
	dxferp         unsafe.Pointer
	cmdp           unsafe.Pointer
	sbp            unsafe.Pointer
	timeout        uint32
	flags          uint32
	packID         int32
	usrPtr         unsafe.Pointer
	status         uint8
	maskedStatus   uint8
	msgStatus      uint8
	sbLenWr        uint8
	hostStatus     uint16
	driverStatus   uint16
	resid          int32
	duration       uint32
	info           uint32
}

// request holds a header and the buffers it points into; keep it alive
// until the ioctl returns.
type request struct {
	hdr   sgIOHdr
	cdb   []byte
	data  []byte
	sense []byte
}

// timeoutFor derives the kernel timeout from the deadline (required) and
// cmd.Timeout (0: none), whichever is sooner.
func timeoutFor(now time.Time, deadline time.Time, hasDeadline bool, cmdTimeout time.Duration) (uint32, error) {
	if !hasDeadline {
		return 0, errors.New("context has no deadline: SG_IO cannot be cancelled once issued, so a deadline is required")
	}
	left := deadline.Sub(now)
	if cmdTimeout > 0 && cmdTimeout < left {
		left = cmdTimeout
	}
	if left <= 0 {
		return 0, fmt.Errorf("deadline passed before the command was sent: %w", os.ErrDeadlineExceeded)
	}
	ms := (left + time.Millisecond - 1) / time.Millisecond
	if ms > maxTimeout {
		ms = maxTimeout
	}
	return uint32(ms), nil
}

// newRequest builds the sg_io_hdr for cmd with the given timeout in ms.
func newRequest(cmd *scsi.Command, timeoutMS uint32) (*request, error) {
	if cmd == nil || len(cmd.CDB) == 0 || len(cmd.CDB) > 255 {
		return nil, errors.New("CDB must be 1 to 255 bytes")
	}
	r := &request{cdb: append([]byte(nil), cmd.CDB...), sense: make([]byte, senseBufferSize)}
	r.hdr = sgIOHdr{
		interfaceID: 'S',
		cmdLen:      uint8(len(r.cdb)),
		mxSbLen:     senseBufferSize,
		cmdp:        unsafe.Pointer(&r.cdb[0]),
		sbp:         unsafe.Pointer(&r.sense[0]),
		timeout:     timeoutMS,
	}
	switch cmd.Direction {
	case scsi.NoData:
		r.hdr.dxferDirection = sgDxferNone
	case scsi.ToDevice:
		r.hdr.dxferDirection = sgDxferToDev
		r.data = append([]byte(nil), cmd.Data...)
	case scsi.FromDevice:
		if cmd.AllocLen <= 0 {
			return nil, errors.New("data-in command with AllocLen 0")
		}
		r.hdr.dxferDirection = sgDxferFromDev
		r.data = make([]byte, cmd.AllocLen)
	default:
		return nil, fmt.Errorf("invalid direction %d", cmd.Direction)
	}
	if uint64(len(r.data)) > math.MaxUint32 {
		return nil, fmt.Errorf("data of %d bytes is too long", len(r.data))
	}
	if len(r.data) > 0 {
		r.hdr.dxferLen = uint32(len(r.data))
		r.hdr.dxferp = unsafe.Pointer(&r.data[0])
	} else if cmd.Direction != scsi.NoData {
		r.hdr.dxferDirection = sgDxferNone
	}
	return r, nil
}

// Host and driver status values of the Linux SCSI midlayer.
const (
	didOK        = 0x00
	didNoConnect = 0x01
	didBusBusy   = 0x02
	didTimeOut   = 0x03
	didBadTarget = 0x04
	didAbort     = 0x05
	didReset     = 0x08
	driverMask   = 0x0f
	driverSense  = 0x08
	driverTimout = 0x06
)

// TransportError is a failure below SCSI status: the host adapter or the
// driver did not complete the command.
type TransportError struct {
	HostStatus   uint16
	DriverStatus uint16
}

func (e *TransportError) Error() string {
	host := map[uint16]string{didNoConnect: "no connection", didBusBusy: "bus busy", didTimeOut: "timed out",
		didBadTarget: "bad target", didAbort: "aborted", didReset: "reset"}[e.HostStatus]
	if host == "" {
		host = fmt.Sprintf("0x%02x", e.HostStatus)
	}
	return fmt.Sprintf("SG_IO: host status %s, driver status 0x%02x", host, e.DriverStatus)
}

// Is matches os.ErrDeadlineExceeded for timeouts.
func (e *TransportError) Is(target error) bool {
	return target == os.ErrDeadlineExceeded && (e.HostStatus == didTimeOut || e.DriverStatus&driverMask == driverTimout)
}

// response turns a completed header into a Response, or a TransportError.
func (r *request) response() (*scsi.Response, error) {
	h := &r.hdr
	if h.hostStatus != didOK || (h.driverStatus&driverMask != 0 && h.driverStatus&driverMask != driverSense) {
		return nil, &TransportError{HostStatus: h.hostStatus, DriverStatus: h.driverStatus}
	}
	resp := &scsi.Response{Status: scsi.Status(h.status), Residual: int(h.resid)}
	if h.dxferDirection == sgDxferFromDev {
		n := len(r.data) - max(int(h.resid), 0)
		resp.Data = r.data[:max(n, 0)]
	}
	if h.sbLenWr > 0 {
		resp.Sense = append([]byte(nil), r.sense[:min(int(h.sbLenWr), len(r.sense))]...)
	}
	return resp, nil
}

// resetValue maps a level to the SG_SCSI_RESET argument, never escalating
// to a wider reset.
func resetValue(level scsi.ResetLevel) (int32, error) {
	switch level {
	case scsi.ResetLUN:
		return sgResetDevice | sgResetNoEscalate, nil
	case scsi.ResetTarget:
		return sgResetTarget | sgResetNoEscalate, nil
	case scsi.ResetBus:
		return sgResetBus | sgResetNoEscalate, nil
	}
	return 0, fmt.Errorf("invalid reset level %d", int(level))
}
