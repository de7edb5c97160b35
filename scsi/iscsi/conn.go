package iscsi

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/hakit/hakit/scsi"
)

// errNotSent marks a command that failed before any of it left: it is safe
// to send again on a new connection.
var errNotSent = errors.New("iscsi: command not sent")

// conn is one logged-in connection. One reader goroutine receives every PDU
// and hands it to the task waiting for it; writers take wlock in turn.
type conn struct {
	s      *Session
	portal string // host:port it is connected to
	nc     net.Conn
	br     *bufio.Reader
	params Params
	dg     digests
	tsih   uint16

	wlock chan struct{} // held while writing PDUs

	mu        sync.Mutex
	cmdSN     uint32 // next CmdSN
	expCmdSN  uint32
	maxCmdSN  uint32
	expStatSN uint32
	window    chan struct{} // closed when MaxCmdSN moves
	tasks     map[uint32]*task
	err       error // why the connection ended
	endedAt   time.Time
	dead      chan struct{}
	// draining is closed when the target asked for a logout
	// (asynchronous event 1): no new command is sent on the connection;
	// the ones in flight get their answers, then it logs out.
	draining  chan struct{}
	drainOnce sync.Once
}

// task is one outstanding request waiting for the target.
type task struct {
	itt   uint32
	cmdSN uint32
	op    opcode
	lun   uint64 // LUN field of the task's PDUs
	cdb   byte
	// Data-In state, touched by the reader only.
	buf        []byte
	received   int
	nextDataSN uint32
	events     chan message // R2T, and the final response
	sent       time.Time
}

// runLogin runs the login state machine over nc, bounded by ctx.
func runLogin(ctx context.Context, nc net.Conn, lc loginConfig, s *Session) (*conn, error) {
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
	} else {
		nc.SetDeadline(time.Now().Add(s.cfg.CommandTimeout))
	}
	stop := onDone(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	wrap := func(err error, what string) error {
		if ctx.Err() != nil {
			return fmt.Errorf("%w: %w", ctxError(ctx, "login to "+lc.Portal), err)
		}
		return fmt.Errorf("iscsi: login to %s: %s: %w", lc.Portal, what, err)
	}
	br := bufio.NewReaderSize(nc, 64<<10)
	l := newLogin(lc)
	req, err := l.first()
	if err != nil {
		return nil, wrap(err, "build request")
	}
	for {
		if err := writeMessage(nc, req, digests{}); err != nil {
			return nil, wrap(err, "send")
		}
		p, err := readPDU(br, digests{}, maxTextLen)
		if err != nil {
			return nil, wrap(err, "receive")
		}
		m, err := parseMessage(p)
		if err != nil {
			return nil, wrap(err, "receive")
		}
		resp, ok := m.(*loginResp)
		if !ok {
			if r, ok := m.(*reject); ok {
				return nil, wrap(&RejectError{Reason: r.Reason, PDU: opLoginReq.String()}, "receive")
			}
			return nil, wrap(&ProtocolError{PDU: opOf(m).String(), What: "unexpected during login"}, "receive")
		}
		var done bool
		req, done, err = l.step(resp)
		if err != nil {
			if le := (*LoginError)(nil); errors.As(err, &le) {
				return nil, err
			}
			return nil, wrap(err, "negotiate")
		}
		if done {
			stop()
			if ctx.Err() != nil {
				return nil, wrap(ctx.Err(), "finish")
			}
			params, tsih, expStatSN := l.result()
			nc.SetDeadline(time.Time{})
			c := &conn{s: s, portal: lc.Portal, nc: nc, br: br, params: params, dg: params.digests(), tsih: tsih,
				wlock: make(chan struct{}, 1), cmdSN: resp.ExpCmdSN, expCmdSN: resp.ExpCmdSN, maxCmdSN: resp.MaxCmdSN,
				expStatSN: expStatSN, window: make(chan struct{}), tasks: map[uint32]*task{}, dead: make(chan struct{}), draining: make(chan struct{})}
			return c, nil
		}
	}
}

