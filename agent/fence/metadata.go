package fence

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// Metadata is the agent's description in the fence-agent metadata form.
type Metadata struct {
	XMLName    xml.Name        `xml:"resource-agent"`
	Name       string          `xml:"name,attr"`
	ShortDesc  string          `xml:"shortdesc,attr"`
	LongDesc   string          `xml:"longdesc"`
	VendorURL  string          `xml:"vendor-url"`
	Parameters []MetaParameter `xml:"parameters>parameter"`
	Actions    []MetaAction    `xml:"actions>action"`
}

// MetaParameter is one <parameter>.
type MetaParameter struct {
	Name       string `xml:"name,attr"`
	Unique     string `xml:"unique,attr"`
	Required   string `xml:"required,attr"`
	Deprecated string `xml:"deprecated,attr,omitempty"`
	Obsoletes  string `xml:"obsoletes,attr,omitempty"`
	Getopt     struct {
		Mixed string `xml:"mixed,attr"`
	} `xml:"getopt"`
	Content struct {
		Type    string `xml:"type,attr"`
		Default string `xml:"default,attr,omitempty"`
	} `xml:"content"`
	ShortDesc struct {
		Lang string `xml:"lang,attr"`
		Text string `xml:",chardata"`
	} `xml:"shortdesc"`
}

// MetaAction is one <action>.
type MetaAction struct {
	Name      string `xml:"name,attr"`
	OnTarget  string `xml:"on_target,attr,omitempty"`
	Automatic string `xml:"automatic,attr,omitempty"`
}

const (
	agentName = "fence_hwagent"
	shortDesc = "Fence agent for hakit shared disks (SCSI-3 persistent reservations)"
	longDesc  = "fence_hwagent fences a node of a hakit cluster (a pair, or up to 16 members on one shared array) by removing its SCSI-3 persistent reservation key from the shared disks (PREEMPT AND ABORT, or PREEMPT where the target refuses it), through the local hwagent, and verifies by reading the keys back. The node itself registers again with the on action (unfencing, run on the target). Keys follow from the cluster id and node ids of the hwagent configuration. A fence delay of priority x fence.delay_step_ms (plus delay=) lets the preferred node (priority 0) win a fence race; Pacemaker does not see it, so off and validate-all refuse a delay that with power_timeout exceeds stonith_timeout (60 s, Pacemaker's default stonith-timeout). The delay is skipped, never the fence, when the local hwagent's disk heartbeat (sbd.device) says the victim is dead on the disk path. key=, when given, must be this node's key. verbose=1 logs each step to stderr."
)

// getopt renders "-o, --action=[action]".
func getopt(p Param) string {
	var parts []string
	if p.Short != "" {
		parts = append(parts, "-"+p.Short)
	}
	if p.Long != "" {
		l := "--" + p.Long
		if p.Value != "" {
			l += "=[" + p.Value + "]"
		}
		parts = append(parts, l)
	}
	return strings.Join(parts, ", ")
}

func boolAttr(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// BuildMetadata describes params and actions.
func BuildMetadata() Metadata {
	m := Metadata{Name: agentName, ShortDesc: shortDesc, LongDesc: longDesc, VendorURL: "https://github.com/hakit/hakit"}
	for _, p := range params {
		mp := MetaParameter{Name: p.Name, Unique: "0", Required: boolAttr(p.Name == "action" || p.Name == "plug")}
		mp.Getopt.Mixed = getopt(p)
		mp.Content.Type, mp.Content.Default = p.Type, p.Default
		mp.ShortDesc.Lang, mp.ShortDesc.Text = "en", p.Desc
		if p.Name == "plug" {
			mp.Obsoletes = "port"
		}
		m.Parameters = append(m.Parameters, mp)
		if p.Name == "plug" {
			dep := mp
			dep.Name, dep.Deprecated, dep.Obsoletes, dep.Required = "port", "1", "", "0"
			m.Parameters = append(m.Parameters, dep)
		}
	}
	for _, a := range actions {
		ma := MetaAction{Name: a}
		if a == "on" {
			ma.OnTarget, ma.Automatic = "1", "1"
		}
		m.Actions = append(m.Actions, ma)
	}
	return m
}

// WriteMetadata writes the XML document.
func WriteMetadata(w io.Writer) error {
	b, err := xml.MarshalIndent(BuildMetadata(), "", "\t")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s%s\n", `<?xml version="1.0" ?>`+"\n", b)
	return err
}

// WriteManpage writes a plain-text manual.
func WriteManpage(w io.Writer) error {
	fmt.Fprintf(w, "%s(8)\n\nNAME\n    %s - %s\n\nDESCRIPTION\n    %s\n\nOPTIONS\n", agentName, agentName, shortDesc, longDesc)
	for _, p := range params {
		fmt.Fprintf(w, "    %-32s %s", getopt(p), p.Desc)
		if p.Default != "" {
			fmt.Fprintf(w, " (default %s)", p.Default)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "\nACTIONS\n    %s\n\nSTDIN\n    One name=value per line (names as in the metadata, port = plug); # starts a comment; the last value wins; unknown names are ignored with a warning on stderr; nodename names the node to act on when plug is not given.\n\nEXIT STATUS\n    0 success (status: on), 1 error, 2 status: off.\n", strings.Join(actions, ", "))
	return nil
}
