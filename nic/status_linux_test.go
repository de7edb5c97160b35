package nic

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

func TestLinkFromAndMembership(t *testing.T) {
	bond := &netlink.Bond{LinkAttrs: netlink.LinkAttrs{Index: 7, Name: "bond0", RawFlags: unix.IFF_UP | unix.IFF_LOWER_UP, OperState: netlink.OperUp}}
	member := &netlink.Device{LinkAttrs: netlink.LinkAttrs{
		Index: 3, Name: "eth1", MTU: 9000, MasterIndex: 7,
		RawFlags:  unix.IFF_UP,
		OperState: netlink.OperLowerLayerDown,
		Slave:     &netlink.BondSlave{State: netlink.BondStateBackup, MiiStatus: netlink.BondLinkDown, LinkFailureCount: 4},
	}}
	if diff := cmp.Diff(Link{Index: 3, Name: "eth1", Kind: "device", AdminUp: true, Carrier: CarrierDown, OperState: OperLowerLayerDown, MTU: 9000, MasterIndex: 7}, linkFrom(member)); diff != "" {
		t.Errorf("linkFrom (-want +got):\n%s", diff)
	}
	four := uint32(4)
	want := Membership{Master: "bond0", MasterKind: "bond", Member: "eth1", MemberCarrier: CarrierDown, MemberOper: OperLowerLayerDown, BondState: "backup", MIIStatus: "down", LinkFailures: &four}
	if diff := cmp.Diff(want, membership(bond, member)); diff != "" {
		t.Errorf("membership (-want +got):\n%s", diff)
	}
	adminDown := &netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: 4, Name: "eth2", RawFlags: unix.IFF_LOWER_UP}}
	if got := linkFrom(adminDown).Carrier; got != CarrierUnknown {
		t.Errorf("carrier of an admin-down link = %s, want unknown", got)
	}
}
