//go:build linux

package main

import (
	"testing"
	"time"
)

func TestParseHBSettings(t *testing.T) {
	got, err := parseHBSettings(defaultHBSettings)
	if err != nil || len(got) != 2 || got[0].keepalive != time.Second || got[0].deadtime != 10*time.Second ||
		got[1].name != "100ms/500ms" || got[1].warntime() != 250*time.Millisecond || got[1].initdead() != time.Second {
		t.Fatalf("%+v %v", got, err)
	}
	for _, bad := range []string{"", "1s", "1s/2s", "x/10s", "100ms/abc", "0s/1s"} {
		if _, err := parseHBSettings(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestClassifiers(t *testing.T) {
	hb := heartbeatState("hakit-cmp-b")
	cases := []struct {
		name, line, want string
		fn               func(string) string
	}{
		{"hakit dead", `{"schema_version":1,"kind":"state","from":"warn","to":"dead","peer":2}`, "dead", hakitState},
		{"hakit alive", `{"kind":"state","from":"dead","to":"alive"}`, "alive", hakitState},
		{"hakit warn", `{"kind":"state","from":"alive","to":"warn"}`, "", hakitState},
		{"hakit restart", `{"kind":"restart","to":"alive"}`, "", hakitState},
		{"hakit status document", `{"schema_version":1,"state":"alive"}`, "", hakitState},
		{"hakit text", "node 1 on /dev/pts/3", "", hakitState},
		{"heartbeat dead", "Dec 03 14:49:18 hakit-cmp-a heartbeat: [329]: WARN: node hakit-cmp-b: is dead", "dead", hb},
		{"heartbeat link up", "Dec 03 14:49:15 hakit-cmp-a heartbeat: [329]: info: Link hakit-cmp-b:/tmp/x/ttyA up.", "alive", hb},
		{"heartbeat link dead", "Dec 03 14:49:18 hakit-cmp-a heartbeat: [329]: info: Link hakit-cmp-b:/tmp/x/ttyA dead.", "", hb},
		{"heartbeat status up", "info: Status update for node hakit-cmp-b: status up", "alive", hb},
		{"heartbeat status active", "info: Status update for node hakit-cmp-b: status active", "alive", hb},
		{"heartbeat other node", "WARN: node hakit-cmp-a: is dead", "", hb},
		{"heartbeat late", "CRIT: Late heartbeat: Node hakit-cmp-b: interval 2810 ms (> deadtime)", "", hb},
		{"knet down", "Dec 03 15:04:01 info    [KNET  ] link: host: 2 link: 0 is down", "dead", knetState},
		{"knet up", "Dec 03 15:03:59 info    [KNET  ] rx: host: 2 link: 0 is up", "alive", knetState},
		{"knet no links", "warning [KNET  ] host: host: 2 has no active links", "", knetState},
	}
	for _, c := range cases {
		if got := c.fn(c.line); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
