package agent

import (
	"context"
	"encoding/json"
	"time"
)

// NICCache is implemented by a NIC component that keeps what it already
// knows: the link as its netlink watcher last saw it and its last probe
// of the peer (or of every member's address). CachedNIC does no I/O; a
// probe older than maxAge is left out (unknown), and so is the link when
// the watcher does not run. The disk heartbeat's path view reads it, so
// that its periodic refresh sends no echo of its own.
type NICCache interface {
	CachedNIC(maxAge time.Duration) NICStatus
}

// nicProbeMaxAge is how old a NIC probe the disk heartbeat's path view
// still writes as this node's view of the NIC path; an older one (no
// status call probed since) is written as unknown.
const nicProbeMaxAge = 30 * time.Second

// Path views: a path is Up or Down only when its component says so;
// anything else (not configured, an error, a state this code does not
// know) is "", unknown, never down.
const (
	PathUp   = "up"
	PathDown = "down"
)

// Paths is this node's view of the peer on each heartbeat path.
type Paths struct {
	// Serial: the peer is heard on the serial cable (alive or late: up;
	// dead: down).
	Serial string
	// NICCarrier is the heartbeat NIC's carrier; NICPeer whether the peer
	// answers on it (reachable: up; peer-silent or no-link: down).
	NICCarrier, NICPeer string
}

// PathsOf reads the path views from a status's component JSON.
func PathsOf(st Status) Paths {
	var p Paths
	var hb struct {
		State string `json:"state"`
	}
	if len(st.Heartbeat) > 0 && json.Unmarshal(st.Heartbeat, &hb) == nil {
		switch hb.State {
		case "alive", "warn":
			p.Serial = PathUp
		case "dead":
			p.Serial = PathDown
		}
	}
	var n struct {
		Status *struct {
			Carrier string `json:"carrier"`
		} `json:"status"`
		Probe *struct {
			State string `json:"state"`
		} `json:"probe"`
	}
	if len(st.NICs) > 0 && json.Unmarshal(st.NICs, &n) == nil {
		if n.Status != nil {
			switch n.Status.Carrier {
			case "up":
				p.NICCarrier = PathUp
			case "down":
				p.NICCarrier = PathDown
			}
		}
		if n.Probe != nil {
			switch n.Probe.State {
			case "reachable":
				p.NICPeer = PathUp
			case "peer-silent", "no-link":
				p.NICPeer = PathDown
			}
		}
	}
	return p
}

// cachedNICs is the NIC component's status JSON as it already knows it
// (NICCache), with no probe of its own; a NIC component without a cache
// is asked for its status.
func (a *Agent) cachedNICs(ctx context.Context) json.RawMessage {
	c, ok := a.deps.NICs.(NICCache)
	if !ok {
		return componentJSON(ctx, a.deps.NICs)
	}
	b, err := json.Marshal(c.CachedNIC(nicProbeMaxAge))
	if err != nil {
		return json.RawMessage("null")
	}
	return b
}
