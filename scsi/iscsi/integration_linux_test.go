//go:build linux

package iscsi

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hakit/hakit/internal/rig"
	"github.com/hakit/hakit/internal/testutil"
	"github.com/hakit/hakit/scsi"
)

const (
	nodeA = "iqn.2026-11.io.hakit.test:node-a"
	nodeB = "iqn.2026-11.io.hakit.test:node-b"
)

func dialDisk(t *testing.T, d *rig.Disk, cfg Config) *Session {
	t.Helper()
	u, err := ParseURL(d.URL())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.InitiatorName == "" {
		cfg.InitiatorName = nodeA
	}
	if cfg.Logger == nil {
		cfg.Logger = rig.TestLogger(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Dial(ctx, u, cfg)
	if err != nil {
		t.Fatalf("Dial %s: %v", d.URL(), err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func inquiryCmd() *scsi.Command {
	return &scsi.Command{CDB: []byte{0x12, 0, 0, 0, 96, 0}, Direction: scsi.FromDevice, AllocLen: 96}
}

func readCap16Cmd() *scsi.Command {
	return &scsi.Command{CDB: []byte{0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0}, Direction: scsi.FromDevice, AllocLen: 32}
}

func rw10(op byte, lba uint32, blocks uint16) []byte {
	cdb := make([]byte, 10)
	cdb[0] = op
	binary.BigEndian.PutUint32(cdb[2:], lba)
	binary.BigEndian.PutUint16(cdb[7:], blocks)
	return cdb
}

func mustGood(t *testing.T, what string, resp *scsi.Response, err error) *scsi.Response {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if resp.Status != scsi.StatusGood {
		t.Fatalf("%s: status %v sense %x", what, resp.Status, resp.Sense)
	}
	return resp
}

// good runs cmd and wants GOOD status.
func good(t *testing.T, ctx context.Context, s *Session, what string, cmd *scsi.Command) *scsi.Response {
	t.Helper()
	resp, err := s.Execute(ctx, cmd)
	return mustGood(t, what, resp, err)
}

// goodAfterUA runs cmd, retrying once past a unit attention.
func goodAfterUA(t *testing.T, ctx context.Context, s *Session, what string, cmd *scsi.Command) *scsi.Response {
	t.Helper()
	resp, err := s.Execute(ctx, cmd)
	for i := 0; i < 3 && err == nil && resp.Status == scsi.StatusCheckCondition && len(resp.Sense) > 2 && resp.Sense[2]&0xf == 6; i++ {
		resp, err = s.Execute(ctx, cmd)
	}
	return mustGood(t, what, resp, err)
}

func TestIntegrationSession(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		target []string // tgtd target parameters, name=value
		cfg    Config
		check  func(Params) bool
	}{
		{"plain", nil, Config{}, func(p Params) bool { return !p.HeaderDigest && !p.DataDigest && p.InitialR2T }},
		// tgtd offers no digest unless told to.
		{"crc32c", []string{"HeaderDigest=CRC32C,None", "DataDigest=CRC32C,None"}, Config{HeaderDigest: DigestCRC32C, DataDigest: DigestCRC32C},
			func(p Params) bool { return p.HeaderDigest && p.DataDigest }},
		{"unsolicited", []string{"InitialR2T=No", "FirstBurstLength=65536"}, Config{MaxRecvDataSegmentLength: 8192},
			func(p Params) bool { return !p.InitialR2T && p.ImmediateData && p.FirstBurstLength == 65536 }},
		{"no immediate data", []string{"ImmediateData=No", "InitialR2T=No"}, Config{},
			func(p Params) bool { return !p.InitialR2T && !p.ImmediateData }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := rig.DiskFor(t, rig.DiskConfig{Size: 8 << 20})
			ctx := testCtx(t)
			for _, kv := range tc.target {
				k, v, _ := strings.Cut(kv, "=")
				if _, err := d.Tgtadm(ctx, "--lld", "iscsi", "--op", "update", "--mode", "target", "--tid", "1", "--name", k, "--value", v); err != nil {
					t.Fatal(err)
				}
			}
			s := dialDisk(t, d, tc.cfg)
			st := s.Stats()
			if !tc.check(st.Params) {
				t.Errorf("negotiated %+v", st.Params)
			}
			t.Logf("params %+v", st.Params)

			goodAfterUA(t, ctx, s, "TEST UNIT READY", &scsi.Command{CDB: make([]byte, 6)})
			resp := good(t, ctx, s, "INQUIRY", inquiryCmd())
			if len(resp.Data) < 36 || resp.Data[0]&0x1f != 0 {
				t.Fatalf("INQUIRY data %x", resp.Data)
			}
			t.Logf("INQUIRY vendor %q product %q", resp.Data[8:16], resp.Data[16:32])
			resp = good(t, ctx, s, "READ CAPACITY(16)", readCap16Cmd())
			last, blk := binary.BigEndian.Uint64(resp.Data), binary.BigEndian.Uint32(resp.Data[8:])
			if (last+1)*uint64(blk) != 8<<20 {
				t.Errorf("capacity %d blocks of %d", last+1, blk)
			}
			good(t, ctx, s, "TEST UNIT READY", &scsi.Command{CDB: make([]byte, 6)})

			// 1 MiB: beyond FirstBurstLength and MaxRecvDataSegmentLength, so
			// the write needs R2Ts and the read many Data-In PDUs.
			data := make([]byte, 1<<20)
			for i := range data {
				data[i] = byte(i*7 + i>>9)
			}
			good(t, ctx, s, "WRITE(10)", &scsi.Command{CDB: rw10(0x2a, 16, uint16(len(data)/512)), Direction: scsi.ToDevice, Data: data})
			resp = good(t, ctx, s, "READ(10)", &scsi.Command{CDB: rw10(0x28, 16, uint16(len(data)/512)), Direction: scsi.FromDevice, AllocLen: len(data)})
			if !bytes.Equal(resp.Data, data) {
				t.Fatalf("read back %d bytes differ from the %d written", len(resp.Data), len(data))
			}
			// Residual: ask for more than INQUIRY returns.
			resp = good(t, ctx, s, "INQUIRY 255", &scsi.Command{CDB: []byte{0x12, 0, 0, 0, 255, 0}, Direction: scsi.FromDevice, AllocLen: 255})
			if resp.Residual != 255-len(resp.Data) || resp.Residual == 0 {
				t.Errorf("INQUIRY residual %d with %d bytes", resp.Residual, len(resp.Data))
			}
			// Sense data: READ beyond the end of the LUN.
			resp, err := s.Execute(ctx, &scsi.Command{CDB: rw10(0x28, 1<<30, 1), Direction: scsi.FromDevice, AllocLen: 512})
			if err != nil || resp.Status != scsi.StatusCheckCondition || len(resp.Sense) < 14 || resp.Sense[2]&0xf != 5 {
				t.Errorf("READ past the end: %v %+v", err, resp)
			}
			if rtt, err := s.Ping(ctx); err != nil || rtt <= 0 {
				t.Errorf("Ping: %v %v", rtt, err)
			}
			if err := s.Reset(ctx, scsi.ResetLUN); err != nil {
				t.Errorf("LUN reset: %v", err)
			}
			goodAfterUA(t, ctx, s, "TEST UNIT READY after reset", &scsi.Command{CDB: make([]byte, 6)})
			var te *TMFError
			if err := s.Reset(ctx, scsi.ResetTarget); !errors.As(err, &te) || !errors.Is(err, errors.ErrUnsupported) {
				t.Errorf("target reset on tgtd: %v, want a TMFError 'not supported'", err)
			}
			if err := s.Logout(ctx); err != nil {
				t.Errorf("Logout: %v", err)
			}
			if _, err := s.Execute(ctx, inquiryCmd()); !errors.Is(err, ErrClosed) {
				t.Errorf("Execute after Logout: %v", err)
			}
		})
	}
}

func TestIntegrationACL(t *testing.T) {
	t.Parallel()
	d := rig.DiskFor(t, rig.DiskConfig{Size: 4 << 20, Initiators: []string{nodeA, nodeB}})
	for _, name := range []string{nodeA, nodeB} {
		s := dialDisk(t, d, Config{InitiatorName: name})
		goodAfterUA(t, testCtx(t), s, "TEST UNIT READY as "+name, &scsi.Command{CDB: make([]byte, 6)})
	}
	u, _ := ParseURL(d.URL())
	_, err := Dial(testCtx(t), u, Config{InitiatorName: "iqn.2026-11.io.hakit.test:stranger", Logger: rig.TestLogger(t)})
	// tgtd answers an initiator outside the ACL with 0x0203 (target not
	// found), as for a target it does not have: it does not reveal the
	// target. (The fake target test covers 0x0202.)
	var le *LoginError
	if !errors.As(err, &le) || le.Status() != 0x0203 || !errors.Is(err, ErrTargetNotFound) {
		t.Fatalf("login of an initiator outside the ACL: %v, want tgtd's LoginError 0x0203", err)
	}
	t.Logf("refused as expected: %v", err)
	u.Target += "-nope"
	if _, err := Dial(testCtx(t), u, Config{InitiatorName: nodeA}); !errors.Is(err, ErrTargetNotFound) {
		t.Errorf("unknown target: %v", err)
	}
}

func TestIntegrationCHAP(t *testing.T) {
	t.Parallel()
	d := rig.DiskFor(t, rig.DiskConfig{Size: 4 << 20})
	ctx := testCtx(t)
	if err := d.CHAP(ctx, "alice", "alicesecret12", "disk", "disksecret123"); err != nil {
		t.Fatal(err)
	}
	u, _ := ParseURL(d.URL())
	try := func(cfg Config) error {
		cfg.InitiatorName = nodeA
		cfg.Logger = rig.TestLogger(t)
		s, err := Dial(ctx, u, cfg)
		if err == nil {
			goodAfterUA(t, ctx, s, "TEST UNIT READY", &scsi.Command{CDB: make([]byte, 6)})
			s.Close()
		}
		return err
	}
	if err := try(Config{CHAPUser: "alice", CHAPSecret: "alicesecret12"}); err != nil {
		t.Errorf("CHAP: %v", err)
	}
	if err := try(Config{CHAPUser: "alice", CHAPSecret: "alicesecret12", MutualCHAPUser: "disk", MutualCHAPSecret: "disksecret123"}); err != nil {
		t.Errorf("mutual CHAP: %v", err)
	}
	// Credentials in the URL, libiscsi style.
	withUser, err := ParseURL(strings.Replace(d.URL(), "iscsi://", "iscsi://alice%alicesecret12@", 1))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Dial(ctx, withUser, Config{InitiatorName: nodeA})
	if err != nil {
		t.Errorf("CHAP from the URL: %v", err)
	} else {
		s.Close()
	}
	if err := try(Config{CHAPUser: "alice", CHAPSecret: "wrongsecret12"}); !errors.Is(err, ErrAuthentication) {
		t.Errorf("wrong secret: %v, want ErrAuthentication", err)
	}
	if err := try(Config{CHAPUser: "alice", CHAPSecret: "alicesecret12", MutualCHAPSecret: "notthedisks1"}); !errors.Is(err, ErrAuthentication) {
		t.Errorf("wrong mutual secret: %v, want ErrAuthentication", err)
	}
	if err := try(Config{}); !errors.Is(err, ErrAuthentication) {
		t.Errorf("no CHAP on a CHAP target: %v, want ErrAuthentication", err)
	}
}

func TestIntegrationReconnect(t *testing.T) {
	t.Parallel()
	d := rig.DiskFor(t, rig.DiskConfig{Size: 4 << 20, Initiators: []string{nodeA, nodeB}})
	events := make(chan ReconnectEvent, 4)
	s := dialDisk(t, d, Config{InitiatorName: nodeA, OnReconnect: func(ctx context.Context, ev ReconnectEvent) { events <- ev }})
	other := dialDisk(t, d, Config{InitiatorName: nodeB})
	ctx := testCtx(t)
	goodAfterUA(t, ctx, s, "TEST UNIT READY", &scsi.Command{CDB: make([]byte, 6)})
	goodAfterUA(t, ctx, other, "TEST UNIT READY (B)", &scsi.Command{CDB: make([]byte, 6)})
	data := bytes.Repeat([]byte("hakit-reconnect!"), 2048)
	good(t, ctx, s, "WRITE(10)", &scsi.Command{CDB: rw10(0x2a, 100, uint16(len(data)/512)), Direction: scsi.ToDevice, Data: data})
	tsih := s.Stats().TSIH

	// A dropped connection: only node A's.
	n, err := d.DropConnections(ctx, nodeA)
	if err != nil || n != 1 {
		t.Fatalf("drop: %d %v", n, err)
	}
	// tgtadm returns before the connection is gone; a command sent in
	// between fails with ErrConnectionLost, as it must.
	waitDisconnected(t, s)
	start := time.Now()
	resp := goodAfterUA(t, ctx, s, "READ(10) after a drop", &scsi.Command{CDB: rw10(0x28, 100, uint16(len(data)/512)), Direction: scsi.FromDevice, AllocLen: len(data)})
	if !bytes.Equal(resp.Data, data) {
		t.Error("data differ after reconnect")
	}
	ev := <-events
	t.Logf("reconnect after drop: %+v in %v", ev, time.Since(start))
	if ev.Count != 1 || ev.TSIH == tsih || ev.Cause == nil {
		t.Errorf("event %+v (old TSIH %#x)", ev, tsih)
	}
	if st := other.Stats(); st.Reconnects != 0 {
		t.Errorf("node B reconnected too: %+v", st)
	}

	// A target restart: the session logs in again once tgtd is back.
	if err := d.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	waitDisconnected(t, s)
	resp = goodAfterUA(t, ctx, s, "READ(10) after a restart", &scsi.Command{CDB: rw10(0x28, 100, uint16(len(data)/512)), Direction: scsi.FromDevice, AllocLen: len(data)})
	if !bytes.Equal(resp.Data, data) {
		t.Error("data differ after restart")
	}
	ev = <-events
	t.Logf("reconnect after restart: %+v", ev)
	if ev.Count != 2 {
		t.Errorf("event %+v", ev)
	}
	goodAfterUA(t, ctx, other, "TEST UNIT READY (B) after restart", &scsi.Command{CDB: make([]byte, 6)})

	// Target down: calls fail within their deadline, then recover.
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	start = time.Now()
	_, err = s.Execute(short, &scsi.Command{CDB: make([]byte, 6)})
	cancel()
	if !errors.Is(err, os.ErrDeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Errorf("target down: %v after %v", err, time.Since(start))
	}
	t.Logf("target down: %v", err)
}

func waitDisconnected(t *testing.T, s *Session) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for s.Stats().Connected {
		if time.Now().After(deadline) {
			t.Fatal("the session did not notice the lost connection within 5 s")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestIntegrationLibiscsi compares INQUIRY and READ CAPACITY(16) with
// libiscsi's iscsi-inq and iscsi-readcapacity16 on the same LUN.
func TestIntegrationLibiscsi(t *testing.T) {
	t.Parallel()
	testutil.SkipUnlessTools(t, "iscsi-inq", "iscsi-readcapacity16")
	d := rig.DiskFor(t, rig.DiskConfig{Size: 12 << 20, Initiators: []string{nodeA}})
	ctx := testCtx(t)
	s := dialDisk(t, d, Config{InitiatorName: nodeA})
	goodAfterUA(t, ctx, s, "TEST UNIT READY", &scsi.Command{CDB: make([]byte, 6)})
	inq := good(t, ctx, s, "INQUIRY", inquiryCmd()).Data
	rc := good(t, ctx, s, "READ CAPACITY(16)", readCap16Cmd()).Data

	run := func(tool string) string {
		out, err := exec.CommandContext(ctx, tool, "-i", nodeA, d.URL()).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", tool, err, out)
		}
		return string(out)
	}
	field := func(out, key string) string {
		for _, line := range strings.Split(out, "\n") {
			if v, ok := strings.CutPrefix(line, key+":"); ok {
				return v
			}
		}
		t.Fatalf("no %q in:\n%s", key, out)
		return ""
	}
	out := run("iscsi-inq")
	if v := field(out, "Vendor"); v != string(inq[8:16]) {
		t.Errorf("vendor %q, libiscsi %q", inq[8:16], v)
	}
	if v := field(out, "Product"); v != string(inq[16:32]) {
		t.Errorf("product %q, libiscsi %q", inq[16:32], v)
	}
	if v := field(out, "Revision"); v != string(inq[32:36]) {
		t.Errorf("revision %q, libiscsi %q", inq[32:36], v)
	}
	out = run("iscsi-readcapacity16")
	last, blk := binary.BigEndian.Uint64(rc), binary.BigEndian.Uint32(rc[8:])
	if v := field(out, "RETURNED LOGICAL BLOCK ADDRESS"); v != strconv.FormatUint(last, 10) {
		t.Errorf("last LBA %d, libiscsi %s", last, v)
	}
	if v := field(out, "LOGICAL BLOCK LENGTH IN BYTES"); v != strconv.FormatUint(uint64(blk), 10) {
		t.Errorf("block length %d, libiscsi %s", blk, v)
	}
	if v := field(out, "Total size"); v != strconv.FormatUint((last+1)*uint64(blk), 10) || v != "12582912" {
		t.Errorf("size %d, libiscsi %s", (last+1)*uint64(blk), v)
	}
}

// TestIntegrationCapture records one session with tgtd; with -update it
// writes the streams to testdata/tgtd for TestCapturedTgtd and FuzzPDU.
func TestIntegrationCapture(t *testing.T) {
	t.Parallel()
	d := rig.DiskFor(t, rig.DiskConfig{Size: 4 << 20, Initiators: []string{nodeA}})
	var rec *recordConn
	u, _ := ParseURL(d.URL())
	ctx := testCtx(t)
	s, err := Dial(ctx, u, Config{InitiatorName: nodeA, Logger: rig.TestLogger(t), Dial: func(ctx context.Context, addr string) (net.Conn, error) {
		var dl net.Dialer
		c, err := dl.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		rec = &recordConn{Conn: c}
		return rec, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	goodAfterUA(t, ctx, s, "TEST UNIT READY", &scsi.Command{CDB: make([]byte, 6)})
	good(t, ctx, s, "INQUIRY", &scsi.Command{CDB: []byte{0x12, 0, 0, 0, 255, 0}, Direction: scsi.FromDevice, AllocLen: 255})
	good(t, ctx, s, "READ CAPACITY(16)", readCap16Cmd())
	good(t, ctx, s, "WRITE(10)", &scsi.Command{CDB: rw10(0x2a, 0, 40), Direction: scsi.ToDevice, Data: bytes.Repeat([]byte{0xa5}, 40*512)})
	good(t, ctx, s, "READ(10)", &scsi.Command{CDB: rw10(0x28, 0, 40), Direction: scsi.FromDevice, AllocLen: 40 * 512})
	if resp, err := s.Execute(ctx, &scsi.Command{CDB: rw10(0x28, 1<<30, 1), Direction: scsi.FromDevice, AllocLen: 512}); err != nil || resp.Status != scsi.StatusCheckCondition {
		t.Fatalf("READ past the end: %v %+v", err, resp)
	}
	if _, err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Reset(ctx, scsi.ResetLUN); err != nil {
		t.Fatal(err)
	}
	if err := s.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	in, out := rec.in, rec.out
	rec.mu.Unlock()
	for name, stream := range map[string][]byte{"received": in, "sent": out} {
		lines, err := summarize(stream)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if *update {
			os.MkdirAll(filepath.Join("testdata", "tgtd"), 0o755)
			if err := os.WriteFile(filepath.Join("testdata", "tgtd", name+".bin"), stream, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join("testdata", "tgtd", name+".golden"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// SendTargets discovery against tgtd lists the rig's target with its
// portal; a discovery URL with a target in it is refused.
func TestIntegrationDiscover(t *testing.T) {
	d := rig.DiskFor(t, rig.DiskConfig{})
	u, err := ParsePortalURL("iscsi://" + d.Addr())
	if err != nil {
		t.Fatal(err)
	}
	ts, err := Discover(testCtx(t), u, Config{InitiatorName: "iqn.2026-11.io.hakit.test:discover", Logger: rig.TestLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, tg := range ts {
		if tg.Name == d.IQN() {
			found = true
			if len(tg.Addresses) == 0 || !strings.Contains(strings.Join(tg.Addresses, " "), strconv.Itoa(d.Port())) {
				t.Errorf("target %s addresses %v, want the rig's port %d", tg.Name, tg.Addresses, d.Port())
			}
		}
	}
	if !found {
		t.Errorf("discovery listed %+v, not the rig's target %s", ts, d.IQN())
	}
	if _, err := ParsePortalURL(d.URL()); err == nil {
		t.Error("ParsePortalURL accepted a URL with a target and LUN")
	}
}
