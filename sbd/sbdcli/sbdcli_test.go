package sbdcli_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hakit/hakit/blockio"
	"github.com/hakit/hakit/blockio/blockiotest"
	"github.com/hakit/hakit/sbd/sbdcli"
)

type memCloser struct{ *blockiotest.Mem }

func (memCloser) Close() error { return nil }

// TestCommandLine runs the verbs on an in-memory disk: usage errors, a
// watch that answers a test message and reports a poison pill (exit 3).
func TestCommandLine(t *testing.T) {
	m := memCloser{blockiotest.New(512, 1024)}
	r := sbdcli.Runner{
		Open:  func(context.Context, string, string) (blockio.SectorCloser, error) { return m, nil },
		Sleep: func(ctx context.Context, d time.Duration) error { return ctx.Err() },
	}
	run := func(args ...string) (string, int) {
		var out bytes.Buffer
		err := r.Run(context.Background(), args, &out, &out)
		if err != nil {
			out.WriteString("error: " + err.Error() + "\n")
		}
		return out.String(), sbdcli.ExitCode(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--help"}, 0, "message NODE MSG"},
		{[]string{"dump"}, 2, "-d DEVICE is required"},
		{[]string{"-d", "mem", "frob"}, 2, "unknown command"},
		{[]string{"-d", "mem", "dump"}, 4, "no SBD header"},
		{[]string{"-d", "mem", "create"}, 0, "Initializing 255 slots"},
		{[]string{"-d", "mem", "dump", "--json"}, 0, `"Msgwait": 10`},
		{[]string{"-d", "mem", "-n", "b", "watch", "--once"}, 0, "Monitoring slot 0 (b)"},
		{[]string{"-d", "mem", "allocate", "a"}, 0, "Slot 1 for a has been allocated"},
		{[]string{"-d", "mem", "message", "b", "poke"}, 2, "unknown message"},
		{[]string{"-d", "mem", "-n", "a", "message", "b", "test"}, 0, "test successfully delivered to b (slot 0)"},
		{[]string{"-d", "mem", "list"}, 0, "0\tb\ttest\ta\n1\ta\tclear\t\n"},
		{[]string{"-d", "mem", "-n", "b", "watch", "--once"}, 0, "Received command test from a"},
		{[]string{"-d", "mem", "list", "--json"}, 0, `"message": "clear"`},
		{[]string{"-d", "mem", "-n", "a", "message", "b", "reset"}, 0, "reset successfully delivered"},
		{[]string{"-d", "mem", "-n", "b", "watch"}, 3, "since before start"},
	} {
		out, code := run(tc.args...)
		if code != tc.code || !strings.Contains(out, tc.want) {
			t.Errorf("sbd %s: exit %d, want %d with %q:\n%s", strings.Join(tc.args, " "), code, tc.code, tc.want, out)
		}
	}
}
