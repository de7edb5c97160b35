// Package scsi is hakit's SCSI command layer (SPC-4): CDB builders and
// response decoders, typed sense errors, transports (Linux SG_IO and a
// userspace iSCSI initiator) and, on top, shared-disk ownership and fencing
// with SCSI-3 persistent reservations and SCSI-2 reserve/release.
//
// Layers:
//
//   - Pure codecs, no I/O: the builders (TestUnitReady, Inquiry, InquiryVPD,
//     ReadCapacity16, ReportLUNs, Reserve6, Release6, PRIn, PROut, Read10,
//     Write10) and decoders (ParseInquiry, ParseSupportedPages,
//     ParseUnitSerial, ParseDeviceID, NewIdentity, ParseReadCapacity16,
//     ParseReportLUNs, ParseReadKeys, ParseReadReservation,
//     ParseReportCapabilities, ParseReadFullStatus, ParseTransportID,
//     ParseSense). Non-GOOD status becomes a *SenseError matching
//     ErrReservationConflict, ErrUnitAttention, ErrNotReady,
//     ErrIllegalRequest, ErrBusy with errors.Is.
//   - Transport (transport.go): one CDB on one logical unit. Implemented by
//     scsi/sgio (SG_IO), scsi/iscsi (iSCSI over TCP) and scsi/scsitest (an
//     in-memory LUN and a record/playback double).
//   - Device: runs the builders on a Transport and decodes the answers,
//     absorbing unit attentions.
//   - Owner: this node's persistent reservation on a shared LUN: Register,
//     Acquire, Release, Fence, Unfence, Reassert, Clear, Status; keys from
//     NodeKey (or fence_scsi's layout). SCSI2: RESERVE(6)/RELEASE(6) with the
//     challenge/defense takeover. OWNERSHIP.md documents the rules.
//   - scsi/diskcli: the field command line (hwagent disk ...).
package scsi
