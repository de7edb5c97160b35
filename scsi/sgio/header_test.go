package sgio

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	"github.com/hakit/hakit/scsi"
)

// TestHeaderSize checks sgIOHdr against struct sg_io_hdr's layout on this
// architecture (run under GOARCH=386/arm for the 32-bit one).
func TestHeaderSize(t *testing.T) {
	var h sgIOHdr
	type off struct {
		name string
		got  uintptr
	}
	got := []off{
		{"dxferp", unsafe.Offsetof(h.dxferp)}, {"cmdp", unsafe.Offsetof(h.cmdp)}, {"sbp", unsafe.Offsetof(h.sbp)},
		{"timeout", unsafe.Offsetof(h.timeout)}, {"usr_ptr", unsafe.Offsetof(h.usrPtr)}, {"status", unsafe.Offsetof(h.status)},
		{"host_status", unsafe.Offsetof(h.hostStatus)}, {"resid", unsafe.Offsetof(h.resid)}, {"info", unsafe.Offsetof(h.info)},
		{"size", unsafe.Sizeof(h)},
	}
	var want []off
	switch unsafe.Sizeof(uintptr(0)) {
	case 8:
		want = []off{{"dxferp", 16}, {"cmdp", 24}, {"sbp", 32}, {"timeout", 40}, {"usr_ptr", 56}, {"status", 64}, {"host_status", 68}, {"resid", 72}, {"info", 80}, {"size", 88}}
	case 4:
		want = []off{{"dxferp", 16}, {"cmdp", 20}, {"sbp", 24}, {"timeout", 28}, {"usr_ptr", 40}, {"status", 44}, {"host_status", 48}, {"resid", 52}, {"info", 60}, {"size", 64}}
	default:
		t.Fatalf("pointer size %d", unsafe.Sizeof(uintptr(0)))
	}
	if d := cmp.Diff(want, got, cmp.AllowUnexported(off{})); d != "" {
		t.Errorf("sg_io_hdr layout (-want +got):\n%s", d)
	}
}

func TestTimeoutFor(t *testing.T) {
	now := time.Unix(1000, 0)
	tests := []struct {
		name     string
		deadline time.Time
		has      bool
		cmd      time.Duration
		want     uint32
		err      error
	}{
		{"deadline", now.Add(2 * time.Second), true, 0, 2000, nil},
		{"command shorter", now.Add(2 * time.Second), true, 500 * time.Millisecond, 500, nil},
		{"command longer", now.Add(2 * time.Second), true, time.Minute, 2000, nil},
		{"rounded up", now.Add(1500 * time.Microsecond), true, 0, 2, nil},
		{"huge", now.Add(100 * 24 * time.Hour), true, 0, maxTimeout, nil},
		{"passed", now.Add(-time.Millisecond), true, 0, 0, os.ErrDeadlineExceeded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := timeoutFor(now, tc.deadline, tc.has, tc.cmd)
			if got != tc.want || !errors.Is(err, tc.err) {
				t.Errorf("timeoutFor = %d, %v; want %d, %v", got, err, tc.want, tc.err)
			}
		})
	}
	if _, err := timeoutFor(now, time.Time{}, false, time.Second); err == nil {
		t.Error("no deadline accepted")
	}
}

