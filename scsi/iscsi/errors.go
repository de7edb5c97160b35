package iscsi

import (
	"errors"
	"fmt"
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrProtocol matches every *ProtocolError: the target sent something
	// RFC 7143 does not allow, or something this initiator does not do.
	ErrProtocol = errors.New("iscsi: protocol error")
	// ErrDigest matches a header or data digest mismatch.
	ErrDigest = errors.New("iscsi: digest mismatch")
	// ErrConnectionLost matches a command that failed because its
	// connection dropped or was closed after a protocol error; the command
	// may or may not have run on the target.
	ErrConnectionLost = errors.New("iscsi: connection lost")
	// ErrClosed matches calls on a Session after Close or Logout.
	ErrClosed = errors.New("iscsi: session closed")
	// ErrAuthentication matches a login refused for bad credentials
	// (status 0x0201) or a target that failed mutual CHAP.
	ErrAuthentication = errors.New("iscsi: authentication failed")
	// ErrNotAuthorized matches a login refused because the initiator is not
	// allowed to access the target (status 0x0202).
	ErrNotAuthorized = errors.New("iscsi: initiator not authorized")
	// ErrTargetNotFound matches a login to a target name the portal does
	// not serve (status 0x0203). Some targets, tgtd among them, answer an
	// initiator outside the target's ACL with this status too, not with
	// 0x0202.
	ErrTargetNotFound = errors.New("iscsi: target not found")
)

// ProtocolError is a malformed or unexpected PDU, or a value outside what
// was negotiated. It matches ErrProtocol, and Err when set (e.g. ErrDigest).
type ProtocolError struct {
	// PDU names the PDU involved, e.g. "Data-In"; empty when unknown.
	PDU string
	// What says what was wrong.
	What string
	// Err is an underlying cause, or nil.
	Err error
}

func (e *ProtocolError) Error() string {
	s := "iscsi: protocol error"
	if e.PDU != "" {
		s += " in " + e.PDU
	}
	return s + ": " + e.What
}

// Unwrap returns Err.
func (e *ProtocolError) Unwrap() error { return e.Err }

// Is reports whether target is ErrProtocol.
func (e *ProtocolError) Is(target error) bool { return target == ErrProtocol }

// LoginError is a Login Response with a non-zero status (RFC 7143 11.13.5).
type LoginError struct {
	// Class and Detail are the Status-Class and Status-Detail bytes.
	Class, Detail uint8
	// Target is the portal and target name of the login.
	Target string
	// Redirect is the portal (host:port) a redirection (class 1) names.
	Redirect string
	// Initiator is the initiator name the login gave ("" when unknown).
	Initiator string
}

// Status returns the two status bytes as one number, e.g. 0x0202.
func (e *LoginError) Status() uint16 { return uint16(e.Class)<<8 | uint16(e.Detail) }

// Text describes the status as RFC 7143 names it.
func (e *LoginError) Text() string {
	switch e.Status() {
	case 0x0101:
		return "target moved temporarily"
	case 0x0102:
		return "target moved permanently"
	case 0x0200:
		return "initiator error"
	case 0x0201:
		return "authentication failure"
	case 0x0202:
		return "authorization failure (initiator not allowed)"
	case 0x0203:
		// tgtd answers this to an initiator outside the target's ACL too.
		return "target not found, or initiator not in its ACL"
	case 0x0204:
		return "target removed"
	case 0x0205:
		return "unsupported version"
	case 0x0206:
		return "too many connections"
	case 0x0207:
		return "missing parameter"
	case 0x0208:
		return "cannot include in session"
	case 0x0209:
		return "session type not supported"
	case 0x020a:
		return "session does not exist"
	case 0x020b:
		return "invalid request during login"
	case 0x0300:
		return "target error"
	case 0x0301:
		return "service unavailable"
	case 0x0302:
		return "out of resources"
	}
	switch e.Class {
	case 1:
		return "redirection"
	case 2:
		return "initiator error"
	case 3:
		return "target error"
	}
	return "unknown status"
}

func (e *LoginError) Error() string {
	s := fmt.Sprintf("iscsi: login to %s refused: status 0x%04x (%s)", e.Target, e.Status(), e.Text())
	if e.Redirect != "" {
		s += " to " + e.Redirect
	}
	if e.Initiator != "" && e.Class == 2 {
		s += "; initiator " + e.Initiator
	}
	return s
}

// Is matches ErrAuthentication, ErrNotAuthorized and ErrTargetNotFound.
func (e *LoginError) Is(target error) bool {
	switch target {
	case ErrAuthentication:
		return e.Status() == 0x0201
	case ErrNotAuthorized:
		return e.Status() == 0x0202
	case ErrTargetNotFound:
		return e.Status() == 0x0203 || e.Status() == 0x0204
	}
	return false
}

