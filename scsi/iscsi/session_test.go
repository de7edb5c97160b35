package iscsi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hakit/hakit/scsi"
)

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*13 + i>>8)
	}
	return b
}

// TestWriteHonoursNegotiation checks the split of a write into immediate
// data, unsolicited Data-Out and R2T-solicited Data-Out against the
// negotiated values.
func TestWriteHonoursNegotiation(t *testing.T) {
	for _, tc := range []struct {
		name      string
		keys      textKeys
		cfg       func(*Config)
		imm       int   // immediate data in the command PDU
		unsol     []int // unsolicited Data-Out segment sizes
		solicited int   // Data-Out PDUs sent for R2Ts
	}{
		{"immediate and unsolicited", textKeys{{"MaxRecvDataSegmentLength", "1024"}, {"FirstBurstLength", "2560"}, {"InitialR2T", "No"}, {"ImmediateData", "Yes"}},
			nil, 1024, []int{1024, 512}, 3},
		{"InitialR2T", textKeys{{"MaxRecvDataSegmentLength", "1024"}, {"FirstBurstLength", "2560"}, {"InitialR2T", "Yes"}, {"ImmediateData", "Yes"}},
			nil, 1024, nil, 4},
		{"no immediate data", textKeys{{"MaxRecvDataSegmentLength", "4096"}, {"FirstBurstLength", "4096"}, {"InitialR2T", "No"}, {"ImmediateData", "No"}},
			nil, 0, []int{4096}, 1},
		{"initiator refuses immediate data", textKeys{{"MaxRecvDataSegmentLength", "4096"}, {"InitialR2T", "Yes"}, {"ImmediateData", "No"}},
			func(c *Config) { c.NoImmediateData = true }, 0, nil, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ft := newFake(t)
			ft.loginKeys = tc.keys
			ft.r2tLen = 4096
			cfg := ft.config()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			s := ft.session(t, cfg)
			data := pattern(5000)
			resp, err := s.Execute(context.Background(), &scsi.Command{CDB: []byte{0x2a, 0, 0, 0, 0, 0, 0, 0, 10, 0}, Direction: scsi.ToDevice, Data: data})
			if err != nil || resp.Status != scsi.StatusGood {
				t.Fatalf("write: %v %+v", err, resp)
			}
			var imm int
			var unsol []int
			solicited := 0
			var itt uint32
			for _, m := range ft.received() {
				switch m := m.(type) {
				case *scsiCmd:
					imm, itt = len(m.Data), m.ITT
					if m.Final != (len(tc.unsol) == 0) || !m.Write || m.ExpectedLen != 5000 {
						t.Errorf("command PDU F=%v W=%v EDTL=%d", m.Final, m.Write, m.ExpectedLen)
					}
				case *dataOut:
					if m.TTT == reservedTag {
						unsol = append(unsol, len(m.Data))
					} else {
						solicited++
					}
					if len(m.Data) > s.Stats().Params.MaxXmitDataSegmentLength {
						t.Errorf("Data-Out of %d bytes beyond MaxRecvDataSegmentLength", len(m.Data))
					}
				}
			}
			if imm != tc.imm || !cmp.Equal(unsol, tc.unsol) || solicited != tc.solicited {
				t.Errorf("immediate %d, unsolicited %v, solicited PDUs %d; want %d, %v, %d", imm, unsol, solicited, tc.imm, tc.unsol, tc.solicited)
			}
			ft.mu.Lock()
			got := ft.written[itt]
			ft.mu.Unlock()
			if !bytes.Equal(got, data) {
				t.Errorf("target got %d bytes that differ from the %d written", len(got), len(data))
			}
		})
	}
}

func TestReadDataIn(t *testing.T) {
	ft := newFake(t)
	ft.readData = pattern(2500)
	ft.dataInSeg = 1000
	s := ft.session(t, ft.config())
	ctx := context.Background()
	resp, err := s.Execute(ctx, &scsi.Command{CDB: []byte{0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0}, Direction: scsi.FromDevice, AllocLen: 4096})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(resp.Data, ft.readData) || resp.Residual != 4096-2500 || resp.Status != scsi.StatusGood {
		t.Errorf("read: %d bytes, residual %d, status %v", len(resp.Data), resp.Residual, resp.Status)
	}
	resp, err = s.Execute(ctx, &scsi.Command{CDB: []byte{0x12, 0, 0, 0, 36, 0}, Direction: scsi.FromDevice, AllocLen: 36})
	if err != nil || !bytes.Equal(resp.Data, ft.readData[:36]) || resp.Residual != 0 {
		t.Errorf("short read: %v %+v", err, resp)
	}
	st := s.Stats()
	if st.Commands != 2 || st.BytesIn != 2536 || !st.Connected || st.TSIH != 0x101 {
		t.Errorf("stats %+v", st)
	}
}

