package nic

import (
	"errors"
	"fmt"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
)

// ErrNotEchoReply: an ICMP message that is not an IPv4 echo reply.
var ErrNotEchoReply = errors.New("not an ICMP echo reply")

// Echo is the identity and payload of an ICMP echo request or reply.
type Echo struct {
	ID   uint16
	Seq  uint16
	Data []byte
}

// MarshalEchoRequest encodes an ICMPv4 echo request (checksum included).
func MarshalEchoRequest(e Echo) ([]byte, error) {
	return marshalEcho(ipv4.ICMPTypeEcho, e)
}

// MarshalEchoReply encodes an ICMPv4 echo reply (checksum included).
func MarshalEchoReply(e Echo) ([]byte, error) {
	return marshalEcho(ipv4.ICMPTypeEchoReply, e)
}

func marshalEcho(t ipv4.ICMPType, e Echo) ([]byte, error) {
	m := icmp.Message{Type: t, Body: &icmp.Echo{ID: int(e.ID), Seq: int(e.Seq), Data: e.Data}}
	b, err := m.Marshal(nil)
	if err != nil {
		return nil, fmt.Errorf("nic: marshal echo: %w", err)
	}
	return b, nil
}

// ParseEchoReply decodes an ICMPv4 message (without its IP header) and
// returns the echo reply it holds. Any other message wraps ErrNotEchoReply.
func ParseEchoReply(b []byte) (Echo, error) {
	m, err := icmp.ParseMessage(1, b) // 1: IANA protocol number of ICMPv4
	if err != nil {
		return Echo{}, fmt.Errorf("%w: %w", ErrNotEchoReply, err)
	}
	if m.Type != ipv4.ICMPTypeEchoReply {
		return Echo{}, fmt.Errorf("%w: type %v", ErrNotEchoReply, m.Type)
	}
	body, ok := m.Body.(*icmp.Echo)
	if !ok {
		return Echo{}, fmt.Errorf("%w: malformed echo body", ErrNotEchoReply)
	}
	return Echo{ID: uint16(body.ID), Seq: uint16(body.Seq), Data: body.Data}, nil
}
