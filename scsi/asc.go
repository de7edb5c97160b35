package scsi

import "fmt"

//go:generate go run ../tools/ascgen -o asc_table.go asc-num.txt

// ASCText returns T10's text (in lower case) for an ASC/ASCQ pair, from
// T10's list of additional sense codes (asc-num.txt; ascName and ascRange
// in asc_table.go are generated from it). A pair the list names exactly
// gives its text ("invalid field in cdb"); a pair in one of its ranges the
// range's text with the ASCQ ("diagnostic failure on component 0x85").
// Other pairs give their raw codes: vendor specific (SPC-4: ASC 80h-FFh,
// and ASCQ 80h-FFh of any ASC) says so ("asc 0x29, vendor specific ascq
// 0x85"), the 0x04 (not ready) family keeps a hint, the rest read
// "asc 0x5d, ascq 0x10".
func ASCText(asc, ascq byte) string {
	if s, ok := ascName(asc, ascq); ok {
		return s
	}
	if s, ok := ascRange(asc, ascq); ok {
		return s
	}
	switch {
	case asc >= 0x80:
		return fmt.Sprintf("vendor specific asc 0x%02x, ascq 0x%02x", asc, ascq)
	case ascq >= 0x80:
		return fmt.Sprintf("asc 0x%02x, vendor specific ascq 0x%02x", asc, ascq)
	case asc == 0x04:
		return fmt.Sprintf("logical unit not ready (ascq 0x%02x)", ascq)
	}
	return fmt.Sprintf("asc 0x%02x, ascq 0x%02x", asc, ascq)
}
