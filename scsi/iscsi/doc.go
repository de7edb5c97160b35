// Package iscsi is a userspace iSCSI initiator (RFC 7143) that implements
// scsi.Transport and scsi.Resetter over TCP.
//
// A Session is one iSCSI session with one connection to one target, named
// by an iscsi:// URL in libiscsi's form:
//
//	iscsi://[user[%password]@]host[:port]/target-iqn/lun
//
// Execute addresses the URL's LUN; Session.LUN(n) gives a LogicalUnit that
// addresses another LUN of the same target over the same session.
//
// # Session model
//
// The target knows an initiator's session by its initiator name and ISID
// (the I_T nexus, with the target portal group). A second login with the
// same pair reinstates the session (RFC 7143 6.3.5): the target ends the
// first one. A node therefore has one session per target, whatever number
// of LUNs it uses there: agent/hw's Sessions pool hands each disk a
// LogicalUnit of the shared session. ISIDs:
//
//   - the node's session (hwagent, and fence_hwagent's direct path, which
//     runs only when no hwagent runs): DefaultISID(initiator name), the
//     random format with bytes 1-5 from SHA-256 of the name. It carries the
//     node's persistent reservation registrations, and it keeps the ISID
//     across reconnects, so a reconnect gives the same I_T nexus back on
//     targets that keep registrations per nexus;
//   - hwcheck's test sessions: DerivedISID(name, ISIDHWCheck) (the last
//     byte XORed with 0x5a), so that they coexist with the running agent's
//     session, and the second path of its MPIO test:
//     DerivedISID(name, ISIDHWCheckPath) (0x3c);
//   - the disk command line (hwagent disk): DerivedISID(name, ISIDTool)
//     (0xa5), unless --as-agent asks for the node's own ISID (only while
//     no hwagent runs);
//   - any other session that must coexist sets Config.ISID to a value of
//     its own, stable for its purpose.
//
// Reconnect order: the call that finds the connection down logs in again and
// runs Config.OnReconnect (the agent's persistent reservation reassert for
// every LUN of the session) before any other call, on any LUN, reaches the
// new connection; the others wait. A fence that runs meanwhile therefore
// sees either the old nexus's registration (an orphan on tgtd) or the
// reasserted one, never a half-restored state of this node's own making;
// scsi.Owner holds the node's own I/O until its reassert is confirmed.
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
