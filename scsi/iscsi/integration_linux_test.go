//go:build linux

package iscsi

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/hakit/hakit/internal/rig"
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
	for _, dg := range []Digest{DigestNone, DigestCRC32C} {
		t.Run("digest="+dg.String(), func(t *testing.T) {
			t.Parallel()
			d := rig.DiskFor(t, rig.DiskConfig{Size: 8 << 20})
			ctx := testCtx(t)
			if dg == DigestCRC32C {
				// tgtd offers no digest unless told to.
				for _, k := range []string{"HeaderDigest", "DataDigest"} {
					if _, err := d.Tgtadm(ctx, "--lld", "iscsi", "--op", "update", "--mode", "target", "--tid", "1", "--name", k, "--value", "CRC32C,None"); err != nil {
						t.Fatal(err)
					}
				}
			}
			s := dialDisk(t, d, Config{HeaderDigest: dg, DataDigest: dg, MaxRecvDataSegmentLength: 8192})
			st := s.Stats()
			if st.Params.HeaderDigest != (dg == DigestCRC32C) || st.Params.DataDigest != (dg == DigestCRC32C) {
				t.Errorf("digests negotiated %+v", st.Params)
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
