package scsi

import (
	"context"
	"errors"
	"fmt"
)

// OpError is the error of one command on one device: Op names the command,
// Device the device ("/dev/sg3", "iscsi://..."), Err the cause (often a
// *SenseError).
type OpError struct {
	Op     string
	Device string
	Err    error
}

func (e *OpError) Error() string {
	msg := e.Op + ": " + e.Err.Error()
	if se, ok := e.Err.(*SenseError); ok && se.Op == e.Op {
		msg = e.Err.Error() // already names the command
	}
	if e.Device == "" {
		return msg
	}
	return e.Device + ": " + msg
}

func (e *OpError) Unwrap() error { return e.Err }

// Device runs the commands of the command layer on a Transport and decodes
// the answers. It holds no state of its own besides its configuration: it
// is as safe for concurrent use as its Transport.
type Device struct {
	// Transport runs the commands.
	Transport Transport
	// Name is used in errors; empty leaves it out.
	Name string
	// UnitAttentionRetries is how many times a command that gets UNIT
	// ATTENTION is sent again (a unit attention is reported once per
	// condition, so the retry normally succeeds). 0 means no retry.
	UnitAttentionRetries int
	// OnUnitAttention, when set, is called with each unit attention
	// absorbed by a retry.
	OnUnitAttention func(Sense)
	// TransportRetries is how many times a command that only reads (TEST
	// UNIT READY, INQUIRY, READ CAPACITY, REPORT LUNS, PERSISTENT RESERVE
	// IN, READ) is sent again after the transport failed it (a lost
	// connection that the transport re-establishes) while ctx is alive.
	// Commands that change state are never repeated here. 0 means none.
	TransportRetries int
}

// Idempotent reports whether cmd only reads, so sending it twice is
// harmless.
func Idempotent(cmd *Command) bool {
	if cmd == nil || len(cmd.CDB) == 0 {
		return false
	}
	switch cmd.CDB[0] {
	case OpTestUnitReady, OpInquiry, OpServiceActionIn, OpReportLUNs, OpPRIn, OpRead10, OpRead16:
		return true
	}
	return false
}

// IsTransportError reports whether err is a failure below SCSI status (no
// *SenseError in its chain) that is not the end of ctx.
func IsTransportError(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil {
		return false
	}
	_, sense := AsSense(err)
	return !sense
}

// Do runs cmd and turns a non-GOOD status into a *SenseError (wrapped in an
// *OpError), retrying unit attentions as configured.
func (d *Device) Do(ctx context.Context, cmd *Command) (*Response, error) {
	op := CommandName(cmd)
	if d == nil || d.Transport == nil {
		return nil, &OpError{Op: op, Err: errors.New("no transport")}
	}
	lost := 0
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, &OpError{Op: op, Device: d.Name, Err: err}
		}
		resp, err := d.Transport.Execute(ctx, cmd)
		if err != nil {
			if lost < d.TransportRetries && Idempotent(cmd) && IsTransportError(ctx, err) {
				lost++
				continue
			}
			return nil, &OpError{Op: op, Device: d.Name, Err: err}
		}
		err = CheckStatus(op, resp)
		if err == nil {
			return resp, nil
		}
		se, _ := AsSense(err)
		if se != nil && se.HasSense && se.Sense.Key == SenseUnitAttention && attempt < d.UnitAttentionRetries {
			if d.OnUnitAttention != nil {
				d.OnUnitAttention(se.Sense)
			}
			continue
		}
		return resp, &OpError{Op: op, Device: d.Name, Err: err}
	}
}

func (d *Device) decodeErr(op string, err error) error {
	return &OpError{Op: op, Device: d.Name, Err: err}
}

// TestUnitReady sends TEST UNIT READY.
func (d *Device) TestUnitReady(ctx context.Context) error {
	_, err := d.Do(ctx, TestUnitReady())
	return err
}

// Inquiry reads the standard INQUIRY data.
func (d *Device) Inquiry(ctx context.Context) (Standard, error) {
	r, err := d.Do(ctx, Inquiry(96))
	if err != nil {
		return Standard{}, err
	}
	s, err := ParseInquiry(r.Data)
	if err != nil {
		return s, d.decodeErr("INQUIRY", err)
	}
	return s, nil
}

// VPD reads one VPD page raw.
func (d *Device) VPD(ctx context.Context, page byte) ([]byte, error) {
	r, err := d.Do(ctx, InquiryVPD(page, 1024))
	if err != nil {
		return nil, err
	}
	return r.Data, nil
}

// Identify reads the standard INQUIRY data and VPD pages 0x00, 0x80 and 0x83
// and returns the logical unit's Identity. Pages the device does not list
// are not asked for.
func (d *Device) Identify(ctx context.Context) (Identity, error) {
	std, err := d.Inquiry(ctx)
	if err != nil {
		return Identity{}, err
	}
	pages := map[byte]bool{VPDUnitSerial: true, VPDDeviceID: true}
	if raw, err := d.VPD(ctx, VPDSupportedPages); err == nil {
		if list, err := ParseSupportedPages(raw); err == nil {
			pages = map[byte]bool{}
			for _, p := range list {
				pages[p] = true
			}
		}
	}
	var serial string
	if pages[VPDUnitSerial] {
		raw, err := d.VPD(ctx, VPDUnitSerial)
		if err != nil && !IsUnsupported(err) {
			return Identity{}, err
		}
		if err == nil {
			if serial, err = ParseUnitSerial(raw); err != nil {
				return Identity{}, d.decodeErr("INQUIRY (VPD 0x80)", err)
			}
		}
	}
	var ds []Designator
	if pages[VPDDeviceID] {
		raw, err := d.VPD(ctx, VPDDeviceID)
		if err != nil && !IsUnsupported(err) {
			return Identity{}, err
		}
		if err == nil {
			if ds, err = ParseDeviceID(raw); err != nil {
				return Identity{}, d.decodeErr("INQUIRY (VPD 0x83)", err)
			}
		}
	}
	id, err := NewIdentity(std, serial, ds)
	if err != nil {
		return id, d.decodeErr("identify", err)
	}
	return id, nil
}

