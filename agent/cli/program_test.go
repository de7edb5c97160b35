package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/hakit/hakit/agent"
)

func TestMaxProcs(t *testing.T) {
	for _, c := range []struct {
		port string
		prio int
		want int
	}{{"", 0, 1}, {"/dev/ttyS0", 0, 1}, {"", 50, 1}, {"/dev/ttyS0", 50, 2}} {
		var cfg agent.Config
		cfg.Serial.Port, cfg.Serial.RealtimePriority = c.port, c.prio
		if got := MaxProcs(&cfg); got != c.want {
			t.Errorf("port %q priority %d: MaxProcs %d, want %d", c.port, c.prio, got, c.want)
		}
	}
}

// The library neither exits nor sets GOMAXPROCS: Report returns the code
// and the zero Program calls no SetMaxProcs.
func TestReport(t *testing.T) {
	for _, c := range []struct {
		err  error
		code int
		out  string
	}{
		{nil, 0, ""},
		{fmt.Errorf("%w: no command", ErrUsage), 2, "hwagent: usage: no command\n"},
		{&ExitError{Code: 7, Err: errors.New("boom")}, 7, "hwagent: boom\n"},
		{errors.New("x"), 1, "hwagent: x\n"},
	} {
		var b bytes.Buffer
		if code := Report(&b, c.err); code != c.code || b.String() != c.out {
			t.Errorf("Report(%v) = %d %q, want %d %q", c.err, code, b.String(), c.code, c.out)
		}
	}
	called := false
	p := Program{SetMaxProcs: func(int) { called = true }}
	if err := p.Run(context.Background(), []string{"--version"}, &bytes.Buffer{}, &bytes.Buffer{}); err != nil || called {
		t.Fatalf("--version: err %v, SetMaxProcs called %v", err, called)
	}
}
