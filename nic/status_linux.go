package nic

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/mdlayher/ethtool"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// ReadStatus reads the state of the named interface. It reads link attributes
// and carrier counters through rtnetlink, speed, duplex and autoneg through
// ethtool netlink, and the driver and firmware through the ethtool ioctl
// (ETHTOOL_GDRVINFO, which ethtool netlink does not carry).
//
// The error is an *OpError wrapping ErrInvalidName, ErrNoSuchInterface,
// ErrNetNS or ErrPermission when one applies.
func ReadStatus(ctx context.Context, cfg Config, name string) (*Status, error) {
	ns := NetNSPath(cfg.NetNS)
	opErr := func(err error) error { return &OpError{Op: "status", Interface: name, NetNS: ns, Err: err} }
	if err := ValidateName(name); err != nil {
		return nil, opErr(err)
	}
	if err := ctx.Err(); err != nil {
		return nil, opErr(err)
	}
	var st *Status
	err := inNetNS(ns, func() error {
		var err error
		st, err = readStatus(name)
		return err
	})
	if err != nil {
		return nil, opErr(err)
	}
	st.NetNS = ns
	return st, nil
}

// readStatus runs inside the target namespace.
func readStatus(name string) (*Status, error) {
	link, counters, err := getLink(name)
	if err != nil {
		return nil, err
	}
	st := &Status{Link: linkFrom(link), Duplex: DuplexUnknown, Autoneg: AutonegUnknown}
	st.CarrierChanges = counters[unix.IFLA_CARRIER_CHANGES]
	st.CarrierUpCount = counters[unix.IFLA_CARRIER_UP_COUNT]
	st.CarrierDownCount = counters[unix.IFLA_CARRIER_DOWN_COUNT]
	readLinkMode(st)
	readDriverInfo(st)
	if err := readMembership(st, link); err != nil {
		return nil, err
	}
	return st, nil
}

// getLink asks rtnetlink for one link by name and decodes it with the
// netlink library; the carrier counters, which that library does not decode,
// are read from the same message's attributes.
func getLink(name string) (netlink.Link, map[uint16]*uint32, error) {
	req := nl.NewNetlinkRequest(unix.RTM_GETLINK, unix.NLM_F_ACK)
	req.AddData(nl.NewIfInfomsg(unix.AF_UNSPEC))
	req.AddData(nl.NewRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated(name)))
	msgs, err := req.Execute(unix.NETLINK_ROUTE, 0)
	switch {
	case errors.Is(err, unix.ENODEV):
		return nil, nil, fmt.Errorf("%w: %w", ErrNoSuchInterface, err)
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		return nil, nil, fmt.Errorf("%w: %w", ErrPermission, err)
	case err != nil:
		return nil, nil, fmt.Errorf("rtnetlink get link: %w", err)
	case len(msgs) != 1:
		return nil, nil, fmt.Errorf("%w: rtnetlink returned %d links", ErrNoSuchInterface, len(msgs))
	}
	if len(msgs[0]) < unix.SizeofIfInfomsg {
		return nil, nil, fmt.Errorf("rtnetlink: short link message (%d bytes)", len(msgs[0]))
	}
	link, err := netlink.LinkDeserialize(nil, msgs[0])
	if err != nil {
		return nil, nil, fmt.Errorf("rtnetlink decode link: %w", err)
	}
	counters, err := carrierCounters(msgs[0])
	if err != nil {
		return nil, nil, err
	}
	return link, counters, nil
}

// linkFrom extracts the comparable link state.
func linkFrom(l netlink.Link) Link {
	a := l.Attrs()
	out := Link{
		Index:       a.Index,
		Name:        a.Name,
		Kind:        l.Type(),
		AdminUp:     a.RawFlags&unix.IFF_UP != 0,
		OperState:   OperStateFromKernel(uint8(a.OperState)),
		MTU:         a.MTU,
		MasterIndex: a.MasterIndex,
		Carrier:     CarrierUnknown,
	}
	if len(a.HardwareAddr) > 0 {
		out.MAC = a.HardwareAddr.String()
	}
	if out.AdminUp {
		out.Carrier = CarrierDown
		if a.RawFlags&unix.IFF_LOWER_UP != 0 {
			out.Carrier = CarrierUp
		}
	}
	return out
}

// readLinkMode fills speed, duplex and autoneg from ethtool netlink. A
// driver without link settings leaves them unknown.
func readLinkMode(st *Status) {
	c, err := ethtool.New()
	if err != nil {
		return
	}
	defer c.Close()
	lm, err := c.LinkMode(ethtool.Interface{Index: st.Index})
	if err != nil {
		return
	}
	if lm.SpeedMegabits > 0 && uint32(lm.SpeedMegabits) != speedUnknown {
		v := lm.SpeedMegabits
		st.SpeedMbps = &v
	}
	switch lm.Duplex {
	case ethtool.Full:
		st.Duplex = DuplexFull
	case ethtool.Half:
		st.Duplex = DuplexHalf
	}
	switch lm.Autoneg {
	case ethtool.AutonegOn:
		st.Autoneg = AutonegOn
	case ethtool.AutonegOff:
		st.Autoneg = AutonegOff
	}
}

// readDriverInfo fills driver, versions and bus from ETHTOOL_GDRVINFO.
func readDriverInfo(st *Status) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	info, err := unix.IoctlGetEthtoolDrvinfo(fd, st.Name)
	if err != nil {
		return
	}
	st.Driver = unix.ByteSliceToString(info.Driver[:])
	st.DriverVersion = unix.ByteSliceToString(info.Version[:])
	st.FirmwareVersion = unix.ByteSliceToString(info.Fw_version[:])
	st.BusInfo = unix.ByteSliceToString(info.Bus_info[:])
	if st.FirmwareVersion == "N/A" {
		st.FirmwareVersion = ""
	}
}

// readMembership fills Master (when link is a member) and Members (when it
// is an aggregate).
func readMembership(st *Status, link netlink.Link) error {
	isAggregate := st.Kind == "bond" || st.Kind == "team" || st.Kind == "bridge"
	if st.MasterIndex == 0 && !isAggregate {
		return nil
	}
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("rtnetlink: %w", err)
	}
	defer h.Close()
	if st.MasterIndex != 0 {
		m, err := h.LinkByIndex(st.MasterIndex)
		if err != nil {
			return fmt.Errorf("rtnetlink master %d: %w", st.MasterIndex, err)
		}
		ms := membership(m, link)
		st.Master = &ms
	}
	if !isAggregate {
		return nil
	}
	links, err := h.LinkList()
	if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
		return fmt.Errorf("rtnetlink list: %w", err)
	}
	for _, l := range links {
		if l.Attrs().MasterIndex == st.Index {
			st.Members = append(st.Members, membership(link, l))
		}
	}
	return nil
}

func membership(master, member netlink.Link) Membership {
	ml := linkFrom(member)
	ms := Membership{
		Master:        master.Attrs().Name,
		MasterKind:    master.Type(),
		Member:        ml.Name,
		MemberCarrier: ml.Carrier,
		MemberOper:    ml.OperState,
	}
	if bs, ok := member.Attrs().Slave.(*netlink.BondSlave); ok {
		ms.BondState = strings.ToLower(bs.State.String())
		ms.MIIStatus = strings.ToLower(bs.MiiStatus.String())
		n := bs.LinkFailureCount
		ms.LinkFailures = &n
	}
	return ms
}