func writeMessage(w io.Writer, m message, d digests) error {
	p := m.marshal()
	b, err := appendPDU(make([]byte, 0, p.encodedLen(d)), &p, d)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// readPDU reads one PDU.
func readPDU(r io.Reader, d digests, maxData int) (rawPDU, error) {
	var bhs [bhsLen]byte
	if _, err := io.ReadFull(r, bhs[:]); err != nil {
		return rawPDU{}, err
	}
	h, err := parseHeader(bhs[:], maxData)
	if err != nil {
		return rawPDU{}, err
	}
	rest := make([]byte, h.restLen(d))
	if _, err := io.ReadFull(r, rest); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return rawPDU{}, fmt.Errorf("%v body: %w", opcode(bhs[0]&0x3f), err)
	}
	return decodeRest(bhs[:], rest, h, d)
}

func (c *conn) start() {
	c.s.wg.Add(1)
	go c.readLoop()
	if k := c.s.cfg.Keepalive; k > 0 && !c.s.discovery {
		c.s.wg.Add(1)
		go c.keepalive(k / 2)
	}
}

// keepalive pings the target every half interval, each ping bounded by
// half an interval, until the connection ends; an unanswered ping ends it.
func (c *conn) keepalive(half time.Duration) {
	defer c.s.wg.Done()
	t := time.NewTicker(half)
	defer t.Stop()
	for {
		select {
		case <-c.dead:
			return
		case <-t.C:
		}
		if c.isDraining() {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), half)
		_, err := c.ping(ctx)
		cancel()
		if err != nil && c.alive() {
			c.s.count(func(st *Stats) { st.KeepaliveFailures++ })
			c.s.log.Error("iscsi keepalive: no answer from the target: dead path", "within", 2*half, "err", err)
			c.close(fmt.Errorf("keepalive: no NOP-In within %v: %w", half, err))
			return
		}
	}
}

func (c *conn) alive() bool {
	if c == nil {
		return false
	}
	select {
	case <-c.dead:
		return false
	default:
		return true
	}
}

func (c *conn) cause() error {
	_, err := c.ended()
	return err
}

