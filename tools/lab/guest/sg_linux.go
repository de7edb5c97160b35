package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sgIOHdr is struct sg_io_hdr from <scsi/sg.h> (amd64 layout).
type sgIOHdr struct {
	interfaceID    int32
	dxferDirection int32
	cmdLen         uint8
	mxSbLen        uint8
	iovecCount     uint16
	dxferLen       uint32
	dxferp         uintptr
	cmdp           uintptr
	sbp            uintptr
	timeout        uint32
	flags          uint32
	packID         int32
	usrPtr         uintptr
	status         uint8
	maskedStatus   uint8
	msgStatus      uint8
	sbLenWr        uint8
	hostStatus     uint16
	driverStatus   uint16
	resid          int32
	duration       uint32
	info           uint32
}

const (
	sgIO           = 0x2285
	dxferNone      = -1
	dxferToDev     = -2
	dxferFromDev   = -3
	statusConflict = 0x18
	statusCheck    = 0x02
)

// sgResult is one command's outcome.
type sgResult struct {
	status byte
	sense  []byte
	data   []byte
}

func sgExec(f *os.File, cdb []byte, dir int32, data []byte) (sgResult, error) {
	sense := make([]byte, 64)
	h := sgIOHdr{interfaceID: 'S', dxferDirection: dir, cmdLen: uint8(len(cdb)), mxSbLen: uint8(len(sense)),
		dxferLen: uint32(len(data)), cmdp: uintptr(unsafe.Pointer(&cdb[0])), sbp: uintptr(unsafe.Pointer(&sense[0])), timeout: 10000}
	if len(data) > 0 {
		h.dxferp = uintptr(unsafe.Pointer(&data[0]))
	}
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), sgIO, uintptr(unsafe.Pointer(&h)))
	if errno != 0 {
		return sgResult{}, fmt.Errorf("SG_IO: %w", errno)
	}
	if h.hostStatus != 0 || h.driverStatus&^0x08 != 0 {
		return sgResult{}, fmt.Errorf("SG_IO: host status %#x driver status %#x", h.hostStatus, h.driverStatus)
	}
	return sgResult{status: h.status, sense: sense[:h.sbLenWr], data: data[:len(data)-int(h.resid)]}, nil
}

func parseKey(s string) (uint64, error) {
	return strconv.ParseUint(strings.TrimPrefix(s, "0x"), 16, 64)
}

