package cli

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hakit/hakit/agent"
)

func TestStatusLines(t *testing.T) {
	for _, tt := range []struct {
		name string
		line func(json.RawMessage) (string, error)
		raw  string
		want string
	}{
		{"serial alive", serialLine, `{"state":"alive","last_heard":"2026-12-02T10:00:00Z","silence_ns":80000000,"max_silence_ns":210000000,"path":"/dev/ttyS1","port_open":true,"realtime":1}`, "peer ALIVE on /dev/ttyS1 (last heard 80ms ago, longest silence 210ms), real-time priority 1"},
		{"serial never heard", serialLine, `{"state":"initdead","last_heard":"0001-01-01T00:00:00Z","path":"/dev/ttyS1","port_open":true,"realtime":0}`, "peer INITDEAD on /dev/ttyS1 (never heard), normal priority"},
		{"serial port closed", serialLine, `{"state":"dead","path":"/dev/ttyUSB0","port_open":false,"port_err":"no such file or directory"}`, "port /dev/ttyUSB0 NOT OPEN: no such file or directory (peer dead)"},
		{"nic reachable", nicLine, `{"status":{"name":"eth1","carrier":"up","operstate":"up"},"probe":{"peer":"169.254.1.2","state":"reachable","rtt_ns":54000}}`, "eth1 carrier up, operstate up; peer 169.254.1.2 answers in 54µs"},
		{"nic unplugged", nicLine, `{"status":{"name":"eth1","carrier":"down","operstate":"down"},"probe":{"peer":"169.254.1.2","state":"no-link"}}`, "eth1 carrier down, operstate down; peer 169.254.1.2 NO-LINK"},
		{"nic unreadable", nicLine, `{"status":null,"probe":null,"error":"netlink: no such interface"}`, "UNREADABLE: netlink: no such interface"},
		{"raid", raidLine, `{"tool":"storcli","controllers":[{"vendor":"Broadcom","model":"9361-8i","status":"Optimal","logical_drives":[{},{}]}],"warnings":["a","b"]}`, "storcli: Broadcom 9361-8i (Optimal, 2 logical drives); 2 warning(s): hwagent raid"},
		{"raid unknown model", raidLine, `{"tool":"arcconf","controllers":[{"vendor":"Adaptec"}]}`, "arcconf: Adaptec model unknown (status unknown, 0 logical drives)"},
	} {
		got, err := tt.line(json.RawMessage(tt.raw))
		if err != nil || got != tt.want {
			t.Errorf("%s: %q, %v\n want %q", tt.name, got, err, tt.want)
		}
	}
	if got := component(json.RawMessage(`[1]`), serialLine); !strings.HasPrefix(got, "status not understood") || !strings.Contains(got, "[1]") {
		t.Errorf("garbage: %q", got)
	}
	if got := component(json.RawMessage(`{}`), serialLine); !strings.HasPrefix(got, "status not understood") {
		t.Errorf("no state: %q, want it not understood (not a state)", got)
	}
	if got := component(nil, serialLine); got != "not configured" {
		t.Errorf("absent: %q", got)
	}
}

func TestDiskLine(t *testing.T) {
	for _, tt := range []struct {
		d    agent.DiskStatus
		want string
	}{
		{agent.DiskStatus{OwnKey: "0x1", PeerKey: "0x2", Holder: "0x1", Owner: true, Registered: true, PeerRegistered: true}, "held by this node; this node's key 0x1 registered yes, the peer's yes"},
		{agent.DiskStatus{OwnKey: "0x1", PeerKey: "0x2", Holder: "0x2", PeerRegistered: true}, "held by the peer; this node's key 0x1 registered no, the peer's yes"},
		{agent.DiskStatus{OwnKey: "0x1", PeerKey: "0x2", Registered: true}, "free (no reservation); this node's key 0x1 registered yes, the peer's no"},
		{agent.DiskStatus{OwnKey: "0x1", PeerKey: "0x2", Holder: "0x9"}, "held by key 0x9 (neither node's); this node's key 0x1 registered no, the peer's no"},
		{agent.DiskStatus{Error: "NOT READY"}, "UNREADABLE: NOT READY (ownership unknown)"},
		{agent.DiskStatus{OwnKey: "0x1", Latched: "re-register unconfirmed"}, "LATCHED fenced (re-register unconfirmed); this node's key 0x1 registered no, the peer's no"},
		{agent.DiskStatus{Mode: agent.ModeSCSI2, Holder: "other", PeerRegistered: true}, "held by the peer (scsi2 mode)"},
	} {
		if got := diskLine(tt.d); got != tt.want {
			t.Errorf("%+v:\n got %q\nwant %q", tt.d, got, tt.want)
		}
	}
}

func TestDiskPathLine(t *testing.T) {
	changed := time.Now().Add(-3 * time.Second)
	hb := func(err string, peers ...agent.DiskPeer) *agent.DiskHeartbeat {
		return &agent.DiskHeartbeat{Device: "/dev/sdc", IntervalMS: 500, DeadAfterMS: 2000, Error: err, Peers: peers}
	}
	for _, tt := range []struct {
		name string
		h    *agent.DiskHeartbeat
		want string
	}{
		{"off", nil, "not configured (sbd.device)"},
		{"no block yet", hb(""), "b UNKNOWN (no block of it read yet), every 500 ms on /dev/sdc"},
		{"alive", hb("", agent.DiskPeer{Name: "b", State: "alive", Serial: "up", NIC: "down"}), "b ALIVE (its view: serial up, nic down), every 500 ms on /dev/sdc"},
		{"dead", hb("", agent.DiskPeer{Name: "b", State: "dead", Changed: &changed}), "b DEAD (block still for 3s), every 500 ms on /dev/sdc"},
		{"read error", hb("read: i/o error", agent.DiskPeer{Name: "b", State: "unknown"}), "b UNKNOWN, every 500 ms on /dev/sdc: read: i/o error"},
	} {
		if got := diskPathLine(tt.h, "b"); got != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, tt.want)
		}
	}
}

// With more than two members the summary has one line per member and
// points to the member lines for the serial cables.
func TestStatusMembers(t *testing.T) {
	st := agent.Status{Node: "m1", NodeID: 1, Started: time.Now(), Heartbeat: json.RawMessage(`[{"member":"m2","status":{}}]`), Members: []agent.MemberStatus{
		{Name: "m1", ID: 1, Self: true, Key: "0x1", Registered: true, Holder: []string{"/dev/sdb"}},
		{Name: "m2", ID: 2, Key: "0x2", Registered: true, Serial: "alive", NIC: "reachable"},
		{Name: "m3", ID: 3, Key: "0x3", Fenced: true, Disk: "dead"},
	}}
	var b strings.Builder
	writeStatus(&b, st)
	for _, want := range []string{
		"member     m1 (id 1) this node: registered (key 0x1), holds /dev/sdb\n",
		"member     m2 (id 2): registered (key 0x2), serial alive, nic reachable\n",
		"member     m3 (id 3): FENCED (key 0x3), disk path dead\n",
		"serial     one cable per member",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, b.String())
		}
	}
	if strings.Contains(b.String(), "peer       ") {
		t.Errorf("a single peer line with three members:\n%s", b.String())
	}
}