// ended returns why and when the connection ended.
func (c *conn) ended() (time.Time, error) {
	if c == nil {
		return time.Now(), errors.New("no connection")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.endedAt, c.err
}

// close ends the connection with err as the cause of every pending call.
func (c *conn) close(err error) {
	c.mu.Lock()
	first := c.err == nil
	if first {
		c.err, c.endedAt = err, time.Now()
		close(c.dead)
	}
	c.mu.Unlock()
	if first {
		c.nc.Close()
		c.s.mu.Lock()
		closing := c.s.closed
		c.s.mu.Unlock()
		level := slog.LevelWarn
		if closing {
			level = slog.LevelDebug
		}
		c.s.log.Log(context.Background(), level, "iscsi connection closed", "tsih", c.tsih, "cause", err)
	}
}

// lost is the error of a call whose connection ended during phase.
func (c *conn) lost(phase string) error {
	return fmt.Errorf("%w (%s, %s): %w", ErrConnectionLost, c.portal, phase, c.cause())
}

func (c *conn) readLoop() {
	defer c.s.wg.Done()
	for {
		p, err := readPDU(c.br, c.dg, c.params.MaxRecvDataSegmentLength)
		if err != nil {
			if c.alive() {
				c.close(fmt.Errorf("read: %w", err))
			}
			return
		}
		m, err := parseMessage(p)
		if err == nil {
			err = c.handle(m)
		}
		if err != nil {
			c.close(err)
			return
		}
	}
}

// serial number arithmetic (RFC 1982, 32 bits).
func snLess(a, b uint32) bool { return a != b && int32(a-b) < 0 }

// updateSNs applies ExpCmdSN and MaxCmdSN from a target PDU (RFC 7143
// 4.2.2.1), and StatSN when the PDU carries status.
func (c *conn) updateSNs(stat, exp, max uint32, hasStatus bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if hasStatus && !snLess(stat+1, c.expStatSN) {
		c.expStatSN = stat + 1
	}
	if snLess(max, exp-1) {
		return // ignored, as RFC 7143 says
	}
	if snLess(c.expCmdSN, exp) {
		c.expCmdSN = exp
	}
	if snLess(c.maxCmdSN, max) {
		c.maxCmdSN = max
		close(c.window)
		c.window = make(chan struct{})
	}
}

func (c *conn) lookup(itt uint32) *task {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tasks[itt]
}

func (c *conn) handle(m message) error {
	var t *task
	var itt uint32
	final := true
	switch m := m.(type) {
	case *scsiResp:
		c.updateSNs(m.StatSN, m.ExpCmdSN, m.MaxCmdSN, true)
		itt = m.ITT
	case *dataIn:
		c.updateSNs(m.StatSN, m.ExpCmdSN, m.MaxCmdSN, m.HasStatus)
		itt, final = m.ITT, m.HasStatus
		if t = c.lookup(itt); t != nil {
			if err := t.dataIn(m); err != nil {
				return err
			}
			if !final {
				return nil
			}
		}
	case *r2t:
		c.updateSNs(m.StatSN, m.ExpCmdSN, m.MaxCmdSN, false)
		itt, final = m.ITT, false
	case *nopIn:
		if m.ITT == reservedTag {
			c.updateSNs(m.StatSN, m.ExpCmdSN, m.MaxCmdSN, false)
			if m.TTT != reservedTag {
				c.answerPing(m)
			}
			return nil
		}
		c.updateSNs(m.StatSN, m.ExpCmdSN, m.MaxCmdSN, true)
		itt = m.ITT
	case *tmResp:
		c.updateSNs(m.StatSN, m.ExpCmdSN, m.MaxCmdSN, true)
		itt = m.ITT
	case *logoutResp:
		c.updateSNs(m.StatSN, m.ExpCmdSN, m.MaxCmdSN, true)
		itt = m.ITT
	case *textResp:
		c.updateSNs(m.StatSN, m.ExpCmdSN, m.MaxCmdSN, true)
		itt = m.ITT
	case *reject:
		// A Reject carries a StatSN of its own (RFC 7143 11.17).
		c.updateSNs(m.StatSN, m.ExpCmdSN, m.MaxCmdSN, true)
		op, ritt, ok := m.rejected()
		c.s.log.Warn("iscsi reject", "reason", m.Reason, "pdu", op, "itt", ritt)
		if !ok || ritt == reservedTag {
			return nil
		}
		if m.Reason == rejectDataDigest {
			// The PDU was dropped but its task is still live at the
			// target (RFC 7143 11.17.1): its status is still to come.
			c.s.log.Warn("iscsi data digest error reported by the target: waiting for the task's status", "itt", ritt)
			return nil
		}
		itt = ritt
	case *asyncMsg:
		c.updateSNs(m.StatSN, m.ExpCmdSN, m.MaxCmdSN, false)
		c.s.log.Warn("iscsi asynchronous message", "event", m.Event, "vcode", m.VCode, "param1", m.Param1, "param2", m.Param2, "param3", m.Param3)
		switch m.Event {
		case asyncLogoutRequest:
			// RFC 7143 11.9.1: log out within Parameter3 seconds, after
			// the commands in flight have their answers (a PREEMPT
			// among them must not come back as connection lost).
			c.drain(time.Duration(m.Param3) * time.Second)
		case asyncNegotiateParams:
			// Renegotiation: a fresh login negotiates every parameter
			// again; drain and log out as for event 1.
			c.drain(time.Duration(m.Param3) * time.Second)
		case asyncSCSIEvent:
			if f := c.s.cfg.OnSCSIEvent; f != nil {
				f(lunNumber(m.LUN), asyncSense(m.Data))
			}
		case asyncDropConnection, asyncDropAll:
			// The target drops the connection itself; wait Parameter2
			// (Time2Wait) before logging in again.
			c.s.holdReconnect(time.Duration(m.Param2) * time.Second)
			return fmt.Errorf("target dropped the connection (asynchronous event %d)", m.Event)
		}
		return nil
	default:
		return &ProtocolError{PDU: opOf(m).String(), What: "not sent by a target in the full feature phase"}
	}
	if t == nil {
		t = c.lookup(itt)
	}
	if t == nil {
		// A late answer to a call that gave up; ABORT TASK cleans it up.
		c.s.log.Debug("iscsi PDU for unknown task", "pdu", opOf(m), "itt", itt)
		return nil
	}
	if final {
		c.mu.Lock()
		delete(c.tasks, itt)
		c.mu.Unlock()
	}
	select {
	case t.events <- m:
		return nil
	default:
		return &ProtocolError{PDU: opOf(m).String(), What: fmt.Sprintf("task 0x%08x has too many PDUs pending (R2T beyond MaxOutstandingR2T?)", itt)}
	}
}

// dataIn places one Data-In PDU's data; called by the reader only.
func (t *task) dataIn(m *dataIn) error {
	fail := func(format string, args ...any) error {
		return &ProtocolError{PDU: opDataIn.String(), What: fmt.Sprintf("task 0x%08x: ", t.itt) + fmt.Sprintf(format, args...)}
	}
	if t.op != opSCSICmd {
		return fail("not a SCSI command")
	}
	if m.DataSN != t.nextDataSN {
		return fail("DataSN %d, want %d", m.DataSN, t.nextDataSN)
	}
	t.nextDataSN++
	if len(m.Data) == 0 {
		return nil
	}
	if int(m.Offset) != t.received {
		return fail("buffer offset %d, want %d (DataPDUInOrder)", m.Offset, t.received)
	}
	if t.received+len(m.Data) > len(t.buf) {
		return fail("%d bytes at offset %d overflow the %d-byte buffer", len(m.Data), m.Offset, len(t.buf))
	}
	copy(t.buf[t.received:], m.Data)
	t.received += len(m.Data)
	return nil
}

// answerPing answers a target's NOP-In ping, from a goroutine so that the
// reader never blocks on a write.
func (c *conn) answerPing(m *nopIn) {
	c.s.wg.Add(1)
	go func() {
		defer c.s.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), c.s.cfg.CommandTimeout)
		defer cancel()
		if err := c.acquire(ctx); err != nil {
			return
		}
		defer c.release()
		c.mu.Lock()
		out := &nopOut{Immediate: true, LUN: m.LUN, ITT: reservedTag, TTT: m.TTT, CmdSN: c.cmdSN, ExpStatSN: c.expStatSN, Data: m.Data}
		c.mu.Unlock()
		if err := c.write(ctx, out); err == nil {
			c.s.count(func(st *Stats) { st.TargetPings++ })
		}
	}()
}