func TestSenseAndStatus(t *testing.T) {
	ft := newFake(t)
	ft.handle = func(fc *fakeConn, m message) bool {
		c, ok := m.(*scsiCmd)
		if !ok {
			return false
		}
		switch c.CDB[0] {
		case 0x00:
			fc.send(&scsiResp{ITT: c.ITT, Status: byte(scsi.StatusCheckCondition), Data: []byte{0, 8, 0x70, 0, 6, 0, 0, 0, 0, 0}})
		case 0x01:
			fc.send(&scsiResp{ITT: c.ITT, Status: byte(scsi.StatusReservationConflict)})
		case 0x02:
			fc.send(&scsiResp{ITT: c.ITT, Response: 1})
		case 0x03:
			fc.send(&scsiResp{ITT: c.ITT, Status: 2, Data: []byte{0, 9, 0x70}})
		}
		return true
	}
	s := ft.session(t, ft.config())
	ctx := context.Background()
	resp, err := s.Execute(ctx, tur())
	if err != nil || resp.Status != scsi.StatusCheckCondition || !bytes.Equal(resp.Sense, []byte{0x70, 0, 6, 0, 0, 0, 0, 0}) {
		t.Errorf("check condition: %v %+v", err, resp)
	}
	resp, err = s.Execute(ctx, &scsi.Command{CDB: []byte{1, 0, 0, 0, 0, 0}})
	if err != nil || resp.Status != scsi.StatusReservationConflict {
		t.Errorf("reservation conflict: %v %+v", err, resp)
	}
	var re *ResponseError
	if _, err := s.Execute(ctx, &scsi.Command{CDB: []byte{2, 0, 0, 0, 0, 0}}); !errors.As(err, &re) || re.Response != 1 || !strings.Contains(err.Error(), "target failure") {
		t.Errorf("target failure: %v", err)
	}
	// A malformed SenseLength: the command completed; its status is kept
	// and the response says the sense data is unusable.
	resp, err = s.Execute(ctx, &scsi.Command{CDB: []byte{3, 0, 0, 0, 0, 0}})
	if err != nil || resp.Status != scsi.StatusCheckCondition || resp.Sense != nil || !strings.Contains(resp.BadSense, "SenseLength 9") {
		t.Errorf("bad sense length: %v %+v, want CHECK CONDITION with BadSense", err, resp)
	}
	if e := scsi.CheckStatus("TEST UNIT READY", resp); e == nil || !strings.Contains(e.Error(), "unusable sense data") {
		t.Errorf("CheckStatus of it: %v", e)
	}
}

// TestMalformed checks that a target sending a broken PDU fails the pending
// command with an error that says what was wrong, and that the session logs
// in again for the next command.
func TestMalformed(t *testing.T) {
	for _, tc := range []struct {
		name string
		bad  func(fc *fakeConn, c *scsiCmd)
		want string
	}{
		{"data-in offset", func(fc *fakeConn, c *scsiCmd) {
			fc.send(&dataIn{ITT: c.ITT, Offset: 10, Data: []byte{1}})
		}, "buffer offset 10, want 0"},
		{"data-in overflow", func(fc *fakeConn, c *scsiCmd) {
			fc.send(&dataIn{ITT: c.ITT, Data: make([]byte, 100)})
		}, "overflow the 8-byte buffer"},
		{"data-in DataSN", func(fc *fakeConn, c *scsiCmd) {
			fc.send(&dataIn{ITT: c.ITT, DataSN: 3, Data: []byte{1}})
		}, "DataSN 3, want 0"},
		{"initiator opcode", func(fc *fakeConn, c *scsiCmd) {
			fc.send(&scsiCmd{ITT: c.ITT})
		}, "SCSI Command: not sent by a target"},
		{"unknown opcode", func(fc *fakeConn, c *scsiCmd) {
			p := rawPDU{}
			p.BHS[0] = 0x3a
			b, _ := appendPDU(nil, &p, digests{})
			fc.nc.Write(b)
		}, "opcode 0x3a: unsupported opcode"},
		{"oversized data segment", func(fc *fakeConn, c *scsiCmd) {
			fc.send(&dataIn{ITT: c.ITT, Data: make([]byte, 300000)})
		}, "exceeds MaxRecvDataSegmentLength 262144"},
		{"bad R2T", func(fc *fakeConn, c *scsiCmd) {
			fc.send(&r2t{ITT: c.ITT, TTT: 1, Offset: 4, Length: 100})
		}, "R2T for 100 bytes at offset 4 of 0"},
		{"garbage", func(fc *fakeConn, c *scsiCmd) {
			fc.nc.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n" + strings.Repeat("x", 40)))
		}, "data segment of 3223089 bytes exceeds MaxRecvDataSegmentLength"},
		{"close mid PDU", func(fc *fakeConn, c *scsiCmd) {
			p := (&scsiResp{ITT: c.ITT, Data: make([]byte, 64)}).marshal()
			b, _ := appendPDU(nil, &p, digests{})
			fc.nc.Write(b[:60])
			fc.nc.Close()
		}, "SCSI Response body: unexpected EOF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ft := newFake(t)
			var once sync.Once
			ft.handle = func(fc *fakeConn, m message) bool {
				c, ok := m.(*scsiCmd)
				if !ok {
					return false
				}
				handled := false
				once.Do(func() { tc.bad(fc, c); handled = true })
				return handled
			}
			s := ft.session(t, ft.config())
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err := s.Execute(ctx, &scsi.Command{CDB: []byte{0x12, 0, 0, 0, 8, 0}, Direction: scsi.FromDevice, AllocLen: 8})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if !errors.Is(err, ErrConnectionLost) {
				t.Errorf("error %v does not match ErrConnectionLost", err)
			}
			if !strings.Contains(err.Error(), "fake:3260") || !strings.Contains(err.Error(), "0x12") {
				t.Errorf("error %v does not say where (portal, command)", err)
			}
			if _, err := s.Execute(ctx, tur()); err != nil {
				t.Fatalf("command after reconnect: %v", err)
			}
			if st := s.Stats(); st.Reconnects != 1 {
				t.Errorf("reconnects %d", st.Reconnects)
			}
		})
	}
}

