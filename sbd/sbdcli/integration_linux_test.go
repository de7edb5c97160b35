package sbdcli_test

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hakit/hakit/internal/testutil"
	"github.com/hakit/hakit/sbd/sbdcli"
)

func loopDevice(t *testing.T) string {
	t.Helper()
	testutil.SkipUnlessTools(t, "sbd")
	return testutil.LoopDevice(t, 4<<20)
}

// realSBD runs sbd's non-daemon verbs only (never watch: it would arm a
// watchdog).
func realSBD(t *testing.T, args ...string) string {
	t.Helper()
	switch args[len(args)-1] {
	case "create", "dump", "list":
	default:
		if len(args) < 3 || (args[len(args)-2] != "allocate" && args[len(args)-3] != "message") {
			t.Fatalf("refusing to run sbd %v: only create, dump, list, allocate and message", args)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "sbd", args...).Output()
	if err != nil {
		t.Fatalf("sbd %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func hakit(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := sbdcli.Runner{Sleep: func(ctx context.Context, d time.Duration) error { return ctx.Err() }}
	err := r.Run(ctx, args, &out, &errb)
	return out.String(), err
}

// dumpFields keeps the header lines of a dump (sbd and hakit differ only in
// the banner lines naming the device).
func dumpFields(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, " : ") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// TestIntegrationReadsRealSBD: the real sbd creates, allocates and
// messages; hakit's dump and list read the same as sbd's own.
func TestIntegrationReadsRealSBD(t *testing.T) {
	dev := loopDevice(t)
	realSBD(t, "-d", dev, "-1", "1", "-2", "0", "-4", "1", "create")
	realSBD(t, "-d", dev, "allocate", "node-a")
	realSBD(t, "-d", dev, "allocate", "node-b")
	realSBD(t, "-d", dev, "-n", "node-a", "message", "node-b", "off")
	sdump := realSBD(t, "-d", dev, "dump")
	hdump, err := hakit(t, "-d", dev, "dump")
	if err != nil {
		t.Fatal(err)
	}
	if dumpFields(hdump) != dumpFields(sdump) || !strings.Contains(hdump, "Timeout (msgwait)  : 1") {
		t.Errorf("dump differs:\nsbd:\n%s\nhakit:\n%s", sdump, hdump)
	}
	slist := realSBD(t, "-d", dev, "list")
	hlist, err := hakit(t, "-d", dev, "list")
	if err != nil {
		t.Fatal(err)
	}
	if hlist != slist || !strings.Contains(hlist, "1\tnode-b\toff\tnode-a") {
		t.Errorf("list differs:\nsbd:\n%s\nhakit:\n%s", slist, hlist)
	}
}

// TestIntegrationRealSBDReadsHakit: hakit creates, allocates and messages;
// the real sbd's dump and list show it.
func TestIntegrationRealSBDReadsHakit(t *testing.T) {
	dev := loopDevice(t)
	for _, args := range [][]string{
		{"-d", dev, "-1", "7", "-2", "3", "-3", "2", "-4", "15", "create"},
		{"-d", dev, "allocate", "node-a"},
		{"-d", dev, "allocate", "node-b"},
		{"-d", dev, "allocate", "node-c"},
		{"-d", dev, "-n", "node-b", "message", "node-a", "reset"},
		{"-d", dev, "-n", "node-a", "message", "node-c", "test"},
	} {
		if out, err := hakit(t, args...); err != nil {
			t.Fatalf("hakit sbd %v: %v\n%s", args, err, out)
		}
	}
	sdump := realSBD(t, "-d", dev, "dump")
	for _, want := range []string{"Header version     : 2.1", "Number of slots    : 255", "Sector size        : 512",
		"Timeout (watchdog) : 7", "Timeout (allocate) : 3", "Timeout (loop)     : 2", "Timeout (msgwait)  : 15"} {
		if !strings.Contains(sdump, want) {
			t.Errorf("sbd dump lacks %q:\n%s", want, sdump)
		}
	}
	hdump, _ := hakit(t, "-d", dev, "dump")
	if dumpFields(hdump) != dumpFields(sdump) {
		t.Errorf("dumps differ (uuid?):\nsbd:\n%s\nhakit:\n%s", sdump, hdump)
	}
	slist := realSBD(t, "-d", dev, "list")
	want := "0\tnode-a\treset\tnode-b\n1\tnode-b\tclear\t\n2\tnode-c\ttest\tnode-a\n"
	if slist != want {
		t.Errorf("sbd list:\n%q\nwant\n%q", slist, want)
	}
	// sbd allocates after hakit's slots, and finds hakit's.
	realSBD(t, "-d", dev, "allocate", "node-d")
	realSBD(t, "-d", dev, "allocate", "NODE-A")
	if hlist, _ := hakit(t, "-d", dev, "list"); !strings.HasSuffix(hlist, "3\tnode-d\tclear\t\n") || strings.Count(hlist, "\n") != 4 {
		t.Errorf("after sbd allocate: %q", hlist)
	}
}
