package nic

import (
	"fmt"

	mdnetlink "github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// carrierCounters decodes IFLA_CARRIER_CHANGES, IFLA_CARRIER_UP_COUNT and
// IFLA_CARRIER_DOWN_COUNT from an RTM_NEWLINK payload (ifinfomsg and
// attributes, without the netlink header), which the netlink library does not
// decode. A counter the message lacks, or holds with the wrong size, is
// absent from the map (unknown).
func carrierCounters(msg []byte) (map[uint16]*uint32, error) {
	if len(msg) < unix.SizeofIfInfomsg {
		return nil, fmt.Errorf("rtnetlink: short link message (%d bytes)", len(msg))
	}
	// mdlayher/netlink's decoder checks every length; the netlink library's
	// own attribute parser panics on a malformed one.
	ad, err := mdnetlink.NewAttributeDecoder(msg[unix.SizeofIfInfomsg:])
	if err != nil {
		return nil, fmt.Errorf("rtnetlink decode attributes: %w", err)
	}
	counters := make(map[uint16]*uint32)
	for ad.Next() {
		switch ad.Type() {
		case unix.IFLA_CARRIER_CHANGES, unix.IFLA_CARRIER_UP_COUNT, unix.IFLA_CARRIER_DOWN_COUNT:
			if b := ad.Bytes(); len(b) == 4 {
				v := ad.ByteOrder.Uint32(b)
				counters[ad.Type()] = &v
			}
		}
	}
	if err := ad.Err(); err != nil {
		return nil, fmt.Errorf("rtnetlink decode attributes: %w", err)
	}
	return counters, nil
}