func TestDigestErrorFromTarget(t *testing.T) {
	ft := newFake(t)
	ft.loginKeys = textKeys{{"HeaderDigest", "CRC32C"}, {"DataDigest", "CRC32C"}}
	ft.handle = func(fc *fakeConn, m message) bool {
		if c, ok := m.(*scsiCmd); ok {
			p := (&scsiResp{ITT: c.ITT}).marshal()
			b, _ := appendPDU(nil, &p, fc.dg)
			b[48] ^= 0xff
			fc.nc.Write(b)
			return true
		}
		return false
	}
	cfg := ft.config()
	cfg.HeaderDigest, cfg.DataDigest = DigestPreferCRC32C, DigestCRC32C
	s := ft.session(t, cfg)
	if p := s.Stats().Params; !p.HeaderDigest || !p.DataDigest {
		t.Fatalf("digests not negotiated: %+v", p)
	}
	_, err := s.Execute(context.Background(), tur())
	if !errors.Is(err, ErrDigest) || !errors.Is(err, ErrConnectionLost) || !strings.Contains(err.Error(), "header digest") {
		t.Errorf("error %v, want a header digest error", err)
	}
}

func TestTimeoutAborts(t *testing.T) {
	ft := newFake(t)
	aborted := make(chan *tmReq, 1)
	ft.handle = func(fc *fakeConn, m message) bool {
		switch m := m.(type) {
		case *scsiCmd:
			return true // never answered
		case *tmReq:
			aborted <- m
		}
		return false
	}
	s := ft.session(t, ft.config())
	start := time.Now()
	_, err := s.Execute(context.Background(), &scsi.Command{CDB: make([]byte, 6), Timeout: 100 * time.Millisecond})
	if el := time.Since(start); el > time.Second {
		t.Errorf("Execute returned after %v", el)
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want a deadline error", err)
	}
	var cmd *scsiCmd
	for _, m := range ft.received() {
		if c, ok := m.(*scsiCmd); ok {
			cmd = c
		}
	}
	select {
	case tm := <-aborted:
		if tm.Function != TMFAbortTask || tm.RefTaskTag != cmd.ITT || tm.RefCmdSN != cmd.CmdSN || !tm.Immediate {
			t.Errorf("abort %+v for command ITT %#x CmdSN %d", tm, cmd.ITT, cmd.CmdSN)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no ABORT TASK")
	}
	if st := s.Stats(); st.Timeouts != 1 || st.Failures != 1 {
		t.Errorf("stats %+v", st)
	}

	// A cancelled context ends the call at once too.
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	if _, err := s.Execute(ctx, tur()); !errors.Is(err, context.Canceled) {
		t.Errorf("cancel: %v", err)
	}
}

// TestHungTarget: a target that stops reading must not hang Execute past
// its deadline, even mid-write.
func TestHungTarget(t *testing.T) {
	ft := newFake(t)
	block := make(chan struct{})
	defer close(block)
	ft.handle = func(fc *fakeConn, m message) bool {
		<-block
		return true
	}
	cfg := ft.config()
	cfg.CommandTimeout = 300 * time.Millisecond
	s := ft.session(t, cfg)
	for _, cmd := range []*scsi.Command{tur(), {CDB: make([]byte, 10), Direction: scsi.ToDevice, Data: make([]byte, 1<<20)}} {
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
		_, err := s.Execute(ctx, cmd)
		cancel()
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("error %v, want a deadline error", err)
		}
		if el := time.Since(start); el > 2*time.Second {
			t.Errorf("Execute returned after %v", el)
		}
	}
	if _, err := s.Ping(contextWithTimeout(t, 100*time.Millisecond)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Ping: %v", err)
	}
}

func contextWithTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestTargetPing(t *testing.T) {
	ft := newFake(t)
	answered := make(chan *nopOut, 1)
	ft.handle = func(fc *fakeConn, m message) bool {
		if n, ok := m.(*nopOut); ok && n.ITT == reservedTag {
			answered <- n
			return true
		}
		return false
	}
	s := ft.session(t, ft.config())
	ft.mu.Lock()
	fc := ft.conns[0]
	ft.mu.Unlock()
	if err := fc.send(&nopIn{LUN: lunField(1), ITT: reservedTag, TTT: 0x4242, Data: []byte("echo")}); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-answered:
		if n.TTT != 0x4242 || !n.Immediate || string(n.Data) != "echo" || n.LUN != lunField(1) {
			t.Errorf("answer %+v", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("target ping not answered")
	}
	rtt, err := s.Ping(context.Background())
	if err != nil || rtt <= 0 {
		t.Errorf("Ping: %v %v", rtt, err)
	}
	if st := s.Stats(); st.TargetPings != 1 || st.LastPingRTT != rtt {
		t.Errorf("stats %+v", st)
	}
}

func TestCommandWindow(t *testing.T) {
	ft := newFake(t)
	ft.window = 1
	release := make(chan struct{})
	var first atomic.Bool
	ft.handle = func(fc *fakeConn, m message) bool {
		if c, ok := m.(*scsiCmd); ok && first.CompareAndSwap(false, true) {
			// Hold the first command and keep the window shut.
			fc.mu.Lock()
			fc.expCmdSN = c.CmdSN + 1
			fc.mu.Unlock()
			go func() {
				<-release
				fc.openWindow(4)
				fc.send(&scsiResp{ITT: c.ITT})
			}()
			return true
		}
		return false
	}
	s := ft.session(t, ft.config())
	errs := make(chan error, 1)
	go func() {
		_, err := s.Execute(context.Background(), tur())
		errs <- err
	}()
	time.Sleep(50 * time.Millisecond)
	// The window holds one command: a second one waits and times out.
	_, err := s.Execute(contextWithTimeout(t, 100*time.Millisecond), tur())
	if !errors.Is(err, os.ErrDeadlineExceeded) || !strings.Contains(err.Error(), "command window") {
		t.Errorf("second command: %v, want a window timeout", err)
	}
	close(release)
	if err := <-errs; err != nil {
		t.Errorf("first command: %v", err)
	}
	if _, err := s.Execute(context.Background(), tur()); err != nil {
		t.Errorf("after the window opened: %v", err)
	}
	for _, m := range ft.received() {
		if c, ok := m.(*scsiCmd); ok && c.CDB[0] == 0 && c.CmdSN > 2 {
			t.Errorf("CmdSN %d: the timed-out command was sent", c.CmdSN)
		}
	}
}

func TestConcurrentExecute(t *testing.T) {
	ft := newFake(t)
	ft.readData = pattern(3000)
	ft.window = 4
	s := ft.session(t, ft.config())
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				var resp *scsi.Response
				var err error
				if i%2 == 0 {
					resp, err = s.Execute(context.Background(), &scsi.Command{CDB: make([]byte, 10), Direction: scsi.FromDevice, AllocLen: 3000})
					if err == nil && !bytes.Equal(resp.Data, ft.readData) {
						err = errors.New("data differ")
					}
				} else {
					_, err = s.Execute(context.Background(), &scsi.Command{CDB: make([]byte, 10), Direction: scsi.ToDevice, Data: pattern(9000)})
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	// CmdSNs went out in order, each once.
	next := uint32(1)
	for _, m := range ft.received() {
		if c, ok := m.(*scsiCmd); ok {
			if c.CmdSN != next {
				t.Fatalf("CmdSN %d, want %d", c.CmdSN, next)
			}
			next++
		}
	}
	if next != 161 {
		t.Errorf("%d commands", next-1)
	}
}

func TestReconnect(t *testing.T) {
	ft := newFake(t)
	hold := make(chan struct{})
	ft.handle = func(fc *fakeConn, m message) bool {
		if c, ok := m.(*scsiCmd); ok && c.CDB[0] == 0x2a {
			close(hold)
			return true // the write is in flight when the target dies
		}
		return false
	}
	var events []ReconnectEvent
	cfg := ft.config()
	cfg.Reconnect.MinBackoff = 10 * time.Millisecond
	var s *Session
	cfg.OnReconnect = func(ctx context.Context, ev ReconnectEvent) {
		events = append(events, ev)
		// The callback may run commands (re-register) before the caller's.
		if _, err := s.Execute(ctx, tur()); err != nil {
			t.Errorf("command from OnReconnect: %v", err)
		}
	}
	s = ft.session(t, cfg)
	errs := make(chan error, 1)
	go func() {
		_, err := s.Execute(context.Background(), &scsi.Command{CDB: []byte{0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0}, Direction: scsi.ToDevice, Data: make([]byte, 512)})
		errs <- err
	}()
	<-hold
	ft.mu.Lock()
	ft.refuse = errors.New("connection refused")
	ft.mu.Unlock()
	ft.dropAll()
	if err := <-errs; !errors.Is(err, ErrConnectionLost) {
		t.Fatalf("in-flight write: %v, want ErrConnectionLost", err)
	}
	// While the target is down, a call fails within its deadline.
	if _, err := s.Execute(contextWithTimeout(t, 100*time.Millisecond), tur()); !errors.Is(err, ErrConnectionLost) || !errors.Is(err, os.ErrDeadlineExceeded) || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("while down: %v", err)
	}
	time.AfterFunc(100*time.Millisecond, func() {
		ft.mu.Lock()
		ft.refuse = nil
		ft.mu.Unlock()
	})
	if _, err := s.Execute(contextWithTimeout(t, 5*time.Second), tur()); err != nil {
		t.Fatalf("after restart: %v", err)
	}
	if len(events) != 1 || events[0].Count != 1 || events[0].TSIH != 0x102 || events[0].Attempts < 2 || !errors.Is(events[0].Cause, ErrConnectionLost) && events[0].Cause == nil {
		t.Errorf("events %+v", events)
	}
	ft.mu.Lock()
	isids := ft.isids
	ft.mu.Unlock()
	if len(isids) != 2 || isids[0] != isids[1] || isids[0] != DefaultISID(cfg.InitiatorName) {
		t.Errorf("ISIDs %x", isids)
	}
	if st := s.Stats(); st.Reconnects != 1 || st.TSIH != 0x102 {
		t.Errorf("stats %+v", st)
	}
}

func TestReconnectDisabled(t *testing.T) {
	ft := newFake(t)
	cfg := ft.config()
	cfg.Reconnect.Disabled = true
	s := ft.session(t, cfg)
	ft.dropAll()
	time.Sleep(20 * time.Millisecond)
	if _, err := s.Execute(context.Background(), tur()); !errors.Is(err, ErrConnectionLost) || !strings.Contains(err.Error(), "reconnect disabled") {
		t.Errorf("error %v", err)
	}
}

// An Asynchronous Message asking for a logout (event 1): the command in
// flight gets its answer (not "connection lost"), the initiator sends a
// Logout, new commands wait and go out on the next connection after the
// target's DefaultTime2Wait.
func TestAsyncLogoutRequest(t *testing.T) {
	ft := newFake(t)
	ft.loginKeys = textKeys{{"DefaultTime2Wait", "1"}}
	var (
		mu      sync.Mutex
		held    *scsiCmd
		logouts []uint8
	)
	release := make(chan struct{})
	ft.handle = func(fc *fakeConn, m message) bool {
		switch m := m.(type) {
		case *scsiCmd:
			mu.Lock()
			first := held == nil
			if first {
				held = m
			}
			mu.Unlock()
			if first {
				// Hold the first command's answer; ask for a logout.
				fc.send(&asyncMsg{Event: asyncLogoutRequest, Param3: 3})
				go func() {
					<-release
					fc.send(&scsiResp{ITT: m.ITT, StatSN: fc.nextStat(), ExpCmdSN: m.CmdSN + 1, MaxCmdSN: m.CmdSN + 32})
				}()
				return true
			}
		case *logoutReq:
			mu.Lock()
			logouts = append(logouts, m.Reason)
			mu.Unlock()
		}
		return false
	}
	s := ft.session(t, ft.config())
	done := make(chan error, 1)
	go func() { _, err := s.Execute(context.Background(), tur()); done <- err }()
	time.Sleep(100 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("the held command ended before its answer: %v", err)
	default:
	}
	// A second command waits for the next connection.
	second := make(chan error, 1)
	start := time.Now()
	go func() { _, err := s.Execute(context.Background(), tur()); second <- err }()
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("the command in flight at the logout request: %v, want its answer", err)
	}
	if err := <-second; err != nil {
		t.Fatalf("a command after the logout request: %v", err)
	}
	if waited := time.Since(start); waited < time.Second {
		t.Errorf("the next login came %v after the logout, before DefaultTime2Wait (1 s)", waited)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(logouts) != 1 || logouts[0] != logoutCloseConnection {
		t.Errorf("logouts %v, want one with reason close the connection", logouts)
	}
	if st := s.Stats(); st.Reconnects != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestRejectedCommand(t *testing.T) {
	ft := newFake(t)
	ft.handle = func(fc *fakeConn, m message) bool {
		if c, ok := m.(*scsiCmd); ok {
			p := c.marshal()
			fc.send(&reject{Reason: 0x05, Data: p.BHS[:]})
			return true
		}
		return false
	}
	s := ft.session(t, ft.config())
	var re *RejectError
	_, err := s.Execute(context.Background(), tur())
	if !errors.As(err, &re) || re.Reason != 5 || !strings.Contains(err.Error(), "command not supported") {
		t.Errorf("error %v", err)
	}
}

func TestTaskManagement(t *testing.T) {
	ft := newFake(t)
	ft.handle = func(fc *fakeConn, m message) bool {
		if tm, ok := m.(*tmReq); ok && tm.Function == TMFTargetColdReset {
			fc.send(&tmResp{ITT: tm.ITT, Response: 5})
			return true
		}
		return false
	}
	s := ft.session(t, ft.config())
	ctx := context.Background()
	if err := s.Reset(ctx, scsi.ResetLUN); err != nil {
		t.Fatal(err)
	}
	if err := s.TaskManagement(ctx, TMFAbortTaskSet); err != nil {
		t.Fatal(err)
	}
	var te *TMFError
	if err := s.TaskManagement(ctx, TMFTargetColdReset); !errors.As(err, &te) || !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "TARGET COLD RESET") {
		t.Errorf("cold reset: %v", err)
	}
	if err := s.Reset(ctx, scsi.ResetBus); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("bus reset: %v", err)
	}
	if err := s.TaskManagement(ctx, TMFAbortTask); err == nil {
		t.Error("ABORT TASK without a task accepted")
	}
	var fns []uint8
	for _, m := range ft.received() {
		if tm, ok := m.(*tmReq); ok {
			fns = append(fns, tm.Function)
			if tm.LUN != lunField(1) || tm.RefTaskTag != reservedTag {
				t.Errorf("TMF %+v", tm)
			}
		}
	}
	if diff := cmp.Diff([]uint8{TMFLogicalUnitReset, TMFAbortTaskSet, TMFTargetColdReset}, fns); diff != "" {
		t.Error(diff)
	}
	if err := s.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close after Logout: %v", err)
	}
	if _, err := s.Ping(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Ping after Logout: %v", err)
	}
}

