package agent

import "encoding/json"

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