// ReadCapacity reads READ CAPACITY(16).
func (d *Device) ReadCapacity(ctx context.Context) (Capacity, error) {
	r, err := d.Do(ctx, ReadCapacity16())
	if err != nil {
		return Capacity{}, err
	}
	c, err := ParseReadCapacity16(r.Data)
	if err != nil {
		return c, d.decodeErr("READ CAPACITY(16)", err)
	}
	return c, nil
}

// ReportLUNs reads the logical unit inventory.
func (d *Device) ReportLUNs(ctx context.Context) ([]uint64, error) {
	r, err := d.Do(ctx, ReportLUNs(0))
	if err != nil {
		return nil, err
	}
	l, err := ParseReportLUNs(r.Data)
	if err != nil {
		return l, d.decodeErr("REPORT LUNS", err)
	}
	return l, nil
}

// prIn reads one PR IN answer whole: when the device has more than the
// allocation length holds (its ADDITIONAL LENGTH says so), it reads again
// with an allocation length that fits, up to 65535 bytes; a list that still
// does not fit, or that the device cut short, is ErrTruncated, never a
// shorter list.
func prIn[T any](ctx context.Context, d *Device, a PRInAction, parse func([]byte) (T, error)) (T, error) {
	var zero T
	op := "PERSISTENT RESERVE IN (" + a.String() + ")"
	alloc := defaultAllocLength
	var r *Response
	for {
		var err error
		r, err = d.Do(ctx, PRIn(a, uint16(alloc)))
		if err != nil {
			return zero, err
		}
		need := len(r.Data)
		if a != PRInReportCapabilities {
			// REPORT CAPABILITIES has no ADDITIONAL LENGTH header.
			need = prInLength(r.Data)
		}
		if need <= len(r.Data) {
			break
		}
		switch {
		case need > 0xffff:
			return zero, d.decodeErr(op, fmt.Errorf("%w: the device has %d bytes, more than the largest allocation length (65535)", ErrTruncated, need))
		case need <= alloc:
			// The allocation length held it, yet fewer bytes came.
			return zero, d.decodeErr(op, fmt.Errorf("%w: the device announced %d bytes and sent %d", ErrTruncated, need, len(r.Data)))
		}
		alloc = need
	}
	v, err := parse(r.Data)
	if err != nil {
		return v, d.decodeErr("PERSISTENT RESERVE IN ("+a.String()+")", err)
	}
	return v, nil
}

// prInLength is the length a PR IN answer announces (8 + ADDITIONAL
// LENGTH), or len(b) when b is too short to say.
func prInLength(b []byte) int {
	if len(b) < 8 {
		return len(b)
	}
	return 8 + int(be32(b[4:]))
}

// ReadKeys reads the registered keys (PR IN READ KEYS).
func (d *Device) ReadKeys(ctx context.Context) (Keys, error) {
	return prIn(ctx, d, PRInReadKeys, ParseReadKeys)
}

// ReadReservation reads the persistent reservation (PR IN READ RESERVATION).
func (d *Device) ReadReservation(ctx context.Context) (Reservation, error) {
	return prIn(ctx, d, PRInReadReservation, ParseReadReservation)
}

// ReportCapabilities reads PR IN REPORT CAPABILITIES.
func (d *Device) ReportCapabilities(ctx context.Context) (Capabilities, error) {
	return prIn(ctx, d, PRInReportCapabilities, ParseReportCapabilities)
}

// ReadFullStatus reads PR IN READ FULL STATUS.
func (d *Device) ReadFullStatus(ctx context.Context) (FullStatus, error) {
	return prIn(ctx, d, PRInReadFullStatus, ParseReadFullStatus)
}

// PROut sends one PERSISTENT RESERVE OUT.
func (d *Device) PROut(ctx context.Context, a PROutAction, typ ReservationType, p PROutParams) error {
	cmd, err := PROut(a, typ, p)
	if err != nil {
		return err
	}
	_, err = d.Do(ctx, cmd)
	return err
}

// Reserve6 sends the SCSI-2 RESERVE(6).
func (d *Device) Reserve6(ctx context.Context) error {
	_, err := d.Do(ctx, Reserve6())
	return err
}

// Release6 sends the SCSI-2 RELEASE(6).
func (d *Device) Release6(ctx context.Context) error {
	_, err := d.Do(ctx, Release6())
	return err
}

// Reset resets the device at level, if the transport can.
func (d *Device) Reset(ctx context.Context, level ResetLevel) error {
	r, ok := d.Transport.(Resetter)
	if !ok {
		return d.decodeErr(level.String()+" reset", fmt.Errorf("transport %T cannot reset: %w", d.Transport, errors.ErrUnsupported))
	}
	if err := r.Reset(ctx, level); err != nil {
		return d.decodeErr(level.String()+" reset", err)
	}
	return nil
}
