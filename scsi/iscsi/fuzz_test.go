package iscsi

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/hakit/hakit/internal/testutil"
	"github.com/hakit/hakit/scsi"
)

// FuzzLoginResponse feeds arbitrary Login Responses to the login state
// machine, with CHAP and mutual CHAP on: it must return a request, done or
// an error, never panic or loop.
func FuzzLoginResponse(f *testing.F) {
	for _, keys := range []string{"AuthMethod=CHAP", "CHAP_A=5\x00CHAP_I=1\x00CHAP_C=0x0011", "CHAP_N=t\x00CHAP_R=0x00", opAnswer} {
		p := (&loginResp{Transit: true, NSG: 1, ITT: 5, ISID: DefaultISID("iqn.2026-11.io.hakit.test:a"), Data: []byte(keys)}).marshal()
		b, _ := appendPDU(nil, &p, digests{})
		f.Add(b, b, b)
	}
	f.Fuzz(func(t *testing.T, r1, r2, r3 []byte) {
		cfg := testLoginConfig()
		cfg.User, cfg.Secret, cfg.MutualSecret = "alice", "verysecret12", "targetsecret"
		cfg.Rand = bytes.NewReader(make([]byte, 64))
		l := newLogin(cfg)
		if _, err := l.first(); err != nil {
			t.Fatal(err)
		}
		for _, in := range [][]byte{r1, r2, r3} {
			raw, _, err := decodePDU(in, digests{}, 0)
			if err != nil {
				return
			}
			m, err := parseMessage(raw)
			if err != nil {
				return
			}
			resp, ok := m.(*loginResp)
			if !ok {
				return
			}
			next, done, err := l.step(resp)
			if err != nil || done {
				return
			}
			if next == nil {
				t.Fatal("no request, not done, no error")
			}
		}
	})
}

// FuzzTargetReply answers a command with arbitrary bytes from the target:
// Execute must return within its deadline, and never panic.
func FuzzTargetReply(f *testing.F) {
	for _, m := range sampleMessages() {
		p := m.marshal()
		b, _ := appendPDU(nil, &p, digests{})
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, reply []byte) {
		ft := newFake(t)
		ft.handle = func(fc *fakeConn, m message) bool {
			if c, ok := m.(*scsiCmd); ok {
				// Point the reply at the command's task.
				if len(reply) >= 20 {
					reply = bytes.Clone(reply)
					put32(reply[16:], c.ITT)
				}
				fc.nc.Write(reply)
				return true
			}
			return false
		}
		cfg := ft.config()
		cfg.Logger = testutil.Discard()
		cfg.CommandTimeout = 100 * time.Millisecond
		cfg.Reconnect.Disabled = true
		s := ft.session(t, cfg)
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		s.Execute(ctx, &scsi.Command{CDB: []byte{0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0}, Direction: scsi.FromDevice, AllocLen: 512})
		if el := time.Since(start); el > 2*time.Second {
			t.Fatalf("Execute took %v", el)
		}
	})
}
