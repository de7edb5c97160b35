package fence

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/blockio"
	"github.com/hakit/hakit/blockio/blockiotest"
	"github.com/hakit/hakit/sbd"
)

type memSBD struct{ *blockiotest.Mem }

func (memSBD) Close() error { return nil }

// TestPoisonPill: method=sbd writes reset from node-a into node-b's slot
// and reports success only after the header's msgwait; status is unknown,
// never off; fencing this node, a node without a slot and a msgwait longer
// than power_timeout are refused.
func TestPoisonPill(t *testing.T) {
	ctx := context.Background()
	mem := memSBD{blockiotest.New(512, 1024)}
	d := &sbd.Disk{Sectors: mem, Sleep: func(context.Context, time.Duration) error { return nil }}
	if err := d.Create(ctx, sbd.DefaultHeader(512)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.Allocate(ctx, "node-b"); err != nil {
		t.Fatal(err)
	}
	var slept []time.Duration
	yaml := cfgYAML + "sbd: {device: /dev/mem-sbd}\n"
	deps := Deps{
		LoadConfig: func(string) (*agent.Config, error) { return agent.ParseConfig("c", []byte(yaml)) },
		OpenSBD:    func(context.Context, string, string) (blockio.SectorCloser, error) { return mem, nil },
		Sleep:      func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil },
		Dial:       func(string) Backend { return nil }, // a call on it would panic
	}
	for _, tt := range []struct {
		name, stdin string
		code        int
		out, errOut string
	}{
		{"monitor", "action=monitor\nmethod=sbd\n", ExitOK, "", ""},
		{"status unknown", "action=status\nmethod=sbd\nplug=node-b\n", ExitError, "", "unknown, not off"},
		{"off self refused", "action=off\nmethod=sbd\nplug=node-a\n", ExitError, "", "node-a"},
		{"msgwait over power_timeout", "action=off\nmethod=sbd\nplug=node-b\npower_timeout=5\n", ExitError, "", "msgwait"},
		{"off peer", "action=off\nmethod=sbd\nplug=node-b\npriority=0\n", ExitOK, "Success: Powered OFF", ""},
		{"bad method", "action=off\nmethod=ipmi\nplug=node-b\n", ExitError, "", "want pr or sbd"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := Run(ctx, nil, strings.NewReader(tt.stdin), &out, &errOut, deps)
			if code != tt.code || !strings.Contains(out.String(), tt.out) || !strings.Contains(errOut.String(), tt.errOut) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s", code, tt.code, out.String(), errOut.String())
			}
		})
	}
	h, _ := d.Header(ctx)
	slots, _ := d.Slots(ctx, h)
	if len(slots) != 1 || slots[0].Mailbox != (sbd.Mailbox{Msg: sbd.MsgReset, From: "node-a"}) {
		t.Errorf("node-b's slot after off: %+v", slots)
	}
	if len(slept) != 1 || slept[0] != 10*time.Second {
		t.Errorf("waits %v, want one: off's msgwait of 10s", slept)
	}
}