// acquire takes the write lock, within ctx and the connection's life.
func (c *conn) acquire(ctx context.Context) error {
	select {
	case c.wlock <- struct{}{}:
		if !c.alive() {
			<-c.wlock
			return fmt.Errorf("%w: %w", errNotSent, c.lost("send"))
		}
		return nil
	case <-c.dead:
		return fmt.Errorf("%w: %w", errNotSent, c.lost("send"))
	case <-ctx.Done():
		return ctxError(ctx, "wait to send")
	}
}

func (c *conn) release() { <-c.wlock }

// write sends one PDU; the caller holds the write lock. A failed or
// interrupted write leaves the stream broken, so it ends the connection.
func (c *conn) write(ctx context.Context, m message) error {
	dl, _ := ctx.Deadline()
	c.nc.SetWriteDeadline(dl)
	stop := onDone(ctx, func() { c.nc.SetWriteDeadline(time.Unix(1, 0)) })
	err := writeMessage(c.nc, m, c.dg)
	stop()
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w: %w", ctxError(ctx, "send"), err)
		}
		c.close(fmt.Errorf("write: %w", err))
		return c.lost("send")
	}
	return nil
}

// issue registers t and sends its first PDU, built by build from the CmdSN
// and ExpStatSN, within the command window unless immediate.
func (c *conn) issue(ctx context.Context, t *task, immediate bool, build func(cmdSN, expStatSN uint32) message) error {
	for {
		if err := c.acquire(ctx); err != nil {
			return err
		}
		c.mu.Lock()
		if !immediate && snLess(c.maxCmdSN, c.cmdSN) {
			wait := c.window
			c.mu.Unlock()
			c.release()
			select {
			case <-wait:
				continue
			case <-c.dead:
				return fmt.Errorf("%w: %w", errNotSent, c.lost("wait for command window"))
			case <-ctx.Done():
				return ctxError(ctx, "wait for the target's command window (MaxCmdSN)")
			}
		}
		t.cmdSN = c.cmdSN
		if !immediate {
			c.cmdSN++
		}
		c.tasks[t.itt] = t
		m := build(t.cmdSN, c.expStatSN)
		c.mu.Unlock()
		t.sent = time.Now()
		err := c.write(ctx, m)
		c.release()
		return err
	}
}

