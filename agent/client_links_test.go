package agent

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"testing"
)

// GET /v1/heartbeat is one status on a pair's node and a list of cables
// on a node with a cable per neighbour: the client reads both.
func TestClientHeartbeatLinks(t *testing.T) {
	for _, tt := range []struct {
		name, body string
		members    []string
		state      string
	}{
		{"pair", `{"state":"alive"}`, []string{""}, "alive"},
		{"ring", `[{"member":"node-b","status":{"state":"dead"}},{"member":"node-d","status":{"state":"alive"}}]`, []string{"node-b", "node-d"}, "dead"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sock := filepath.Join(t.TempDir(), "api.sock")
			l, err := net.Listen("unix", sock)
			if err != nil {
				t.Fatal(err)
			}
			srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != PathHeartbeat {
					http.NotFound(w, r)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(tt.body))
			})}
			go func() { _ = srv.Serve(l) }()
			t.Cleanup(func() { _ = srv.Close() })
			c := NewClient(sock)
			links, err := c.HeartbeatLinks(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range links {
				got = append(got, l.Member)
			}
			if len(got) != len(tt.members) || got[0] != tt.members[0] || got[len(got)-1] != tt.members[len(tt.members)-1] {
				t.Errorf("members %q, want %q", got, tt.members)
			}
			st, err := c.Heartbeat(context.Background())
			if err != nil || st.State.String() != tt.state {
				t.Errorf("Heartbeat = %v, %v; want the first cable's state %s", st.State, err, tt.state)
			}
		})
	}
}
