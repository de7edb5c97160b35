package diskcli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hakit/hakit/scsi"
	"github.com/hakit/hakit/scsi/scsitest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func golden(t *testing.T, name, got string) {
	t.Helper()
	scsitest.Golden(t, filepath.Join("testdata", name), got, *update)
}

// fakeOpener serves fake://<node> devices from one scsitest LUN, one nexus
// per node kept across commands (as one node's session would be).
type fakeOpener struct {
	lun     *scsitest.LUN
	nexuses map[string]*scsitest.Nexus
}

func (f *fakeOpener) open(ctx context.Context, device string, o OpenOptions) (scsi.Transport, io.Closer, error) {
	node, ok := strings.CutPrefix(device, "fake://")
	if !ok {
		return nil, nil, fmt.Errorf("want fake://node")
	}
	nx := f.nexuses[node]
	if nx == nil {
		nx = f.lun.Connect("iqn.2026-11.io.hakit.test:"+node, "")
		f.nexuses[node] = nx
	}
	return nx, io.NopCloser(nil), nil
}

func run(t *testing.T, r Runner, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := r.Run(ctx, args, &out, &errb)
	if err != nil {
		fmt.Fprintf(&errb, "error: %v\n", err)
	}
	return out.String(), errb.String(), ExitCode(err)
}

// TestScenario runs a two-node session on a tgtd-like fake LUN (no
// PREEMPT AND ABORT, no READ FULL STATUS) and pins the transcript.
func TestScenario(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  scsitest.Config
	}{{"tgtd-like", scsitest.Config{NoPreemptAndAbort: true, NoReadFullStatus: true, NoAPTPL: true}}, {"full", scsitest.Config{}}} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeOpener{lun: scsitest.New(tc.cfg), nexuses: map[string]*scsitest.Nexus{}}
			r := Runner{Open: f.open}
			a := []string{"--cluster", "alpha", "--node", "1"}
			b := []string{"--cluster", "alpha", "--node", "2"}
			steps := [][]string{
				{"identify", "fake://a"},
				{"keys", "fake://a"},
				append([]string{"status", "fake://a"}, a...),
				append([]string{"register", "fake://a"}, a...),
				append([]string{"register", "fake://b"}, b...),
				append([]string{"reserve", "fake://a"}, a...),
				append([]string{"reserve", "fake://b"}, b...),
				{"keys", "fake://b", "--cluster", "alpha"},
				{"reservation", "fake://b"},
				append([]string{"fence", "fake://b", "0x686b8ed3f6ad0002"}, b...),
				append([]string{"fence", "fake://b", "--victim", "0x686b8ed3f6ad0001"}, b...),
				append([]string{"fence", "fake://b", "--victim", "0x686b8ed3f6ad0001", "--allow-preempt-without-abort"}, b...),
				append([]string{"fence", "fake://a", "--victim", "0x686b8ed3f6ad0002", "--allow-preempt-without-abort"}, a...),
				append([]string{"status", "fake://a"}, a...),
				append([]string{"status", "fake://b", "--json"}, b...),
				append([]string{"unfence", "fake://a"}, a...),
				append([]string{"release", "fake://b"}, b...),
				append([]string{"release", "fake://b"}, b...), // nothing left to release
				append([]string{"preempt", "fake://a", "--victim", "0x686b8ed3f6ad0002", "--allow-preempt-without-abort", "--json"}, a...),
				{"reset", "fake://b"},
				{"reset", "fake://b", "--level", "bus", "--json"},
				append([]string{"clear", "fake://a"}, a...),
				append([]string{"clear", "fake://a", "--yes"}, a...),
				append([]string{"unregister", "fake://a"}, a...),
				{"keys", "fake://a", "--json"},
				{"identify", "fake://a", "--json"},
			}
			var tr strings.Builder
			for _, args := range steps {
				out, errs, code := run(t, r, args...)
				fmt.Fprintf(&tr, "$ disk %s\n%s%s[exit %d]\n\n", strings.Join(args, " "), out, errs, code)
			}
			golden(t, "scenario-"+tc.name+".golden", tr.String())
		})
	}
}

