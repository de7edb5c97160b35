package agent_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/agent/agenttest"
	"github.com/hakit/hakit/internal/testutil"
	"github.com/hakit/hakit/nic"
	"github.com/hakit/hakit/raidctl"
	"github.com/hakit/hakit/serialhb"
)

// apiShape is one row of docs/API.md's table of answers: the fields an
// answer always has and those it may have.
type apiShape struct {
	always, maybe []string
}

var (
	apiRow   = regexp.MustCompile("^\\| `((?:GET|POST) /\\S+|error)` \\|([^|]*)\\|([^|]*)\\|([^|]*)\\|")
	apiField = regexp.MustCompile("`([a-z_]+)`")
)

// documentedShapes reads docs/API.md's table: the answer of each
// endpoint ("GET /v1/status"), and of "error".
func documentedShapes(t *testing.T) map[string]apiShape {
	t.Helper()
	b, err := os.ReadFile("../docs/API.md")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]apiShape{}
	for _, l := range strings.Split(string(b), "\n") {
		m := apiRow.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		var s apiShape
		for _, f := range apiField.FindAllStringSubmatch(m[3], -1) {
			s.always = append(s.always, f[1])
		}
		for _, f := range apiField.FindAllStringSubmatch(m[4], -1) {
			s.maybe = append(s.maybe, f[1])
		}
		out[m[1]] = s
	}
	if len(out) == 0 {
		t.Fatal("docs/API.md: no table of answers")
	}
	return out
}

// checkShape validates one answer against its documented shape: one
// object, schema_version 1 first, every field it always has, none that
// is not documented, and docs/JSON.md's values (times in UTC with
// milliseconds, none the zero time).
func checkShape(t *testing.T, name string, shape apiShape, body []byte) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Errorf("%s: not an object: %s", name, body)
		return
	}
	if tok, err := dec.Token(); err != nil || tok != "schema_version" {
		t.Errorf("%s: first field %v, want schema_version: %s", name, tok, body)
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Errorf("%s: %v: %s", name, err, body)
		return
	}
	if doc["schema_version"] != 1.0 {
		t.Errorf("%s: schema_version %v, want 1", name, doc["schema_version"])
	}
	for _, f := range shape.always {
		if _, ok := doc[f]; !ok {
			t.Errorf("%s: no %q field (docs/API.md lists it as always there): %s", name, f, body)
		}
	}
	for f := range doc {
		if f != "schema_version" && !slices.Contains(shape.always, f) && !slices.Contains(shape.maybe, f) {
			t.Errorf("%s: field %q is not in docs/API.md", name, f)
		}
	}
	testutil.CheckJSONValues(t, name, doc)
}

// testedHeartbeat is a heartbeat with a cable test.
type testedHeartbeat struct {
	agenttest.Static[agent.HeartbeatStatus]
}

func (testedHeartbeat) Test(context.Context) (agent.CableTestResult, error) {
	return agent.CableTestResult{Port: "/dev/ttyS0", Sent: 50, Received: 50, RTTMin: time.Millisecond, RTTMedian: 2 * time.Millisecond, RTTMax: 3 * time.Millisecond, Cable: serialhb.CableOK}, nil
}

