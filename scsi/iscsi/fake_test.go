package iscsi

import (
	"bufio"
	"context"
	"errors"
	"net"
	"sync"
	"testing"

	"github.com/hakit/hakit/scsi"
)

// fakeTarget is an in-process iSCSI target over net.Pipe for unit tests. It
// logs in any initiator (answering the operational stage with loginKeys) and
// serves SCSI commands: writes collect immediate data, unsolicited Data-Out
// and Data-Out for its R2Ts; reads return readData in Data-In PDUs of
// dataInSeg bytes. handle, when set, sees every PDU first and returns true
// when it answered it itself.
type fakeTarget struct {
	t           testing.TB
	loginKeys   textKeys
	loginStatus uint16
	redirect    string // TargetAddress sent with loginStatus
	window      uint32 // MaxCmdSN - ExpCmdSN + 1; 0 means 32
	readData    []byte
	dataInSeg   int
	r2tLen      int
	handle      func(fc *fakeConn, m message) bool
	tpgt        string // TargetPortalGroupTag at login; "" means 1

	mu      sync.Mutex
	logins  int
	refuse  error
	conns   []*fakeConn
	isids   [][6]byte
	written map[uint32][]byte // by ITT
	got     []message
}

type fakeConn struct {
	ft       *fakeTarget
	nc       net.Conn
	br       *bufio.Reader
	dg       digests
	mu       sync.Mutex
	statSN   uint32
	expCmdSN uint32
	maxCmdSN uint32
	writes   map[uint32]*fakeWrite
}

type fakeWrite struct {
	cmd  *scsiCmd
	data []byte
	got  int
}

func newFake(t testing.TB) *fakeTarget {
	return &fakeTarget{t: t, dataInSeg: 1000, r2tLen: 4096, written: map[uint32][]byte{},
		loginKeys: textKeys{{"HeaderDigest", "None"}, {"DataDigest", "None"}, {"MaxRecvDataSegmentLength", "8192"},
			{"InitialR2T", "Yes"}, {"ImmediateData", "Yes"}, {"FirstBurstLength", "65536"}, {"MaxBurstLength", "262144"},
			{"MaxOutstandingR2T", "1"}, {"ErrorRecoveryLevel", "0"}}}
}

func (ft *fakeTarget) dial(ctx context.Context, addr string) (net.Conn, error) {
	ft.mu.Lock()
	refuse := ft.refuse
	ft.mu.Unlock()
	if refuse != nil {
		return nil, refuse
	}
	a, b := net.Pipe()
	fc := &fakeConn{ft: ft, nc: b, br: bufio.NewReader(b), writes: map[uint32]*fakeWrite{}}
	ft.mu.Lock()
	ft.conns = append(ft.conns, fc)
	ft.mu.Unlock()
	go fc.serve()
	return a, nil
}

// dropAll closes every connection, as a dying target would.
func (ft *fakeTarget) dropAll() {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	for _, fc := range ft.conns {
		fc.nc.Close()
	}
}

func (ft *fakeTarget) received() []message {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	return append([]message(nil), ft.got...)
}

func (ft *fakeTarget) config() Config {
	return Config{InitiatorName: "iqn.2026-11.io.hakit.test:fake", Dial: ft.dial, Logger: testLogger(ft.t)}
}