func (c *conn) forget(t *task) {
	c.mu.Lock()
	delete(c.tasks, t.itt)
	c.mu.Unlock()
}

// wait returns the next PDU for t.
func (c *conn) wait(ctx context.Context, t *task) (message, error) {
	select {
	case m := <-t.events:
		return m, nil
	case <-c.dead:
		// The reader may have queued the answer just before the end.
		select {
		case m := <-t.events:
			return m, nil
		default:
		}
		c.forget(t)
		return nil, c.lost("waiting for the answer")
	case <-ctx.Done():
		c.forget(t)
		return nil, ctxError(ctx, "no answer from "+c.portal)
	}
}

func (c *conn) newTask(op opcode) *task {
	return &task{itt: c.s.nextITT(), op: op, events: make(chan message, 4)}
}

// command runs one SCSI command on this connection.
func (c *conn) command(ctx context.Context, lun uint64, cmd *scsi.Command) (*scsi.Response, error) {
	t := c.newTask(opSCSICmd)
	t.lun = lun
	t.cdb = cmd.CDB[0]
	what := fmt.Sprintf("SCSI command 0x%02x (ITT 0x%08x)", cmd.CDB[0], t.itt)
	var out []byte
	if cmd.Direction == scsi.ToDevice {
		out = cmd.Data
	} else if cmd.Direction == scsi.FromDevice {
		t.buf = make([]byte, cmd.AllocLen)
	}
	p := c.params
	imm, unsolicited := 0, 0
	if len(out) > 0 {
		if p.ImmediateData {
			imm = min(len(out), p.FirstBurstLength, p.MaxXmitDataSegmentLength)
		}
		unsolicited = imm
		if !p.InitialR2T {
			unsolicited = min(len(out), p.FirstBurstLength)
		}
	}
	err := c.issue(ctx, t, false, func(cmdSN, expStatSN uint32) message {
		return &scsiCmd{Final: unsolicited == imm, Read: len(t.buf) > 0, Write: len(out) > 0, Attr: attrSimple, LUN: t.lun,
			ITT: t.itt, ExpectedLen: uint32(max(len(out), len(t.buf))), CmdSN: cmdSN, ExpStatSN: expStatSN, CDB: cmd.CDB, Data: out[:imm]}
	})
	if err != nil {
		c.forget(t)
		return nil, fmt.Errorf("iscsi: %s: %w", what, err)
	}
	if unsolicited > imm {
		if err := c.sendData(ctx, t, out, imm, unsolicited-imm, reservedTag); err != nil {
			return nil, c.abandon(ctx, t, what, err)
		}
	}
	for {
		m, err := c.wait(ctx, t)
		if err != nil {
			return nil, c.abandon(ctx, t, what, err)
		}
		switch m := m.(type) {
		case *r2t:
			if m.Length == 0 || uint64(m.Offset)+uint64(m.Length) > uint64(len(out)) || m.TTT == reservedTag {
				c.close(&ProtocolError{PDU: opR2T.String(), What: fmt.Sprintf("R2T for %d bytes at offset %d of %d (TTT 0x%08x)", m.Length, m.Offset, len(out), m.TTT)})
				return nil, fmt.Errorf("iscsi: %s: %w", what, c.lost("R2T"))
			}
			if err := c.sendData(ctx, t, out, int(m.Offset), int(m.Length), m.TTT); err != nil {
				return nil, c.abandon(ctx, t, what, err)
			}
		case *scsiResp:
			return t.response(m, what)
		case *dataIn:
			resid := 0
			if m.Underflow {
				resid = int(m.Residual)
			}
			return &scsi.Response{Status: scsi.Status(m.Status), Data: t.buf[:t.received], Residual: resid}, nil
		case *reject:
			return nil, fmt.Errorf("iscsi: %s: %w", what, &RejectError{Reason: m.Reason, PDU: opSCSICmd.String()})
		default:
			return nil, fmt.Errorf("iscsi: %s: %w", what, &ProtocolError{PDU: opOf(m).String(), What: "unexpected answer to a SCSI command"})
		}
	}
}