func TestBadInput(t *testing.T) {
	f := &fakeOpener{lun: scsitest.New(scsitest.Config{}), nexuses: map[string]*scsitest.Nexus{}}
	fake := Runner{Open: f.open}
	file := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(file, make([]byte, 512), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		r    Runner
		args []string
		code int
		msg  string
	}{
		{"no command", fake, nil, 1, "no command given"},
		{"unknown command", fake, []string{"frobnicate", "x"}, 1, `unknown command "frobnicate"`},
		{"no device", fake, []string{"keys"}, 1, "want one device, got 0"},
		{"two devices", fake, []string{"keys", "fake://a", "fake://b"}, 1, "want one device, got 2"},
		{"bad flag", fake, []string{"keys", "--bogus", "fake://a"}, 1, "flag provided but not defined: -bogus"},
		{"no key", fake, []string{"register", "fake://a"}, 1, "needs this node's key"},
		{"bad key", fake, []string{"register", "fake://a", "--key", "zz"}, 1, "--key"},
		{"key 0", fake, []string{"register", "fake://a", "--key", "0"}, 1, "0 is not a valid"},
		{"key and cluster", fake, []string{"register", "fake://a", "--key", "1", "--cluster", "c", "--node", "1"}, 1, "not both"},
		{"bad node", fake, []string{"register", "fake://a", "--cluster", "c", "--node", "-1"}, 1, "node id -1 out of range"},
		{"bad layout", fake, []string{"register", "fake://a", "--cluster", "c", "--node", "1", "--layout", "x"}, 1, "--layout"},
		{"bad type", fake, []string{"reserve", "fake://a", "--key", "1", "--type", "2"}, 1, "--type"},
		{"fence without victim", fake, []string{"fence", "fake://a", "--key", "1"}, 1, "needs the victim's key"},
		{"fence own key", fake, []string{"fence", "fake://a", "--key", "1", "--victim", "1"}, 99, "refusing to fence this node's own key"},
		{"fence unregistered peer", fake, []string{"fence", "fake://a", "--key", "1", "--victim", "0x77"}, 99, "this node's key is not registered"},
		{"bad level", fake, []string{"reset", "fake://a", "--level", "planet"}, 1, "--level"},
		{"unknown scheme", Runner{}, []string{"keys", "sda"}, 15, "want /dev/sdX, /dev/sgN or iscsi://"},
		{"malformed url", Runner{}, []string{"keys", "iscsi://127.0.0.1:3260/not-an-iqn/1"}, 15, "iscsi://127.0.0.1:3260/not-an-iqn/1"},
		{"url without lun", Runner{}, []string{"keys", "iscsi://127.0.0.1/iqn.2026-11.x:y"}, 15, "cannot open device: iscsi: URL"},
	}
	if runtime.GOOS == "linux" {
		tests = append(tests, []struct {
			name string
			r    Runner
			args []string
			code int
			msg  string
		}{
			{"missing device", Runner{}, []string{"identify", "/dev/sg-does-not-exist"}, 15, "no such file or directory"},
			{"regular file", Runner{}, []string{"identify", file}, 15, "not a SCSI generic or SCSI block device"},
		}...)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, errs, code := run(t, tc.r, tc.args...)
			if code != tc.code || !strings.Contains(errs, tc.msg) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, errs, tc.code, tc.msg)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	var tr strings.Builder
	for _, args := range [][]string{{"--help"}, {"help", "fence"}, {"status", "--help"}} {
		out, errs, code := run(t, Runner{}, args...)
		fmt.Fprintf(&tr, "$ disk %s\n%s%s[exit %d]\n\n", strings.Join(args, " "), out, errs, code)
		if code != 0 {
			t.Errorf("%v: exit %d", args, code)
		}
	}
	golden(t, "help.golden", tr.String())
}

func TestExitCode(t *testing.T) {
	conflict := &scsi.SenseError{Status: scsi.StatusReservationConflict}
	ua := &scsi.SenseError{Status: scsi.StatusCheckCondition, HasSense: true, Sense: scsi.Sense{Key: scsi.SenseUnitAttention}}
	for err, want := range map[error]int{
		nil: 0, usagef("x"): 1, &DeviceError{Err: errors.New("x")}: 15, conflict: 24, ua: 6,
		fmt.Errorf("w: %w", os.ErrDeadlineExceeded): 67, &NotRegisteredError{Key: 1}: 2, errors.New("x"): 99,
	} {
		if got := ExitCode(err); got != want {
			t.Errorf("ExitCode(%v) = %d, want %d", err, got, want)
		}
	}
}

// A routine unit attention (power on, reset) is absorbed quietly; -v
// shows it; one that means something (registrations preempted) is always
// said.
func TestUnitAttentionNotes(t *testing.T) {
	for _, tc := range []struct {
		name      string
		asc, ascq byte
		verbose   bool
		said      bool
	}{
		{"power on, quiet", 0x29, 0x00, false, false},
		{"power on, -v", 0x29, 0x00, true, true},
		{"registrations preempted", 0x2a, 0x05, false, true},
		{"reservations released", 0x2a, 0x04, false, true},
	} {
		f := &fakeOpener{lun: scsitest.New(scsitest.Config{}), nexuses: map[string]*scsitest.Nexus{}}
		r := Runner{Open: f.open}
		if _, _, code := run(t, r, "keys", "fake://a"); code != 0 {
			t.Fatalf("%s: keys: exit %d", tc.name, code)
		}
		f.lun.QueueUnitAttention(f.nexuses["a"], tc.asc, tc.ascq)
		args := []string{"keys", "fake://a"}
		if tc.verbose {
			args = append(args, "-v")
		}
		_, errOut, code := run(t, r, args...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", tc.name, code, errOut)
		}
		if said := strings.Contains(errOut, "(absorbed)"); said != tc.said {
			t.Errorf("%s: stderr %q: unit attention said %v, want %v", tc.name, errOut, said, tc.said)
		}
	}
}
