package lab

import (
	"bufio"
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeQEMU serves one QMP connection: the greeting, then one scripted
// answer (lines) per command line received. It records the commands.
func fakeQEMU(t *testing.T, answers map[string][]string) (path string, got chan string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "q.qmp")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	got = make(chan string, 16)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.Write([]byte(`{"QMP": {"version": {"qemu": {"major": 7}}, "capabilities": []}}` + "\r\n"))
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			m, _ := executeName(line)
			got <- m
			for _, a := range answers[m] {
				c.Write([]byte(a + "\r\n"))
			}
		}
	}()
	return path, got
}

// dialFake connects to a fake server; the context ends with the test.
func dialFake(t *testing.T, path string) (context.Context, *QMP) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	q, err := DialQMP(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	return ctx, q
}

// executeName extracts "execute" from a command line.
func executeName(line string) (string, error) {
	_, rest, ok := strings.Cut(line, `"execute":"`)
	if !ok {
		return "", errors.New("no execute")
	}
	name, _, _ := strings.Cut(rest, `"`)
	return name, nil
}

func TestQMPClient(t *testing.T) {
	path, got := fakeQEMU(t, map[string][]string{
		"qmp_capabilities": {`{"return": {}}`},
		"stop":             {`{"timestamp": {"seconds": 1, "microseconds": 0}, "event": "STOP"}`, `{"return": {}}`},
		"query-status":     {`{"return": {"status": "paused", "running": false}}`},
		"chardev-change":   {`{"error": {"class": "GenericError", "desc": "Chardev 'hb' does not exist"}}`},
	})
	ctx, q := dialFake(t, path)
	if _, err := q.Execute(ctx, "stop", nil); err != nil {
		t.Fatalf("stop: %v", err)
	}
	ret, err := q.Execute(ctx, "query-status", nil)
	if err != nil || !strings.Contains(string(ret), `"paused"`) {
		t.Fatalf("query-status: %s, %v", ret, err)
	}
	_, err = q.Execute(ctx, "chardev-change", chardevChangeArgs("hb", false, true, "127.0.0.1", 1))
	var qe *QMPError
	if !errors.As(err, &qe) || qe.Class != "GenericError" {
		t.Fatalf("chardev-change: err %v, want a QMPError", err)
	}
	ev := q.Events()
	if len(ev) != 1 || ev[0].Event != "STOP" {
		t.Errorf("events %+v, want one STOP", ev)
	}
	if len(q.Events()) != 0 {
		t.Error("Events did not forget what it returned")
	}
	var cmds []string
	for range 4 {
		cmds = append(cmds, <-got)
	}
	if diff := cmp.Diff([]string{"qmp_capabilities", "stop", "query-status", "chardev-change"}, cmds); diff != "" {
		t.Errorf("commands sent (-want +got):\n%s", diff)
	}
}

func TestQMPDeadline(t *testing.T) {
	path, _ := fakeQEMU(t, map[string][]string{"qmp_capabilities": {`{"return": {}}`}}) // "stop" gets no answer
	ctx, q := dialFake(t, path)
	short, cancel2 := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel2()
	if _, err := q.Execute(short, "stop", nil); !errors.Is(err, context.DeadlineExceeded) && !isTimeout(err) {
		t.Errorf("unanswered command: err %v, want a timeout", err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func TestDialQMPGivesUp(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := DialQMP(ctx, filepath.Join(t.TempDir(), "none.qmp")); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err %v, want context.DeadlineExceeded", err)
	}
}
