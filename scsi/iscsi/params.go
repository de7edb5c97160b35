package iscsi

import (
	"fmt"
	"strconv"
)

// Digest is a digest preference for HeaderDigest or DataDigest.
type Digest int

const (
	// DigestNone offers no digest (the zero value).
	DigestNone Digest = iota
	// DigestCRC32C requires CRC32C; a target that refuses it fails the
	// login.
	DigestCRC32C
	// DigestPreferCRC32C offers CRC32C first and accepts None.
	DigestPreferCRC32C
)

func (d Digest) offer() string {
	switch d {
	case DigestCRC32C:
		return "CRC32C"
	case DigestPreferCRC32C:
		return "CRC32C,None"
	}
	return "None"
}

func (d Digest) String() string {
	switch d {
	case DigestNone, DigestCRC32C, DigestPreferCRC32C:
		return d.offer()
	}
	return "Digest(" + strconv.Itoa(int(d)) + ")"
}

// Params are the operational parameters in force on a connection, from the
// login negotiation (RFC 7143 chapter 13).
type Params struct {
	HeaderDigest, DataDigest bool // CRC32C on
	// MaxRecvDataSegmentLength is what this initiator declared: the largest
	// data segment the target may send.
	MaxRecvDataSegmentLength int
	// MaxXmitDataSegmentLength is what the target declared: the largest
	// data segment this initiator sends.
	MaxXmitDataSegmentLength int
	FirstBurstLength         int
	MaxBurstLength           int
	ImmediateData            bool
	InitialR2T               bool
	MaxOutstandingR2T        int
	ErrorRecoveryLevel       int
	DataPDUInOrder           bool
	DataSequenceInOrder      bool
	DefaultTime2Wait         int
	DefaultTime2Retain       int
	// TargetPortalGroupTag is the tag the target declared, or -1.
	TargetPortalGroupTag int
	// TargetAlias is the alias the target declared, if any.
	TargetAlias string
}

// defaultParams are the RFC 7143 defaults, which hold for keys the target
// does not answer.
func defaultParams() Params {
	return Params{
		MaxRecvDataSegmentLength: 8192,
		MaxXmitDataSegmentLength: 8192,
		FirstBurstLength:         65536,
		MaxBurstLength:           262144,
		ImmediateData:            true,
		InitialR2T:               true,
		MaxOutstandingR2T:        1,
		DataPDUInOrder:           true,
		DataSequenceInOrder:      true,
		DefaultTime2Wait:         2,
		DefaultTime2Retain:       20,
		TargetPortalGroupTag:     -1,
	}
}

func (d digests) String() string {
	return fmt.Sprintf("header=%v data=%v", d.Header, d.Data)
}

func (p Params) digests() digests { return digests{Header: p.HeaderDigest, Data: p.DataDigest} }