func TestDialErrors(t *testing.T) {
	ft := newFake(t)
	ft.loginStatus = 0x0202
	u := URL{Host: "fake", Port: 3260, Target: "iqn.2026-11.io.hakit.test:target", LUN: 1}
	_, err := Dial(context.Background(), u, ft.config())
	var le *LoginError
	if !errors.As(err, &le) || !errors.Is(err, ErrNotAuthorized) || le.Status() != 0x0202 || !strings.Contains(err.Error(), "authorization failure") {
		t.Errorf("error %v", err)
	}
	for _, tc := range []struct {
		name string
		cfg  Config
		u    URL
		want string
	}{
		{"no initiator", Config{}, u, "InitiatorName"},
		{"no URL", Config{InitiatorName: "iqn.x:y"}, URL{}, "incomplete URL"},
		{"user without secret", Config{InitiatorName: "iqn.x:y", CHAPUser: "u"}, u, "no secret"},
		{"mutual without user", Config{InitiatorName: "iqn.x:y", MutualCHAPSecret: "s"}, u, "mutual CHAP needs"},
		{"bad MRDSL", Config{InitiatorName: "iqn.x:y", MaxRecvDataSegmentLength: 100}, u, "MaxRecvDataSegmentLength 100"},
		{"bad digest", Config{InitiatorName: "iqn.x:y", DataDigest: 7}, u, "invalid digest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Dial(context.Background(), tc.u, tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
	// A portal that accepts but never answers: Dial ends with its context.
	hang := func(ctx context.Context, addr string) (net.Conn, error) {
		a, b := net.Pipe()
		go io.Copy(io.Discard, b)
		t.Cleanup(func() { b.Close() })
		return a, nil
	}
	start := time.Now()
	_, err = Dial(contextWithTimeout(t, 100*time.Millisecond), u, Config{InitiatorName: "iqn.x:y", Dial: hang})
	if !errors.Is(err, os.ErrDeadlineExceeded) || time.Since(start) > time.Second {
		t.Errorf("hung login: %v after %v", err, time.Since(start))
	}
}

func TestCheckCommand(t *testing.T) {
	ft := newFake(t)
	s := ft.session(t, ft.config())
	for _, cmd := range []*scsi.Command{
		nil,
		{},
		{CDB: make([]byte, 261)},
		{CDB: make([]byte, 6), AllocLen: 5},
		{CDB: make([]byte, 6), Data: []byte{1}},
		{CDB: make([]byte, 6), Direction: 9},
		{CDB: make([]byte, 6), Timeout: -1},
	} {
		if _, err := s.Execute(context.Background(), cmd); err == nil {
			t.Errorf("Execute(%+v) accepted", cmd)
		}
	}
	// A 32-byte CDB travels in an extended CDB AHS.
	cdb := pattern(32)
	if _, err := s.Execute(context.Background(), &scsi.Command{CDB: cdb}); err != nil {
		t.Fatal(err)
	}
	msgs := ft.received()
	if c := msgs[len(msgs)-1].(*scsiCmd); !bytes.Equal(c.CDB, cdb) {
		t.Errorf("CDB %x", c.CDB)
	}
}

// A reconnect that lands on another target portal group says so in the
// event (the I_T nexus changed); a permanent redirection is remembered for
// later logins, a temporary one is not.
func TestReconnectTPGTAndPermanentRedirect(t *testing.T) {
	for _, status := range []uint16{0x0101, 0x0102} {
		ft := newFake(t)
		moved := newFake(t)
		var mu sync.Mutex
		var dialled []string
		cfg := ft.config()
		cfg.Dial = func(ctx context.Context, addr string) (net.Conn, error) {
			mu.Lock()
			dialled = append(dialled, addr)
			mu.Unlock()
			if addr == "fake:3260" {
				return moved.dial(ctx, addr)
			}
			return ft.dial(ctx, addr)
		}
		moved.loginStatus, moved.loginKeys, moved.redirect = status, nil, "[::1]:3261,2"
		var evs []ReconnectEvent
		cfg.OnReconnect = func(_ context.Context, ev ReconnectEvent) { evs = append(evs, ev) }
		s := ft.session(t, cfg)
		ft.mu.Lock()
		ft.tpgt = "2"
		ft.mu.Unlock()
		ft.dropAll()
		time.Sleep(20 * time.Millisecond)
		if _, err := s.Execute(context.Background(), tur()); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		got := dialled
		mu.Unlock()
		want := []string{"fake:3260", "[::1]:3261", "fake:3260", "[::1]:3261"}
		if status == 0x0102 {
			want = []string{"fake:3260", "[::1]:3261", "[::1]:3261"}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("status 0x%04x: portals dialled (-want +got):\n%s", status, diff)
		}
		if len(evs) != 1 || !evs[0].NexusChanged() || evs[0].TPGT != 2 || evs[0].PrevTPGT != 1 || evs[0].Portal != "[::1]:3261" {
			t.Errorf("status 0x%04x: reconnect events %+v, want one from TPGT 1 to 2 at [::1]:3261", status, evs)
		}
	}
}

func TestLoginRedirect(t *testing.T) {
	ft := newFake(t)
	moved := newFake(t)
	moved.loginStatus = 0x0101
	var dialled []string
	cfg := ft.config()
	cfg.Dial = func(ctx context.Context, addr string) (net.Conn, error) {
		dialled = append(dialled, addr)
		if addr == "fake:3260" {
			return moved.dial(ctx, addr)
		}
		return ft.dial(ctx, addr)
	}
	moved.loginKeys = nil
	moved.redirect = "[::1]:3261,1"
	s := ft.session(t, cfg)
	if _, err := s.Execute(context.Background(), tur()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"fake:3260", "[::1]:3261"}, dialled); diff != "" {
		t.Error(diff)
	}
	for v, want := range map[string]string{"h": "h:3260", "h:1,2": "h:1", "[::1]": "[::1]:3260", "[::1]:5": "[::1]:5", ",1": ""} {
		if got := redirectAddr(v); got != want {
			t.Errorf("redirectAddr(%q) = %q, want %q", v, got, want)
		}
	}
}

// After a data-digest Reject the task is still live at the target: the
// initiator keeps waiting for its status. A Reject's StatSN advances
// ExpStatSN like any status.
func TestRejectDataDigestKeepsTask(t *testing.T) {
	ft := newFake(t)
	var rejectStat uint32
	ft.handle = func(fc *fakeConn, m message) bool {
		c, ok := m.(*scsiCmd)
		if !ok || c.CDB[0] != 0x12 {
			return false
		}
		p := c.marshal()
		rejectStat = fc.nextStat()
		fc.send(&reject{Reason: rejectDataDigest, StatSN: rejectStat, ExpCmdSN: c.CmdSN + 1, MaxCmdSN: c.CmdSN + 32, Data: p.BHS[:]})
		fc.send(&scsiResp{ITT: c.ITT, StatSN: fc.nextStat(), ExpCmdSN: c.CmdSN + 1, MaxCmdSN: c.CmdSN + 32})
		return true
	}
	s := ft.session(t, ft.config())
	ctx := context.Background()
	resp, err := s.Execute(ctx, &scsi.Command{CDB: []byte{0x12, 0, 0, 0, 36, 0}, Direction: scsi.FromDevice, AllocLen: 36})
	if err != nil || resp.Status != scsi.StatusGood {
		t.Fatalf("command whose data PDU was rejected for its digest: %v %+v, want its status", err, resp)
	}
	if _, err := s.Execute(ctx, tur()); err != nil {
		t.Fatal(err)
	}
	var last *scsiCmd
	for _, m := range ft.received() {
		if c, ok := m.(*scsiCmd); ok {
			last = c
		}
	}
	if last == nil || snLess(last.ExpStatSN, rejectStat+2) {
		t.Errorf("ExpStatSN of the next command %+v, want past the Reject's StatSN %d and the status after it", last, rejectStat)
	}
}

// RFC 7143 5.1 numerical values: decimal, or hexadecimal with 0x (CHAP_I
// may come either way); a leading zero is decimal.
func TestNumericalValue(t *testing.T) {
	for in, want := range map[string]int64{"17": 17, "017": 17, "0x1f": 31, "0X1F": 31, "255": 255} {
		if got, err := numericalValue(in); err != nil || got != want {
			t.Errorf("numericalValue(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0x", "1e3", "0xg", "-"} {
		if _, err := numericalValue(in); err == nil {
			t.Errorf("numericalValue(%q) accepted", in)
		}
	}
}

// An asynchronous SCSI event (event 0) reaches Config.OnSCSIEvent with its
// LUN and sense data; a renegotiation request (event 4) leads to a fresh
// login, which negotiates every parameter again.
func TestAsyncSCSIEventAndRenegotiate(t *testing.T) {
	ft := newFake(t)
	cfg := ft.config()
	type ev struct {
		lun   int
		sense []byte
	}
	got := make(chan ev, 1)
	cfg.OnSCSIEvent = func(lun int, sense []byte) { got <- ev{lun, sense} }
	s := ft.session(t, cfg)
	ft.mu.Lock()
	fc := ft.conns[0]
	ft.mu.Unlock()
	sense := []byte{0x70, 0, 6, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x2a, 0x03}
	fc.send(&asyncMsg{LUN: lunField(1), Event: asyncSCSIEvent, Data: append([]byte{0, byte(len(sense))}, sense...)})
	select {
	case e := <-got:
		if e.lun != 1 || !bytes.Equal(e.sense, sense) {
			t.Errorf("SCSI event LUN %d sense % x", e.lun, e.sense)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("OnSCSIEvent not called")
	}
	fc.send(&asyncMsg{Event: asyncNegotiateParams, Param3: 2})
	deadline := time.Now().Add(8 * time.Second)
	for s.Stats().Reconnects == 0 && time.Now().Before(deadline) {
		if _, err := s.Execute(context.Background(), tur()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st := s.Stats(); st.Reconnects != 1 {
		t.Errorf("after a renegotiation request: %d reconnects, want 1 (a fresh login)", st.Reconnects)
	}
}

// With Config.Keepalive, a path that stops answering is found within the
// interval although no command runs: the connection is closed, counted and
// the next call logs in again.
func TestKeepaliveFindsDeadPath(t *testing.T) {
	ft := newFake(t)
	var silent atomic.Bool
	ft.handle = func(fc *fakeConn, m message) bool {
		_, ping := m.(*nopOut)
		return ping && silent.Load() // swallow pings: a dead path
	}
	cfg := ft.config()
	cfg.Keepalive = 200 * time.Millisecond
	s := ft.session(t, cfg)
	time.Sleep(500 * time.Millisecond)
	if st := s.Stats(); !st.Connected || st.KeepaliveFailures != 0 {
		t.Fatalf("healthy path: %+v", st)
	}
	silent.Store(true)
	start := time.Now()
	for s.Stats().Connected && time.Since(start) < 5*time.Second {
		time.Sleep(5 * time.Millisecond)
	}
	found := time.Since(start)
	if st := s.Stats(); st.Connected || st.KeepaliveFailures != 1 {
		t.Fatalf("dead path not found: %+v", st)
	}
	if found > 2*cfg.Keepalive {
		t.Errorf("dead path found after %v, want within about the interval %v", found, cfg.Keepalive)
	}
	silent.Store(false)
	if _, err := s.Execute(context.Background(), tur()); err != nil {
		t.Fatal(err)
	}
	t.Logf("dead path found %v after it went silent (keepalive %v)", found.Round(time.Millisecond), cfg.Keepalive)
}