func (t *task) response(m *scsiResp, what string) (*scsi.Response, error) {
	if m.Response != 0 {
		return nil, fmt.Errorf("iscsi: %s: %w", what, &ResponseError{Response: m.Response, CDB: t.cdb})
	}
	resp := &scsi.Response{Status: scsi.Status(m.Status), Data: t.buf[:t.received]}
	sense, err := m.sense()
	if err != nil {
		// The command completed with this status; only its sense data
		// is unusable: keep the status, say why the sense is missing.
		resp.BadSense = err.Error()
	}
	if len(sense) > 0 {
		resp.Sense = append([]byte(nil), sense...)
	}
	if m.Underflow {
		resp.Residual = int(m.Residual)
	}
	return resp, nil
}

// sendData sends data[off:off+n] as Data-Out PDUs of at most
// MaxXmitDataSegmentLength, the last one with the F bit.
func (c *conn) sendData(ctx context.Context, t *task, data []byte, off, n int, ttt uint32) error {
	if err := c.acquire(ctx); err != nil {
		return err
	}
	defer c.release()
	seg := c.params.MaxXmitDataSegmentLength
	for sn, pos := uint32(0), off; pos < off+n; sn++ {
		l := min(seg, off+n-pos)
		c.mu.Lock()
		exp := c.expStatSN
		c.mu.Unlock()
		m := &dataOut{Final: pos+l == off+n, LUN: t.lun, ITT: t.itt, TTT: ttt, ExpStatSN: exp, DataSN: sn, Offset: uint32(pos), Data: data[pos : pos+l]}
		if err := c.write(ctx, m); err != nil {
			return err
		}
		pos += l
	}
	return nil
}

// abandon ends a SCSI command that got no answer in time: the target may
// still run it, so it is aborted with ABORT TASK from a goroutine bounded by
// the command timeout; if that fails too, the connection is closed.
func (c *conn) abandon(ctx context.Context, t *task, what string, err error) error {
	c.forget(t)
	if ctx.Err() != nil && c.alive() {
		c.s.wg.Add(1)
		go func() {
			defer c.s.wg.Done()
			actx, cancel := context.WithTimeout(context.Background(), min(c.s.cfg.CommandTimeout, 5*time.Second))
			defer cancel()
			aerr := c.taskManagement(actx, TMFAbortTask, t.lun, t.itt, t.cmdSN)
			var te *TMFError
			if aerr != nil && !(errors.As(aerr, &te) && te.Response == tmfTaskDoesNotExist) {
				c.s.log.Warn("iscsi abort of timed out command failed", "itt", t.itt, "err", aerr)
				if !errors.As(aerr, &te) {
					c.close(fmt.Errorf("ABORT TASK of ITT 0x%08x after a timeout: %w", t.itt, aerr))
				}
			}
		}()
	}
	return fmt.Errorf("iscsi: %s: %w", what, err)
}

// ping sends a NOP-Out and waits for its NOP-In.
func (c *conn) ping(ctx context.Context) (time.Duration, error) {
	t := c.newTask(opNOPOut)
	err := c.issue(ctx, t, true, func(cmdSN, expStatSN uint32) message {
		return &nopOut{Immediate: true, LUN: c.s.lun, ITT: t.itt, TTT: reservedTag, CmdSN: cmdSN, ExpStatSN: expStatSN}
	})
	if err != nil {
		c.forget(t)
		return 0, fmt.Errorf("iscsi: ping: %w", err)
	}
	m, err := c.wait(ctx, t)
	if err != nil {
		return 0, fmt.Errorf("iscsi: ping: %w", err)
	}
	if _, ok := m.(*nopIn); !ok {
		return 0, c.unexpected(m, "ping")
	}
	return time.Since(t.sent), nil
}

func (c *conn) unexpected(m message, what string) error {
	if r, ok := m.(*reject); ok {
		op, _, _ := r.rejected()
		return fmt.Errorf("iscsi: %s: %w", what, &RejectError{Reason: r.Reason, PDU: op.String()})
	}
	return fmt.Errorf("iscsi: %s: %w", what, &ProtocolError{PDU: opOf(m).String(), What: "unexpected answer"})
}