// sgTool: hakit sg DEV OP [ARGS]. OPs: tur, inquiry, serial, reserve6,
// release6, read, write, readkeys, readres, register KEY, reserve KEY,
// release KEY, preempt KEY VICTIM, clear KEY. PR reservations use type 1
// (Write Exclusive): only the holder may write.
func sgTool(ctx context.Context, args []string, w, _ io.Writer) error {
	if len(args) < 2 {
		return &exitError{2, errors.New("usage: hakit sg DEV OP [ARGS]")}
	}
	f, err := os.OpenFile(args[0], os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	op, rest := args[1], args[2:]
	keys := make([]uint64, len(rest))
	for i, a := range rest {
		if keys[i], err = parseKey(a); err != nil {
			return &exitError{2, fmt.Errorf("key %q: %w", a, err)}
		}
	}
	need := map[string]int{"register": 1, "reserve": 1, "release": 1, "clear": 1, "preempt": 2}
	if len(keys) != need[op] {
		return &exitError{2, fmt.Errorf("%s wants %d keys", op, need[op])}
	}
	prout := func(sa byte, typ byte, rk, sark uint64) ([]byte, []byte) {
		p := make([]byte, 24)
		binary.BigEndian.PutUint64(p[0:], rk)
		binary.BigEndian.PutUint64(p[8:], sark)
		return []byte{0x5f, sa, typ, 0, 0, 0, 0, 0, 24, 0}, p
	}
	var cdb, data []byte
	dir := int32(dxferNone)
	switch op {
	case "tur":
		cdb = make([]byte, 6)
	case "inquiry":
		cdb, data, dir = []byte{0x12, 0, 0, 0, 96, 0}, make([]byte, 96), dxferFromDev
	case "serial":
		cdb, data, dir = []byte{0x12, 1, 0x80, 0, 255, 0}, make([]byte, 255), dxferFromDev
	case "reserve6":
		cdb = []byte{0x16, 0, 0, 0, 0, 0}
	case "release6":
		cdb = []byte{0x17, 0, 0, 0, 0, 0}
	case "read":
		cdb, data, dir = []byte{0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0}, make([]byte, 512), dxferFromDev
	case "write":
		cdb, data, dir = []byte{0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0}, make([]byte, 512), dxferToDev
		copy(data, "hakit lab write\n")
	case "readkeys", "readres":
		sa := byte(0)
		if op == "readres" {
			sa = 1
		}
		cdb, data, dir = []byte{0x5e, sa, 0, 0, 0, 0, 0, 1, 0, 0}, make([]byte, 256), dxferFromDev
	case "register":
		cdb, data = prout(0, 0, 0, keys[0])
		dir = dxferToDev
	case "reserve":
		cdb, data = prout(1, 1, keys[0], 0)
		dir = dxferToDev
	case "release":
		cdb, data = prout(2, 1, keys[0], 0)
		dir = dxferToDev
	case "clear":
		cdb, data = prout(3, 0, keys[0], 0)
		dir = dxferToDev
	case "preempt":
		cdb, data = prout(4, 1, keys[0], keys[1])
		dir = dxferToDev
	default:
		return &exitError{2, fmt.Errorf("unknown op %q", op)}
	}
	r, err := sgExec(f, cdb, dir, data)
	if err != nil {
		return err
	}
	switch {
	case r.status == statusConflict:
		fmt.Fprintf(w, "%s: RESERVATION CONFLICT\n", op)
		return &exitError{24, errors.New("reservation conflict")}
	case r.status == statusCheck:
		key, asc, ascq := senseKey(r.sense)
		fmt.Fprintf(w, "%s: CHECK CONDITION key=%#x asc=%#x ascq=%#x\n", op, key, asc, ascq)
		if key == 6 {
			return &exitError{6, errors.New("unit attention")}
		}
		return &exitError{1, errors.New("check condition")}
	case r.status != 0:
		return fmt.Errorf("%s: status %#x", op, r.status)
	}
	switch op {
	case "inquiry":
		if len(r.data) >= 32 {
			fmt.Fprintf(w, "vendor=%q product=%q\n", strings.TrimSpace(string(r.data[8:16])), strings.TrimSpace(string(r.data[16:32])))
		}
	case "serial":
		if len(r.data) >= 4 {
			end := min(len(r.data), 4+int(r.data[3]))
			fmt.Fprintf(w, "serial=%q\n", strings.Trim(string(r.data[4:end]), "\x00 "))
		}
	case "readkeys", "readres":
		if len(r.data) < 8 {
			return errors.New("short PR IN data")
		}
		n := int(binary.BigEndian.Uint32(r.data[4:8]))
		fmt.Fprintf(w, "generation=%#x", binary.BigEndian.Uint32(r.data[0:4]))
		for i := 8; i+8 <= 8+n && i+8 <= len(r.data); i += 8 {
			fmt.Fprintf(w, " %#x", binary.BigEndian.Uint64(r.data[i:]))
			if op == "readres" {
				fmt.Fprintf(w, " type=%d", r.data[i+13]&0xf)
				break
			}
		}
		fmt.Fprintln(w)
	default:
		fmt.Fprintf(w, "%s: GOOD\n", op)
	}
	return nil
}

func senseKey(s []byte) (key, asc, ascq byte) {
	switch {
	case len(s) >= 4 && s[0]&0x7f >= 0x72:
		return s[1] & 0xf, s[2], s[3]
	case len(s) >= 14:
		return s[2] & 0xf, s[12], s[13]
	}
	return 0, 0, 0
}
