package agent

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const fourPeers = `node: {name: node-a, id: 1}
cluster: {id: 7}
peers:
  - name: node-b
    id: 2
    socket: /run/hakit-b/api.sock
    serial_port: /dev/ttyS1
    address: 169.254.0.2
  - name: node-c
    id: 3
    serial_port: /dev/ttyS2
    address: 169.254.0.3
  - {name: node-d, id: 4, address: 169.254.0.4}
serial: {key_file: /etc/hakit/hb.key}
nic: {interface: eth1}
`

func TestParseConfigPeers(t *testing.T) {
	c, err := ParseConfig("", []byte(fourPeers))
	if err != nil {
		t.Fatal(err)
	}
	want := []Member{
		{Name: "node-a", ID: 1, Self: true},
		{Name: "node-b", ID: 2, Socket: "/run/hakit-b/api.sock", SerialPort: "/dev/ttyS1", Address: "169.254.0.2"},
		{Name: "node-c", ID: 3, SerialPort: "/dev/ttyS2", Address: "169.254.0.3"},
		{Name: "node-d", ID: 4, Address: "169.254.0.4"},
	}
	if diff := cmp.Diff(want, c.Members()); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}
	links := c.SerialLinks()
	if len(links) != 2 || links[0].Port != "/dev/ttyS1" || links[0].Peer.ID != 2 || links[1].Port != "/dev/ttyS2" || links[1].Peer.ID != 3 {
		t.Errorf("serial links %+v", links)
	}
	if c.Serial.Baud != DefaultBaud {
		t.Errorf("baud %d, want the default with per-member links", c.Serial.Baud)
	}
	if c.Peer.Name != "node-b" {
		t.Errorf("Peer = %+v, want the first member", c.Peer)
	}
	for _, q := range []string{"node-c", "3"} {
		if m, ok := c.Member(q); !ok || m.Name != "node-c" {
			t.Errorf("Member(%q) = %+v, %v", q, m, ok)
		}
	}
	if _, ok := c.Member("node-e"); ok {
		t.Error("Member(node-e) found")
	}
}

// The pair form and a one-element peers list are the same members.
func TestParseConfigPairForms(t *testing.T) {
	pair := "node: {name: a, id: 1}\npeer: {name: b, id: 2, socket: /s}\ncluster: {id: 7}\nserial: {port: /dev/ttyS0, key_file: /k}\nnic: {interface: eth1, peer_address: 10.0.0.2}\n"
	list := "node: {name: a, id: 1}\npeers:\n  - {name: b, id: 2, socket: /s, serial_port: /dev/ttyS0, address: 10.0.0.2}\ncluster: {id: 7}\nserial: {key_file: /k}\nnic: {interface: eth1}\n"
	listPairKeys := "node: {name: a, id: 1}\npeers:\n  - {name: b, id: 2, socket: /s}\ncluster: {id: 7}\nserial: {port: /dev/ttyS0, key_file: /k}\nnic: {interface: eth1, peer_address: 10.0.0.2}\n"
	var got [][]Member
	for _, y := range []string{pair, list, listPairKeys} {
		c, err := ParseConfig("", []byte(y))
		if err != nil {
			t.Fatalf("%s: %v", y, err)
		}
		got = append(got, c.Members())
		if l := c.SerialLinks(); len(l) != 1 || l[0].Port != "/dev/ttyS0" || l[0].Peer.Name != "b" {
			t.Errorf("%s: serial links %+v", y, l)
		}
	}
	for i := 1; i < len(got); i++ {
		if diff := cmp.Diff(got[0], got[i]); diff != "" {
			t.Errorf("form %d (-pair +list):\n%s", i, diff)
		}
	}
}

func peersYAML(n int) string {
	var b strings.Builder
	b.WriteString("node: {name: n1, id: 1}\ncluster: {id: 7}\npeers:\n")
	for i := 2; i <= n; i++ {
		fmt.Fprintf(&b, "  - {name: n%d, id: %d}\n", i, i)
	}
	return b.String()
}

