package scsi

import (
	"context"
	"time"
)

// Direction is the direction of a command's data phase.
type Direction int

const (
	// NoData: the command moves no data.
	NoData Direction = iota
	// FromDevice: data in, from the device to the initiator (e.g. INQUIRY).
	FromDevice
	// ToDevice: data out, from the initiator to the device (e.g. PR OUT).
	ToDevice
)

func (d Direction) String() string {
	switch d {
	case NoData:
		return "none"
	case FromDevice:
		return "in"
	case ToDevice:
		return "out"
	}
	return "invalid"
}

// Command is one SCSI command for a Transport.
type Command struct {
	// CDB is the command descriptor block (6 to 16 bytes, up to 260).
	CDB []byte
	// Direction of the data phase.
	Direction Direction
	// Data is the data-out buffer (Direction ToDevice).
	Data []byte
	// AllocLen is the size of the data-in buffer (Direction FromDevice).
	AllocLen int
	// Timeout bounds the command on the device; 0 means the transport's
	// default. The context's deadline applies too: the shorter one wins.
	Timeout time.Duration
}

// Response is what the device answered. A transport returns a Response with
// a non-GOOD Status without an error: CheckStatus turns it into a typed
// error. An error from Execute means the command did not complete (transport
// failure, timeout, cancelled context).
type Response struct {
	// Status is the SCSI status byte.
	Status Status
	// Data is the data-in received (at most AllocLen bytes).
	Data []byte
	// Sense is the sense data returned with CHECK CONDITION, if any.
	Sense []byte
	// Residual is the number of bytes of the data phase not transferred.
	Residual int
	// BadSense, when set, says why the transport could not deliver the
	// sense data that came with the status (e.g. an iSCSI SenseLength
	// beyond the data segment); the status itself is the device's.
	BadSense string
}

// Transport runs one command on one logical unit. Implementations document
// their concurrency guarantees; callers must not assume Execute is safe for
// concurrent use unless stated.
type Transport interface {
	Execute(ctx context.Context, cmd *Command) (*Response, error)
}

// ResetLevel is the scope of a reset.
type ResetLevel int

const (
	// ResetLUN resets one logical unit (SAM LOGICAL UNIT RESET).
	ResetLUN ResetLevel = iota + 1
	// ResetTarget resets the target (all its logical units).
	ResetTarget
	// ResetBus resets the bus or host adapter path.
	ResetBus
)

func (l ResetLevel) String() string {
	switch l {
	case ResetLUN:
		return "lun"
	case ResetTarget:
		return "target"
	case ResetBus:
		return "bus"
	}
	return "invalid"
}

// Resetter is implemented by transports that can reset the device.
type Resetter interface {
	Reset(ctx context.Context, level ResetLevel) error
}

// Status is a SCSI status byte (SAM-5).
type Status byte

// SCSI status codes.
const (
	StatusGood                Status = 0x00
	StatusCheckCondition      Status = 0x02
	StatusConditionMet        Status = 0x04
	StatusBusy                Status = 0x08
	StatusReservationConflict Status = 0x18
	StatusTaskSetFull         Status = 0x28
	StatusACAActive           Status = 0x30
	StatusTaskAborted         Status = 0x40
)

func (s Status) String() string {
	switch s {
	case StatusGood:
		return "GOOD"
	case StatusCheckCondition:
		return "CHECK CONDITION"
	case StatusConditionMet:
		return "CONDITION MET"
	case StatusBusy:
		return "BUSY"
	case StatusReservationConflict:
		return "RESERVATION CONFLICT"
	case StatusTaskSetFull:
		return "TASK SET FULL"
	case StatusACAActive:
		return "ACA ACTIVE"
	case StatusTaskAborted:
		return "TASK ABORTED"
	}
	return "status 0x" + string("0123456789abcdef"[s>>4]) + string("0123456789abcdef"[s&15])
}
