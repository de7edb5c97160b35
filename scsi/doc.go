// Package scsi is hakit's SCSI command layer (SPC-4): CDB builders and
// response decoders, typed sense errors, transports (Linux SG_IO and a
// userspace iSCSI initiator) and, on top, shared-disk ownership and fencing
// with SCSI-3 persistent reservations and SCSI-2 reserve/release.
package scsi
