package scsi_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hakit/hakit/scsi"
	"github.com/hakit/hakit/scsi/scsitest"
)

// PR scenario scripts (testdata/pr/*.txt) drive raw PR commands from
// several initiators and state the device server's answer on each line:
//
//	<node> <op> [args] -> <expect>
//
// ops: register RK SAK, register-ignore SAK, reserve RK TYPE, release RK
// TYPE, clear RK, preempt RK SAK TYPE, preempt-abort RK SAK TYPE, keys,
// resv, write, read, tur, reserve6, release6, reset.
// expect: ok, conflict, ua AA/QQ, illegal AA/QQ, a key list ("0xa 0xb",
// "none") for keys, "KEY TYPE" or "none" for resv. A line ending in
// "!tgtd" is skipped on tgtd (it lacks that feature); "ua" lines are
// skipped on tgtd, whose unit attentions go elsewhere (tgtd.md), and every
// tgtd command steps over unit attentions.

type scriptRunner struct {
	nodes    map[string]*scsi.Device
	reset    func(ctx context.Context, node string) error
	tgtd     bool
	nodeFunc func(name string) *scsi.Device
}

func (s *scriptRunner) dev(name string) *scsi.Device {
	d := s.nodes[name]
	if d == nil {
		d = s.nodeFunc(name)
		s.nodes[name] = d
	}
	return d
}

func parseKeyArg(t *testing.T, s string) scsi.Key {
	t.Helper()
	k, err := scsi.ParseKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func outcome(err error) string {
	if err == nil {
		return "ok"
	}
	if errors.Is(err, scsi.ErrReservationConflict) {
		return "conflict"
	}
	if se, ok := scsi.AsSense(err); ok && se.HasSense {
		switch se.Sense.Key {
		case scsi.SenseUnitAttention:
			return fmt.Sprintf("ua %02x/%02x", se.Sense.ASC, se.Sense.ASCQ)
		case scsi.SenseIllegalRequest:
			return fmt.Sprintf("illegal %02x/%02x", se.Sense.ASC, se.Sense.ASCQ)
		}
	}
	return "error: " + err.Error()
}

func (s *scriptRunner) step(t *testing.T, ctx context.Context, node, op string, args []string) string {
	d := s.dev(node)
	arg := func(i int) string {
		if i >= len(args) {
			t.Fatalf("%s %s: missing argument %d", node, op, i+1)
		}
		return args[i]
	}
	typ := func(i int) scsi.ReservationType {
		ty, err := scsi.ParseReservationType(arg(i))
		if err != nil {
			t.Fatal(err)
		}
		return ty
	}
	pr := func(a scsi.PROutAction, ty scsi.ReservationType, p scsi.PROutParams) string {
		return outcome(d.PROut(ctx, a, ty, p))
	}
	switch op {
	case "register":
		return pr(scsi.PROutRegister, 0, scsi.PROutParams{Key: parseKeyArg(t, arg(0)), ServiceActionKey: parseKeyArg(t, arg(1))})
	case "register-ignore":
		return pr(scsi.PROutRegisterAndIgnore, 0, scsi.PROutParams{ServiceActionKey: parseKeyArg(t, arg(0))})
	case "reserve":
		return pr(scsi.PROutReserve, typ(1), scsi.PROutParams{Key: parseKeyArg(t, arg(0))})
	case "release":
		return pr(scsi.PROutRelease, typ(1), scsi.PROutParams{Key: parseKeyArg(t, arg(0))})
	case "clear":
		return pr(scsi.PROutClear, 0, scsi.PROutParams{Key: parseKeyArg(t, arg(0))})
	case "preempt", "preempt-abort":
		a := scsi.PROutPreempt
		if op == "preempt-abort" {
			a = scsi.PROutPreemptAndAbort
		}
		return pr(a, typ(2), scsi.PROutParams{Key: parseKeyArg(t, arg(0)), ServiceActionKey: parseKeyArg(t, arg(1))})
	case "keys":
		k, err := d.ReadKeys(ctx)
		if err != nil {
			return outcome(err)
		}
		if len(k.Keys) == 0 {
			return "none"
		}
		var ks []string
		for _, key := range k.Keys {
			ks = append(ks, key.String())
		}
		return strings.Join(ks, " ")
	case "resv":
		r, err := d.ReadReservation(ctx)
		if err != nil {
			return outcome(err)
		}
		if !r.Held {
			return "none"
		}
		return r.Key.String() + " " + r.Type.Short()
	case "write":
		w, _ := scsi.Write10(0, make([]byte, 512), 512)
		_, err := d.Do(ctx, w)
		return outcome(err)
	case "read":
		_, err := d.Do(ctx, scsi.Read10(0, 1, 512))
		return outcome(err)
	case "tur":
		return outcome(d.TestUnitReady(ctx))
	case "reserve6":
		return outcome(d.Reserve6(ctx))
	case "release6":
		return outcome(d.Release6(ctx))
	case "reset":
		return outcome(s.reset(ctx, node))
	}
	t.Fatalf("unknown op %q", op)
	return ""
}

func (s *scriptRunner) run(t *testing.T, path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	for i, line := range strings.Split(string(b), "\n") {
		if j := strings.Index(line, "#"); j >= 0 {
			line = line[:j]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		skipTgtd := strings.HasSuffix(line, "!tgtd")
		line = strings.TrimSpace(strings.TrimSuffix(line, "!tgtd"))
		cmd, want, ok := strings.Cut(line, "->")
		if !ok {
			t.Fatalf("%s:%d: no -> in %q", path, i+1, line)
		}
		want = strings.TrimSpace(want)
		if s.tgtd && (skipTgtd || strings.HasPrefix(want, "ua ")) {
			continue
		}
		f := strings.Fields(cmd)
		if got := s.step(t, ctx, f[0], f[1], f[2:]); got != want {
			t.Errorf("%s:%d: %s: got %q, want %q", filepath.Base(path), i+1, strings.TrimSpace(cmd), got, want)
		}
	}
}

func scripts(t *testing.T) []string {
	files, _ := filepath.Glob(filepath.Join("testdata", "pr", "*.txt"))
	if len(files) == 0 {
		t.Fatal("no testdata/pr/*.txt")
	}
	return files
}

// TestPRScripts runs the scenario scripts on the fake LUN.
func TestPRScripts(t *testing.T) {
	for _, f := range scripts(t) {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
			lun := scsitest.New(scsitest.Config{})
			s := &scriptRunner{nodes: map[string]*scsi.Device{},
				nodeFunc: func(name string) *scsi.Device {
					return &scsi.Device{Transport: lun.Connect("iqn.2026-11.io.hakit.test:"+name, "")}
				}}
			s.reset = func(ctx context.Context, node string) error { return s.dev(node).Reset(ctx, scsi.ResetLUN) }
			s.run(t, f)
		})
	}
}