// Every endpoint of the API answers in the shape docs/API.md documents
// for it, errors included; the documented table names every endpoint the
// agent serves.
func TestAPISchema(t *testing.T) {
	shapes := documentedShapes(t)
	dir := t.TempDir()
	cfg := testConfig(t, dir, "a", "b", 1, 2)
	lun := agenttest.NewLUN("naa.600140500000000000000000000000aa")
	ka, kb := agenttest.Key(7, 1), agenttest.Key(7, 2)
	peer := &agenttest.Disk{LUN: lun, Name: "lun0", Own: kb, Peer: ka}
	if err := peer.Register(context.Background()); err != nil {
		t.Fatal(err)
	}
	var hb agent.HeartbeatStatus
	hb.State, hb.PortOpen, hb.Path, hb.Cable = serialhb.StateAlive, true, "/dev/ttyS0", serialhb.CableOK
	hb.Since = time.Now()
	hb.Timers = serialhb.Timers{Keepalive: 100 * time.Millisecond, Warntime: 500 * time.Millisecond, Deadtime: time.Second, Initdead: 2 * time.Second}
	model := "ServeRAID-4H"
	n := startNode(t, cfg, agent.Deps{
		Disks:     []agent.Disk{&agenttest.Disk{LUN: lun, Name: "lun0", Own: ka, Peer: kb}},
		Heartbeat: testedHeartbeat{agenttest.Static[agent.HeartbeatStatus]{V: hb}},
		NICs: agenttest.Static[agent.NICStatus]{V: agent.NICStatus{
			Status: &nic.Status{Link: nic.Link{Name: "eth1", Carrier: nic.CarrierUp, OperState: nic.OperUp}},
			Probe:  &nic.ProbeResult{Interface: "eth1", Peer: netip.MustParseAddr("192.0.2.2"), State: nic.ProbeReachable, RTT: time.Millisecond, Sent: 1, Received: 1},
		}},
		RAID: agenttest.Static[*agent.RAIDStatus]{V: &raidctl.System{Tool: raidctl.ToolIpssend, Controllers: []raidctl.Controller{{ID: "1", Vendor: "IBM", Model: &model}}}},
	})
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", n.cfg.API.Socket)
	}}}
	call := func(method, path, body string) (int, []byte) {
		t.Helper()
		req, err := http.NewRequest(method, "http://hwagent"+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, b
	}
	waitFor(t, "the disk read", func() bool {
		st, err := n.client.Status(context.Background())
		return err == nil && len(st.Disks) == 1
	})
	served := map[string]bool{}
	for _, c := range []struct{ method, path, body string }{
		{"GET", agent.PathStatus, ""},
		{"GET", agent.PathPing, ""},
		{"GET", agent.PathHeartbeat, ""},
		{"GET", agent.PathNICs, ""},
		{"GET", agent.PathRAID, ""},
		{"GET", agent.PathDisks, ""},
		{"POST", agent.PathRegister, ""},
		{"POST", agent.PathAcquire, ""},
		{"POST", agent.PathRelease, ""},
		{"POST", agent.PathFence, `{"node":"b"}`},
		{"POST", agent.PathUnfence, ""},
		{"POST", agent.PathCableTest, "{}"},
		{"POST", agent.PathBlocksRead, `{"device":"lun0","lba":0,"blocks":1}`},
		{"POST", agent.PathBlocksWrite, `{"device":"lun0","lba":0,"blocks":1}`},
	} {
		name := c.method + " " + c.path
		served[name] = true
		code, body := call(c.method, c.path, c.body)
		t.Logf("%s: HTTP %d %s", name, code, body)
		shape, ok := shapes[name]
		if code/100 != 2 && !strings.Contains(name, "/blocks/") {
			t.Errorf("%s: HTTP %d: %s", name, code, body)
		}
		if code/100 != 2 {
			name, shape, ok = name+" (an error)", shapes["error"], true
		}
		if !ok {
			t.Errorf("%s: not in docs/API.md's table", name)
			continue
		}
		checkShape(t, name, shape, body)
	}
	// A stream: each line a document of its own.
	served["GET "+agent.PathEvents] = true
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", "http://hwagent"+agent.PathEvents+"?since=0", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(resp.Body)
	lines := 0
	for lines < 3 && sc.Scan() {
		lines++
		t.Logf("events: %s", sc.Bytes())
		checkShape(t, "GET "+agent.PathEvents+" line", shapes["GET "+agent.PathEvents], sc.Bytes())
	}
	resp.Body.Close()
	if lines == 0 {
		t.Errorf("events: no line: %v", sc.Err())
	}
	// A refused call answers in the error shape.
	code, body := call("GET", agent.PathEvents+"?since=x", "")
	if code != http.StatusBadRequest {
		t.Errorf("events?since=x: HTTP %d: %s", code, body)
	}
	checkShape(t, "GET /v1/events?since=x (an error)", shapes["error"], body)
	for name := range shapes {
		if name != "error" && !served[name] {
			t.Errorf("docs/API.md lists %s, which this test does not call (or the agent no longer serves)", name)
		}
	}
}

// The client reads the answers of an agent of before the schema too (a
// rolling upgrade: the new binaries, the old agent still running): bare
// lists, nanosecond local times, zero times.
func TestClientReadsOldAnswers(t *testing.T) {
	dir := t.TempDir()
	sock := dir + "/old.sock"
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	old := map[string]string{
		agent.PathDisks:     `[{"device":"lun0","own_key":"0x700000001","registered":true,"owner":true,"holder":"0x700000001","as_of":"2026-12-03T13:04:05.123456789+01:00"}]`,
		agent.PathHeartbeat: `{"state":"alive","last_heard":"0001-01-01T00:00:00Z","path":"/dev/ttyS0","port_open":true}`,
		agent.PathStatus:    `{"node":"a","peer":"b","started":"2026-12-03T13:04:05.123456789+01:00","heartbeat":[{"member":"c","status":{"state":"dead"}}]}`,
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, old[r.URL.Path])
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	c := agent.NewClient(sock)
	ctx := context.Background()
	ds, err := c.Disks(ctx)
	if err != nil || len(ds) != 1 || !ds[0].Owner || ds[0].Holder != "0x700000001" || ds[0].AsOf.IsZero() {
		t.Errorf("old disks: %+v %v", ds, err)
	}
	h, err := c.Heartbeat(ctx)
	if err != nil || h.State != serialhb.StateAlive || !h.LastHeard.IsZero() || h.Path != "/dev/ttyS0" {
		t.Errorf("old heartbeat: %+v %v", h, err)
	}
	st, err := c.Status(ctx)
	if err != nil || st.Node != "a" || st.Started.IsZero() {
		t.Errorf("old status: %+v %v", st, err)
	}
}