func TestParseConfigPeersBad(t *testing.T) {
	if _, err := ParseConfig("", []byte(peersYAML(MaxMembers))); err != nil {
		t.Fatalf("%d members: %v", MaxMembers, err)
	}
	base := "node: {name: a, id: 1}\ncluster: {id: 7}\npeers:\n  - {name: b, id: 2}\n"
	for _, tt := range []struct {
		name, yaml string
		line       int
		field, msg string
	}{
		{"both forms", "node: {name: a, id: 1}\npeer: {name: b, id: 2}\ncluster: {id: 7}\npeers:\n  - {name: c, id: 3}\n", 5, "peers", "given with peer"},
		{"seventeen", peersYAML(MaxMembers + 1), 19, "peers[15]", "at most 15"},
		{"dup id", base + "  - {name: c, id: 2}\n", 5, "peers[1].id", "same id as peers[0].id"},
		{"id of node", base + "  - {name: c, id: 1}\n", 5, "peers[1].id", "same id as node.id"},
		{"dup name", base + "  - name: b\n    id: 3\n", 5, "peers[1].name", "same name as peers[0].name"},
		{"name of node", base + "  - name: a\n    id: 3\n", 5, "peers[1].name", "same name as node.name"},
		{"bad name", base + "  - name: \"c d\"\n    id: 3\n", 5, "peers[1].name", "want a node name"},
		{"id zero", base + "  - name: c\n", 5, "peers[1].id", "want 1 to 65535"},
		{"relative serial", base + "  - {name: c, id: 3, serial_port: ttyS1}\nserial: {key_file: /k}\n", 5, "peers[1].serial_port", "absolute"},
		{"serial no key", base + "  - {name: c, id: 3, serial_port: /dev/ttyS1}\n", 0, "serial.key_file", "shared key"},
		{"one tty two members", "node: {name: a, id: 1}\ncluster: {id: 7}\nserial: {key_file: /k}\npeers:\n  - {name: b, id: 2, serial_port: /dev/ttyS1}\n  - {name: c, id: 3, serial_port: /dev/ttyS1}\n", 6, "peers[1].serial_port", "already the cable to peers[0]"},
		{"serial.port with peers", base + "  - {name: c, id: 3}\nserial: {port: /dev/ttyS0, key_file: /k}\n", 6, "serial.port", "peers[].serial_port"},
		{"serial.port and serial_port", "node: {name: a, id: 1}\ncluster: {id: 7}\npeers:\n  - {name: b, id: 2, serial_port: /dev/ttyS1}\nserial: {port: /dev/ttyS0, key_file: /k}\n", 4, "peers[0].serial_port", "given with serial.port"},
		{"bad address", base + "  - {name: c, id: 3, address: 10.0.0.x}\nnic: {interface: eth1}\n", 5, "peers[1].address", "IP address"},
		{"address missing", base + "  - {name: c, id: 3, address: 10.0.0.3}\nnic: {interface: eth1}\n", 4, "peers[0].address", "every member"},
		{"address no interface", base + "  - {name: c, id: 3, address: 10.0.0.3}\n", 5, "peers[1].address", "nic.interface"},
		{"peer_address with peers", "node: {name: a, id: 1}\ncluster: {id: 7}\npeers:\n  - {name: b, id: 2, address: 10.0.0.2}\n  - {name: c, id: 3, address: 10.0.0.3}\nnic: {interface: eth1, peer_address: 10.0.0.2}\n", 6, "nic.peer_address", "pair form"},
		{"scsi2 with three", base + "  - {name: c, id: 3}\ndisks:\n  - {device: /dev/sdb, mode: scsi2}\n", 7, "disks[0].mode", "more than two members"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig("n.yaml", []byte(tt.yaml))
			var ce *ConfigError
			if !errors.As(err, &ce) || !errors.Is(err, ErrConfig) {
				t.Fatalf("err = %v, want *ConfigError", err)
			}
			if ce.Line != tt.line || ce.Field != tt.field || !strings.Contains(ce.Msg, tt.msg) {
				t.Errorf("got line %d field %q msg %q; want line %d field %q msg ~%q", ce.Line, ce.Field, ce.Msg, tt.line, tt.field, tt.msg)
			}
		})
	}
}
