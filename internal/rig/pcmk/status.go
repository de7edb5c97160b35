package pcmk

import (
	"encoding/xml"
	"fmt"
)

// Status is what `crm_mon --output-as=xml` reports, in the parts tests use.
type Status struct {
	Nodes     []NodeStatus     `xml:"nodes>node"`
	Resources []ResourceStatus `xml:"resources>resource"`
	// Fences is crm_mon's fence history.
	Fences []FenceEvent `xml:"fence_history>fence_event"`
	// Failures are crm_mon's failed resource actions.
	Failures []Failure `xml:"failures>failure"`
	// History is crm_mon's node history: each resource's fail count per
	// node.
	History []struct {
		Name      string `xml:"name,attr"`
		Resources []struct {
			ID        string `xml:"id,attr"`
			FailCount string `xml:"fail-count,attr"`
		} `xml:"resource_history"`
	} `xml:"node_history>node"`
	// Groups' members are listed in Resources too (ParseStatus).
	Groups []struct {
		ID        string           `xml:"id,attr"`
		Resources []ResourceStatus `xml:"resource"`
	} `xml:"resources>group"`
	// Summary is crm_mon's summary: the DC and whether its partition has
	// quorum.
	Summary struct {
		DC struct {
			Present bool   `xml:"present,attr"`
			Name    string `xml:"name,attr"`
			Quorum  bool   `xml:"with_quorum,attr"`
		} `xml:"current_dc"`
	} `xml:"summary"`
}

// Quorate reports whether this node's partition has a DC and quorum.
func (s Status) Quorate() bool { return s.Summary.DC.Present && s.Summary.DC.Quorum }

// NodeStatus is one <node> of crm_mon.
type NodeStatus struct {
	Name    string `xml:"name,attr"`
	Online  bool   `xml:"online,attr"`
	Unclean bool   `xml:"unclean,attr"`
	DC      bool   `xml:"is_dc,attr"`
}

// ResourceStatus is one <resource> of crm_mon.
type ResourceStatus struct {
	ID     string `xml:"id,attr"`
	Agent  string `xml:"resource_agent,attr"`
	Role   string `xml:"role,attr"`
	Failed bool   `xml:"failed,attr"`
	Nodes  []struct {
		Name string `xml:"name,attr"`
	} `xml:"node"`
}

// Failure is one failed resource action (<failure> of crm_mon).
type Failure struct {
	OpKey      string `xml:"op_key,attr"`
	Node       string `xml:"node,attr"`
	ExitStatus string `xml:"exitstatus,attr"`
	ExitReason string `xml:"exitreason,attr"`
	Task       string `xml:"task,attr"`
}

// FailCounts lists "resource@node=count" for every non-zero fail count.
func (s Status) FailCounts() []string {
	var out []string
	for _, n := range s.History {
		for _, r := range n.Resources {
			if r.FailCount != "" && r.FailCount != "0" {
				out = append(out, r.ID+"@"+n.Name+"="+r.FailCount)
			}
		}
	}
	return out
}

// FenceEvent is one <fence_event> of crm_mon's fence history.
type FenceEvent struct {
	Action    string `xml:"action,attr"`
	Target    string `xml:"target,attr"`
	Status    string `xml:"status,attr"`
	Delegate  string `xml:"delegate,attr"`
	Completed string `xml:"completed,attr"`
}

// FencedOff reports whether the fence history shows a successful off or
// reboot of target (unfencing "on" events do not count).
func (s Status) FencedOff(target string) bool {
	for _, f := range s.Fences {
		if f.Target == target && f.Status == "success" && (f.Action == "off" || f.Action == "reboot") {
			return true
		}
	}
	return false
}

// ParseStatus decodes crm_mon's XML output.
func ParseStatus(b []byte) (Status, error) {
	var s Status
	if err := xml.Unmarshal(b, &s); err != nil {
		return Status{}, fmt.Errorf("pcmk: crm_mon XML: %w", err)
	}
	for _, g := range s.Groups {
		s.Resources = append(s.Resources, g.Resources...)
	}
	return s, nil
}

// Online reports whether node name is online.
func (s Status) Online(name string) bool {
	for _, n := range s.Nodes {
		if n.Name == name {
			return n.Online && !n.Unclean
		}
	}
	return false
}

// RunningOn returns the node a started resource runs on, or "".
func (s Status) RunningOn(id string) string {
	for _, r := range s.Resources {
		if r.ID == id && r.Role == "Started" && !r.Failed && len(r.Nodes) == 1 {
			return r.Nodes[0].Name
		}
	}
	return ""
}
