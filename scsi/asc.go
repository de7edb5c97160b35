package scsi

import "fmt"

// ascTable holds text for the additional sense codes a shared-disk cluster
// meets (SPC-4 annex D). The key is ASC<<8 | ASCQ.
var ascTable = map[uint16]string{
	0x0000: "no additional sense information",
	0x0400: "logical unit not ready, cause not reportable",
	0x0401: "logical unit is in process of becoming ready",
	0x0402: "logical unit not ready, initializing command required",
	0x0403: "logical unit not ready, manual intervention required",
	0x0404: "logical unit not ready, format in progress",
	0x0407: "logical unit not ready, operation in progress",
	0x0409: "logical unit not ready, self-test in progress",
	0x040a: "logical unit not accessible, asymmetric access state transition",
	0x040b: "logical unit not accessible, target port in standby state",
	0x040c: "logical unit not accessible, target port in unavailable state",
	0x0411: "logical unit not ready, notify (enable spinup) required",
	0x0800: "logical unit communication failure",
	0x0c00: "write error",
	0x1100: "unrecovered read error",
	0x1a00: "parameter list length error",
	0x2000: "invalid command operation code",
	0x2100: "logical block address out of range",
	0x2400: "invalid field in cdb",
	0x2500: "logical unit not supported",
	0x2600: "invalid field in parameter list",
	0x2700: "write protected",
	0x2800: "not ready to ready change, medium may have changed",
	0x2900: "power on, reset, or bus device reset occurred",
	0x2901: "power on occurred",
	0x2902: "scsi bus reset occurred",
	0x2903: "bus device reset function occurred",
	0x2904: "device internal reset",
	0x2907: "i_t nexus loss occurred",
	0x2a00: "parameters changed",
	0x2a01: "mode parameters changed",
	0x2a03: "reservations preempted",
	0x2a04: "reservations released",
	0x2a05: "registrations preempted",
	0x2a09: "capacity data has changed",
	0x2c00: "command sequence error",
	0x2f00: "commands cleared by another initiator",
	0x3a00: "medium not present",
	0x3f01: "microcode has been changed",
	0x3f03: "inquiry data has changed",
	0x3f0e: "reported luns data has changed",
	0x4700: "scsi parity error",
	0x4b00: "data phase error",
	0x5500: "system resource failure",
	0x5503: "insufficient resources",
	0x5504: "insufficient registration resources",
}

// ASCText returns the text for an ASC/ASCQ pair; unknown pairs give their
// raw codes ("asc 0x5d, ascq 0x10"), with a hint for the 0x04 (not ready)
// family.
func ASCText(asc, ascq byte) string {
	if s, ok := ascTable[uint16(asc)<<8|uint16(ascq)]; ok {
		return s
	}
	if asc == 0x04 {
		return fmt.Sprintf("logical unit not ready (ascq 0x%02x)", ascq)
	}
	return fmt.Sprintf("asc 0x%02x, ascq 0x%02x", asc, ascq)
}
