// Package iscsi is a userspace iSCSI initiator (RFC 7143) that implements
// scsi.Transport and scsi.Resetter over TCP.
//
// A Session is one iSCSI session with one connection to one logical unit,
// named by an iscsi:// URL in libiscsi's form:
//
//	iscsi://[user[%password]@]host[:port]/target-iqn/lun
//
// Dial logs in (security negotiation with AuthMethod None or CHAP, optionally
// mutual, then operational negotiation) and returns a Session in the full
// feature phase. Execute runs one SCSI command: immediate and unsolicited data
// honour the negotiated ImmediateData, InitialR2T and FirstBurstLength; the
// rest of a write goes in answer to the target's R2Ts; reads collect Data-In
// PDUs with status in the last one or in a SCSI Response. The session answers
// the target's NOP-In pings, sends its own (Ping) and runs task management
// (Reset for a LUN RESET, TaskManagement, and ABORT TASK for a command whose
// context ends before its answer). Only ErrorRecoveryLevel 0 is
// negotiated: any protocol error closes the connection and fails the commands
// that were pending on it.
//
// When the connection drops or the target restarts, the next call on the
// Session logs in again with the same initiator name and ISID (the target
// gives a new TSIH), backing off between attempts within the call's context,
// and reports it through Config.OnReconnect and Stats. Targets that tie SCSI
// state to the session (persistent reservations on tgtd) lose it on a
// reconnect: OnReconnect is the place to restore it.
//
// The PDU codec (framing, CRC32C digests, the basic header segment of every
// opcode, text keys) and the login negotiation are pure code with no I/O,
// tested with tables and fuzzing.
package iscsi