// TMF functions (RFC 7143 11.5.1).
const (
	TMFAbortTask         uint8 = 1
	TMFAbortTaskSet      uint8 = 2
	TMFClearACA          uint8 = 3
	TMFClearTaskSet      uint8 = 4
	TMFLogicalUnitReset  uint8 = 5
	TMFTargetWarmReset   uint8 = 6
	TMFTargetColdReset   uint8 = 7
	tmfFunctionCompleted uint8 = 0
	tmfTaskDoesNotExist  uint8 = 1
)

func tmfName(f uint8) string {
	switch f {
	case TMFAbortTask:
		return "ABORT TASK"
	case TMFAbortTaskSet:
		return "ABORT TASK SET"
	case TMFClearACA:
		return "CLEAR ACA"
	case TMFClearTaskSet:
		return "CLEAR TASK SET"
	case TMFLogicalUnitReset:
		return "LOGICAL UNIT RESET"
	case TMFTargetWarmReset:
		return "TARGET WARM RESET"
	case TMFTargetColdReset:
		return "TARGET COLD RESET"
	}
	return fmt.Sprintf("function %d", f)
}

// TMFError is a Task Management Function Response other than "function
// complete" (RFC 7143 11.6.1).
type TMFError struct {
	// Function is the requested function (TMFAbortTask, ...).
	Function uint8
	// Response is the response byte.
	Response uint8
}

// Text describes the response as RFC 7143 names it.
func (e *TMFError) Text() string {
	switch e.Response {
	case 0:
		return "function complete"
	case 1:
		return "task does not exist"
	case 2:
		return "LUN does not exist"
	case 3:
		return "task still allegiant"
	case 4:
		return "task allegiance reassignment not supported"
	case 5:
		return "task management function not supported"
	case 6:
		return "function authorization failed"
	case 255:
		return "function rejected"
	}
	return "unknown response"
}

func (e *TMFError) Error() string {
	return fmt.Sprintf("iscsi: %s: response %d (%s)", tmfName(e.Function), e.Response, e.Text())
}

// Is matches errors.ErrUnsupported when the target does not support the
// function.
func (e *TMFError) Is(target error) bool {
	return target == errors.ErrUnsupported && e.Response == 5
}

// RejectError is a Reject PDU sent for one of this initiator's PDUs
// (RFC 7143 11.17.1).
type RejectError struct {
	// Reason is the reject reason code.
	Reason uint8
	// PDU names the rejected PDU, from the header the target sent back.
	PDU string
}

// Text describes the reason as RFC 7143 names it.
func (e *RejectError) Text() string {
	switch e.Reason {
	case 0x01:
		return "reserved"
	case 0x02:
		return "data (payload) digest error"
	case 0x03:
		return "SNACK reject"
	case 0x04:
		return "protocol error"
	case 0x05:
		return "command not supported"
	case 0x06:
		return "immediate command reject: too many immediate commands"
	case 0x07:
		return "task in progress"
	case 0x08:
		return "invalid data ACK"
	case 0x09:
		return "invalid PDU field"
	case 0x0a:
		return "long operation reject: out of resources"
	case 0x0b:
		return "deprecated"
	case 0x0c:
		return "waiting for logout"
	}
	return "unknown reason"
}

func (e *RejectError) Error() string {
	return fmt.Sprintf("iscsi: target rejected %s: reason 0x%02x (%s)", e.PDU, e.Reason, e.Text())
}

// ResponseError is a SCSI Response whose iSCSI response byte is not
// "command completed at target" (RFC 7143 11.4.3): the target could not run
// the command, so there is no SCSI status.
type ResponseError struct {
	// Response is the response byte (0x01 target failure).
	Response uint8
	// CDB is the operation code of the command.
	CDB uint8
}

func (e *ResponseError) Error() string {
	what := "unknown response"
	if e.Response == 1 {
		what = "target failure"
	}
	return fmt.Sprintf("iscsi: SCSI command 0x%02x: response 0x%02x (%s)", e.CDB, e.Response, what)
}

// NegotiationError is a login key the target answered in a way this
// initiator cannot accept.
type NegotiationError struct {
	Key, Value string
	// What says what is wrong with it.
	What string
}

func (e *NegotiationError) Error() string {
	return fmt.Sprintf("iscsi: login negotiation: %s=%q: %s", e.Key, e.Value, e.What)
}

// Is matches ErrProtocol.
func (e *NegotiationError) Is(target error) bool { return target == ErrProtocol }