func (ft *fakeTarget) session(t *testing.T, cfg Config) *Session {
	t.Helper()
	u := URL{Host: "fake", Port: 3260, Target: "iqn.2026-11.io.hakit.test:target", LUN: 1}
	s, err := Dial(context.Background(), u, cfg)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// send writes one PDU to the initiator, filling in StatSN, ExpCmdSN and
// MaxCmdSN.
func (fc *fakeConn) send(m message) error {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	switch m := m.(type) {
	case *scsiResp:
		m.StatSN, m.ExpCmdSN, m.MaxCmdSN = fc.nextStat(), fc.expCmdSN, fc.maxCmdSN
	case *dataIn:
		m.ExpCmdSN, m.MaxCmdSN = fc.expCmdSN, fc.maxCmdSN
		if m.HasStatus {
			m.StatSN = fc.nextStat()
		}
	case *r2t:
		m.StatSN, m.ExpCmdSN, m.MaxCmdSN = fc.statSN, fc.expCmdSN, fc.maxCmdSN
	case *nopIn:
		m.ExpCmdSN, m.MaxCmdSN = fc.expCmdSN, fc.maxCmdSN
		if m.ITT != reservedTag {
			m.StatSN = fc.nextStat()
		} else {
			m.StatSN = fc.statSN
		}
	case *tmResp:
		m.StatSN, m.ExpCmdSN, m.MaxCmdSN = fc.nextStat(), fc.expCmdSN, fc.maxCmdSN
	case *logoutResp:
		m.StatSN, m.ExpCmdSN, m.MaxCmdSN = fc.nextStat(), fc.expCmdSN, fc.maxCmdSN
	}
	return writeMessage(fc.nc, m, fc.dg)
}

func (fc *fakeConn) nextStat() uint32 {
	fc.statSN++
	return fc.statSN - 1
}

// openWindow moves MaxCmdSN to ExpCmdSN + n - 1 and tells the initiator
// with a NOP-In.
func (fc *fakeConn) openWindow(n uint32) error {
	fc.mu.Lock()
	fc.maxCmdSN = fc.expCmdSN + n - 1
	fc.mu.Unlock()
	return fc.send(&nopIn{ITT: reservedTag, TTT: reservedTag})
}

func (fc *fakeConn) serve() {
	defer fc.nc.Close()
	ft := fc.ft
	for {
		p, err := readPDU(fc.br, digests{}, 0)
		if err != nil {
			return
		}
		m, err := parseMessage(p)
		if err != nil {
			ft.t.Errorf("fake target: login: %v", err)
			return
		}
		req, ok := m.(*loginReq)
		if !ok {
			ft.t.Errorf("fake target: %T during login", m)
			return
		}
		fc.mu.Lock()
		resp := &loginResp{CSG: req.CSG, ISID: req.ISID, ITT: req.ITT, StatSN: fc.statSN, ExpCmdSN: req.CmdSN, MaxCmdSN: req.CmdSN + 31}
		fc.statSN++
		fc.mu.Unlock()
		if ft.loginStatus != 0 {
			resp.StatusClass, resp.StatusDetail = uint8(ft.loginStatus>>8), uint8(ft.loginStatus)
			if ft.redirect != "" {
				resp.Data, _ = encodeText(textKeys{{"TargetAddress", ft.redirect}})
			}
			writeMessage(fc.nc, resp, digests{})
			return
		}
		resp.Transit, resp.NSG = req.Transit, req.NSG
		tpgt := "1"
		if ft.tpgt != "" {
			tpgt = ft.tpgt
		}
		keys := textKeys{{"TargetPortalGroupTag", tpgt}}
		if req.CSG == stageSecurity {
			keys = append(keys, textKV{"AuthMethod", "None"})
		} else {
			keys = ft.loginKeys
		}
		resp.Data, _ = encodeText(keys)
		if req.Transit && req.NSG == stageFullFeature {
			ft.mu.Lock()
			ft.logins++
			ft.isids = append(ft.isids, req.ISID)
			resp.TSIH = uint16(0x100 + ft.logins)
			w := ft.window
			ft.mu.Unlock()
			if w == 0 {
				w = 32
			}
			resp.MaxCmdSN = req.CmdSN + w - 1
			hd, _ := ft.loginKeys.get("HeaderDigest")
			dd, _ := ft.loginKeys.get("DataDigest")
			fc.mu.Lock()
			fc.expCmdSN, fc.maxCmdSN = req.CmdSN, resp.MaxCmdSN
			fc.dg = digests{Header: hd == "CRC32C", Data: dd == "CRC32C"}
			err := writeMessage(fc.nc, resp, digests{})
			fc.mu.Unlock()
			if err != nil {
				return
			}
			break
		}
		if err := writeMessage(fc.nc, resp, digests{}); err != nil {
			return
		}
	}
	for {
		fc.mu.Lock()
		dg := fc.dg
		fc.mu.Unlock()
		p, err := readPDU(fc.br, dg, 0)
		if err != nil {
			return
		}
		m, err := parseMessage(p)
		if err != nil {
			ft.t.Errorf("fake target: %v", err)
			return
		}
		ft.mu.Lock()
		ft.got = append(ft.got, m)
		ft.mu.Unlock()
		if ft.handle != nil && ft.handle(fc, m) {
			continue
		}
		if err := fc.serveDefault(m); err != nil {
			return
		}
	}
}

func (fc *fakeConn) serveDefault(m message) error {
	ft := fc.ft
	switch m := m.(type) {
	case *scsiCmd:
		if !m.Immediate {
			fc.mu.Lock()
			fc.expCmdSN = m.CmdSN + 1
			fc.maxCmdSN = max(fc.maxCmdSN, fc.expCmdSN+31)
			fc.mu.Unlock()
		}
		switch {
		case m.Write:
			w := &fakeWrite{cmd: m, data: make([]byte, m.ExpectedLen)}
			copy(w.data, m.Data)
			w.got = len(m.Data)
			fc.writes[m.ITT] = w
			if m.Final {
				return fc.progress(w)
			}
		case m.Read:
			data := ft.readData
			if len(data) > int(m.ExpectedLen) {
				data = data[:m.ExpectedLen]
			}
			for off, sn := 0, uint32(0); ; sn++ {
				n := min(ft.dataInSeg, len(data)-off)
				last := off+n == len(data)
				di := &dataIn{Final: last, HasStatus: last, ITT: m.ITT, TTT: reservedTag, DataSN: sn, Offset: uint32(off), Data: data[off : off+n]}
				if last && len(data) < int(m.ExpectedLen) {
					di.Underflow, di.Residual = true, m.ExpectedLen-uint32(len(data))
				}
				if err := fc.send(di); err != nil {
					return err
				}
				off += n
				if last {
					return nil
				}
			}
		default:
			return fc.send(&scsiResp{ITT: m.ITT})
		}
	case *dataOut:
		w := fc.writes[m.ITT]
		if w == nil || int(m.Offset)+len(m.Data) > len(w.data) {
			ft.t.Errorf("fake target: stray Data-Out %+v", m)
			return errors.New("stray Data-Out")
		}
		copy(w.data[m.Offset:], m.Data)
		w.got += len(m.Data)
		if m.Final {
			return fc.progress(w)
		}
	case *nopOut:
		if m.ITT != reservedTag {
			return fc.send(&nopIn{LUN: m.LUN, ITT: m.ITT, TTT: reservedTag, Data: m.Data})
		}
	case *tmReq:
		return fc.send(&tmResp{ITT: m.ITT})
	case *logoutReq:
		fc.send(&logoutResp{ITT: m.ITT})
		return errors.New("logged out")
	}
	return nil
}

// progress answers a write after a burst: the next R2T, or the status.
func (fc *fakeConn) progress(w *fakeWrite) error {
	if w.got < len(w.data) {
		n := min(fc.ft.r2tLen, len(w.data)-w.got)
		return fc.send(&r2t{LUN: w.cmd.LUN, ITT: w.cmd.ITT, TTT: 0x1000 + uint32(w.got), Offset: uint32(w.got), Length: uint32(n)})
	}
	fc.ft.mu.Lock()
	fc.ft.written[w.cmd.ITT] = w.data
	fc.ft.mu.Unlock()
	delete(fc.writes, w.cmd.ITT)
	return fc.send(&scsiResp{ITT: w.cmd.ITT})
}

func tur() *scsi.Command { return &scsi.Command{CDB: make([]byte, 6)} }