func TestNewRequest(t *testing.T) {
	w, _ := scsi.Write10(0, make([]byte, 1024), 512)
	tests := []struct {
		name string
		cmd  *scsi.Command
		dir  int32
		len  uint32
	}{
		{"none", scsi.TestUnitReady(), sgDxferNone, 0},
		{"from device", scsi.Inquiry(96), sgDxferFromDev, 96},
		{"to device", w, sgDxferToDev, 1024},
		{"empty data out", &scsi.Command{CDB: []byte{0x5f, 0, 0, 0, 0, 0, 0, 0, 0, 0}, Direction: scsi.ToDevice}, sgDxferNone, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := newRequest(tc.cmd, 1234)
			if err != nil {
				t.Fatal(err)
			}
			h := r.hdr
			if h.interfaceID != 'S' || h.dxferDirection != tc.dir || h.dxferLen != tc.len || h.timeout != 1234 ||
				int(h.cmdLen) != len(tc.cmd.CDB) || h.mxSbLen != senseBufferSize || h.cmdp != unsafe.Pointer(&r.cdb[0]) || h.sbp != unsafe.Pointer(&r.sense[0]) {
				t.Errorf("header %+v", h)
			}
			if tc.len > 0 && h.dxferp != unsafe.Pointer(&r.data[0]) {
				t.Error("dxferp does not point at the data")
			}
		})
	}
	for _, bad := range []*scsi.Command{nil, {}, {CDB: make([]byte, 256)}, {CDB: []byte{0x12}, Direction: scsi.FromDevice}, {CDB: []byte{0}, Direction: 9}} {
		if _, err := newRequest(bad, 1); err == nil {
			t.Errorf("newRequest(%+v): no error", bad)
		}
	}
}

// TestResponse plays the kernel: it fills the output fields of the header
// and checks the Response or error derived from them.
func TestResponse(t *testing.T) {
	sense := scsi.Sense{Key: scsi.SenseUnitAttention, ASC: 0x29}.MarshalFixed()
	tests := []struct {
		name   string
		cmd    *scsi.Command
		fill   func(r *request)
		want   *scsi.Response
		errIs  error
		errStr string
	}{
		{"data in with residual", scsi.Inquiry(96), func(r *request) {
			copy(r.data, "abcdef")
			r.hdr.resid = 90
		}, &scsi.Response{Data: []byte("abcdef"), Residual: 90}, nil, ""},
		{"reservation conflict", scsi.TestUnitReady(), func(r *request) { r.hdr.status = 0x18; r.hdr.maskedStatus = 0x0c },
			&scsi.Response{Status: scsi.StatusReservationConflict}, nil, ""},
		{"check condition with sense", scsi.TestUnitReady(), func(r *request) {
			r.hdr.status, r.hdr.driverStatus = 0x02, driverSense
			r.hdr.sbLenWr = uint8(copy(r.sense, sense))
		}, &scsi.Response{Status: scsi.StatusCheckCondition, Sense: sense}, nil, ""},
		{"host timeout", scsi.TestUnitReady(), func(r *request) { r.hdr.hostStatus = didTimeOut }, nil, os.ErrDeadlineExceeded, "host status timed out"},
		{"driver timeout", scsi.TestUnitReady(), func(r *request) { r.hdr.driverStatus = driverTimout }, nil, os.ErrDeadlineExceeded, "driver status 0x06"},
		{"no connect", scsi.TestUnitReady(), func(r *request) { r.hdr.hostStatus = didNoConnect }, nil, nil, "no connection"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := newRequest(tc.cmd, 1000)
			if err != nil {
				t.Fatal(err)
			}
			tc.fill(r)
			got, err := r.response()
			if tc.errStr != "" {
				var te *TransportError
				if !errors.As(err, &te) || (tc.errIs != nil && !errors.Is(err, tc.errIs)) || !strings.Contains(err.Error(), tc.errStr) {
					t.Errorf("error %v, want %q", err, tc.errStr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("response (-want +got):\n%s", d)
			}
		})
	}
}

func TestResetValue(t *testing.T) {
	for level, want := range map[scsi.ResetLevel]int32{scsi.ResetLUN: 0x101, scsi.ResetTarget: 0x104, scsi.ResetBus: 0x102} {
		if got, err := resetValue(level); err != nil || got != want {
			t.Errorf("resetValue(%v) = %#x, %v; want %#x", level, got, err, want)
		}
	}
	if _, err := resetValue(0); err == nil {
		t.Error("level 0 accepted")
	}
}
