package scsi

import "encoding/binary"

func be16(b []byte) uint16 { return binary.BigEndian.Uint16(b) }
func be32(b []byte) uint32 { return binary.BigEndian.Uint32(b) }
func be64(b []byte) uint64 { return binary.BigEndian.Uint64(b) }

func put16(b []byte, v uint16) { binary.BigEndian.PutUint16(b, v) }
func put32(b []byte, v uint32) { binary.BigEndian.PutUint32(b, v) }
func put64(b []byte, v uint64) { binary.BigEndian.PutUint64(b, v) }

// lenField converts a 32-bit length field to an int no larger than limit,
// so that a huge value cannot overflow int on 32-bit systems.
func lenField(v uint32, limit int) int {
	if uint64(v) > uint64(limit) {
		return limit
	}
	return int(v)
}