// taskManagement runs one task management function on lun; ref and
// refCmdSN name the task for ABORT TASK.
func (c *conn) taskManagement(ctx context.Context, fn uint8, lun uint64, ref, refCmdSN uint32) error {
	t := c.newTask(opTaskMgmt)
	what := tmfName(fn)
	err := c.issue(ctx, t, true, func(cmdSN, expStatSN uint32) message {
		return &tmReq{Immediate: true, Function: fn, LUN: lun, ITT: t.itt, RefTaskTag: ref, CmdSN: cmdSN, ExpStatSN: expStatSN, RefCmdSN: refCmdSN}
	})
	if err != nil {
		c.forget(t)
		return fmt.Errorf("iscsi: %s: %w", what, err)
	}
	m, err := c.wait(ctx, t)
	if err != nil {
		return fmt.Errorf("iscsi: %s: %w", what, err)
	}
	r, ok := m.(*tmResp)
	if !ok {
		return c.unexpected(m, what)
	}
	if r.Response != tmfFunctionCompleted {
		return &TMFError{Function: fn, Response: r.Response}
	}
	c.s.log.Info("iscsi task management", "function", what, "itt", t.itt)
	return nil
}

// isDraining reports whether the target asked this connection to log out.
func (c *conn) isDraining() bool {
	select {
	case <-c.draining:
		return true
	default:
		return false
	}
}

// drain stops new commands on the connection, waits until the commands in
// flight have their answers or within has passed, then logs out (closing
// the connection) and ends it; the next call logs in again after the
// target's DefaultTime2Wait. It returns at once (the reader goes on
// delivering the answers).
func (c *conn) drain(within time.Duration) {
	c.drainOnce.Do(func() {
		close(c.draining)
		c.s.wg.Add(1)
		go func() {
			defer c.s.wg.Done()
			deadline := time.Now().Add(within)
			for time.Now().Before(deadline) && c.alive() {
				c.mu.Lock()
				n := len(c.tasks)
				c.mu.Unlock()
				if n == 0 {
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
			if !c.alive() {
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), max(time.Until(deadline), time.Second))
			// Before the logout: the target closes the connection after
			// its answer, and the next login must already be held back.
			c.s.holdReconnect(time.Duration(c.params.DefaultTime2Wait) * time.Second)
			err := c.logoutAs(ctx, logoutCloseConnection)
			cancel()
			cause := errors.New("target asked for a logout (asynchronous event 1)")
			if err != nil {
				cause = fmt.Errorf("%w; logout: %w", cause, err)
			}
			c.close(cause)
		}()
	})
}

// logout closes the session with a Logout Request.
func (c *conn) logout(ctx context.Context) error { return c.logoutAs(ctx, logoutCloseSession) }

// logoutAs sends a Logout Request with reason (close the session or this
// connection) and waits for the answer.
func (c *conn) logoutAs(ctx context.Context, reason uint8) error {
	t := c.newTask(opLogoutReq)
	err := c.issue(ctx, t, true, func(cmdSN, expStatSN uint32) message {
		return &logoutReq{Immediate: true, Reason: reason, ITT: t.itt, CmdSN: cmdSN, ExpStatSN: expStatSN}
	})
	if err != nil {
		c.forget(t)
		return fmt.Errorf("iscsi: logout: %w", err)
	}
	m, err := c.wait(ctx, t)
	if err != nil {
		return fmt.Errorf("iscsi: logout: %w", err)
	}
	r, ok := m.(*logoutResp)
	if !ok {
		return c.unexpected(m, "logout")
	}
	if r.Response != 0 {
		return fmt.Errorf("iscsi: logout from %s: response %d", c.portal, r.Response)
	}
	c.s.log.Info("iscsi logout", "tsih", c.tsih)
	return nil
}

// opOf returns the opcode of a typed message.
func opOf(m message) opcode {
	p := m.marshal()
	return p.opcode()
}

// onDone runs f when ctx ends, unless the returned stop was called first;
// once stop returns, f neither runs nor is running.
func onDone(ctx context.Context, f func()) (stop func()) {
	var mu sync.Mutex
	stopped := false
	after := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if !stopped {
			f()
		}
	})
	return func() {
		mu.Lock()
		stopped = true
		mu.Unlock()
		after()
	}
}
