package nic

import (
	"net/netip"
	"time"
)

// Config says where the functions of this package look. The zero value means
// the caller's own network namespace.
type Config struct {
	// NetNS is a network namespace: a name under /run/netns (as made by
	// `ip netns add`) or a path (/run/netns/NAME, /proc/PID/ns/net). ""
	// is the caller's namespace. Entering another namespace needs
	// CAP_SYS_ADMIN.
	NetNS string
}

// OperState is the RFC 2863 operational state of a link, named as in
// /sys/class/net/IF/operstate.
type OperState string

// Operational states.
const (
	OperUnknown        OperState = "unknown"
	OperNotPresent     OperState = "notpresent"
	OperDown           OperState = "down"
	OperLowerLayerDown OperState = "lowerlayerdown"
	OperTesting        OperState = "testing"
	OperDormant        OperState = "dormant"
	OperUp             OperState = "up"
)

// OperStateFromKernel names the kernel's IF_OPER_* value (linux/if.h);
// values it does not know are OperUnknown.
func OperStateFromKernel(v uint8) OperState {
	switch v {
	case 1:
		return OperNotPresent
	case 2:
		return OperDown
	case 3:
		return OperLowerLayerDown
	case 4:
		return OperTesting
	case 5:
		return OperDormant
	case 6:
		return OperUp
	}
	return OperUnknown
}

// Carrier is the physical link state (IFF_LOWER_UP). It is unknown while the
// interface is administratively down, because the kernel then does not
// report it.
type Carrier string

// Carrier states.
const (
	CarrierUnknown Carrier = "unknown"
	CarrierDown    Carrier = "down"
	CarrierUp      Carrier = "up"
)

// Duplex is the duplex mode ethtool reports.
type Duplex string

// Duplex modes.
const (
	DuplexUnknown Duplex = "unknown"
	DuplexHalf    Duplex = "half"
	DuplexFull    Duplex = "full"
)

// Autoneg is the auto-negotiation setting ethtool reports.
type Autoneg string

// Auto-negotiation settings.
const (
	AutonegUnknown Autoneg = "unknown"
	AutonegOff     Autoneg = "off"
	AutonegOn      Autoneg = "on"
)

// Link is the part of an interface's state that link events carry. It is
// comparable, so two snapshots can be diffed field by field.
type Link struct {
	Index     int       `json:"index"`
	Name      string    `json:"name"`
	Kind      string    `json:"kind"` // "veth", "bond", "device" (a plain NIC), ...
	AdminUp   bool      `json:"admin_up"`
	Carrier   Carrier   `json:"carrier"`
	OperState OperState `json:"operstate"`
	MTU       int       `json:"mtu"`
	MAC       string    `json:"mac,omitempty"`
	// MasterIndex is the index of the bond, team or bridge this link is a
	// member of; 0 when it is not a member.
	MasterIndex int `json:"master_index,omitempty"`
}

// Status is everything Status reports about one interface. Pointer fields
// are nil when the kernel or driver did not report the value (unknown, not
// zero); string fields are "" when not reported.
type Status struct {
	Link
	// NetNS is the namespace path the interface was read in ("" = the
	// caller's).
	NetNS            string  `json:"netns,omitempty"`
	SpeedMbps        *int    `json:"speed_mbps"`
	Duplex           Duplex  `json:"duplex"`
	Autoneg          Autoneg `json:"autoneg"`
	Driver           string  `json:"driver,omitempty"`
	DriverVersion    string  `json:"driver_version,omitempty"`
	FirmwareVersion  string  `json:"firmware_version,omitempty"`
	BusInfo          string  `json:"bus_info,omitempty"`
	CarrierChanges   *uint32 `json:"carrier_changes"`
	CarrierUpCount   *uint32 `json:"carrier_up_count"`
	CarrierDownCount *uint32 `json:"carrier_down_count"`
	// Master is set when this interface is a member of a bond, team or
	// bridge.
	Master *Membership `json:"master,omitempty"`
	// Members lists the members when this interface is a bond, team or
	// bridge.
	Members []Membership `json:"members,omitempty"`
}

// Membership is one member of an aggregate (bond, team or bridge) and the
// member's state.
type Membership struct {
	Master        string    `json:"master"`
	MasterKind    string    `json:"master_kind"`
	Member        string    `json:"member"`
	MemberCarrier Carrier   `json:"member_carrier"`
	MemberOper    OperState `json:"member_operstate"`
	// BondState is "active" or "backup" for a bond member, "" otherwise.
	BondState string `json:"bond_state,omitempty"`
	// MIIStatus is the bond's view of the member's link ("up", "down",
	// "going-down", "going-back"), "" when not a bond member.
	MIIStatus string `json:"mii_status,omitempty"`
	// LinkFailures counts the bond member's link failures; nil when not
	// reported.
	LinkFailures *uint32 `json:"link_failures,omitempty"`
}

// ProbeState is the outcome of a peer probe.
type ProbeState string

// Probe outcomes.
const (
	// ProbeNoLink: the interface is administratively down or has no
	// carrier; nothing was sent.
	ProbeNoLink ProbeState = "no-link"
	// ProbePeerSilent: the link is up but the peer did not answer (no echo
	// reply, or its address did not resolve).
	ProbePeerSilent ProbeState = "peer-silent"
	// ProbeReachable: the peer answered.
	ProbeReachable ProbeState = "reachable"
)

// ProbeResult is what Probe found.
type ProbeResult struct {
	Interface string     `json:"interface"`
	Peer      netip.Addr `json:"peer"`
	State     ProbeState `json:"state"`
	// RTT is the round trip of the first answered echo; 0 unless reachable.
	RTT      time.Duration `json:"rtt_ns"`
	Sent     int           `json:"sent"`
	Received int           `json:"received"`
	// Carrier and OperState are the link's state when the probe started.
	Carrier   Carrier   `json:"carrier"`
	OperState OperState `json:"operstate"`
}

// NIC is one network interface in the inventory.
type NIC struct {
	Name       string    `json:"name"`
	MAC        string    `json:"mac,omitempty"`
	Virtual    bool      `json:"virtual"`
	PCIAddress string    `json:"pci_address,omitempty"`
	Vendor     string    `json:"vendor,omitempty"`
	Product    string    `json:"product,omitempty"`
	Driver     string    `json:"driver,omitempty"`
	Carrier    Carrier   `json:"carrier"`
	OperState  OperState `json:"operstate"`
	SpeedMbps  *int      `json:"speed_mbps"`
	Duplex     Duplex    `json:"duplex"`
}

// speedUnknown is SPEED_UNKNOWN (-1 as a u32) from linux/ethtool.h.
const speedUnknown = 0xffffffff
