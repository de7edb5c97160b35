package nic

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Probe tells whether the peer at peer answers through iface: ProbeNoLink
// when iface is administratively down or has no carrier (nothing is sent),
// ProbeReachable with the round-trip time when an ICMP echo is answered,
// ProbePeerSilent when the link is up but no echo is answered (including
// when the peer's address does not resolve). It uses a raw ICMP socket bound
// to iface, which needs CAP_NET_RAW.
//
// If ctx has no deadline, the probe takes at most Count x Interval. The
// error is an *OpError wrapping ErrInvalidName, ErrInvalidAddress,
// ErrNoSuchInterface, ErrNetNS or ErrPermission when one applies.
func Probe(ctx context.Context, cfg ProbeConfig, iface string, peer netip.Addr) (*ProbeResult, error) {
	cfg = cfg.withDefaults()
	ns := NetNSPath(cfg.NetNS)
	opErr := func(err error) error { return &OpError{Op: "probe", Interface: iface, NetNS: ns, Err: err} }
	if err := ValidateName(iface); err != nil {
		return nil, opErr(err)
	}
	peer, err := validatePeer(peer)
	if err != nil {
		return nil, opErr(err)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(cfg.Count)*cfg.Interval+time.Second)
	defer cancel()
	if err := ctx.Err(); err != nil {
		return nil, opErr(err)
	}
	res := &ProbeResult{Interface: iface, Peer: peer}
	var conn *net.IPConn
	err = inNetNS(ns, func() error {
		link, _, err := getLink(iface)
		if err != nil {
			return err
		}
		l := linkFrom(link)
		res.Carrier, res.OperState = l.Carrier, l.OperState
		if l.Carrier != CarrierUp {
			res.State = ProbeNoLink
			return nil
		}
		conn, err = listenICMP(ctx, iface)
		return err
	})
	if err != nil {
		return nil, opErr(err)
	}
	if conn == nil {
		cfg.Logger.Info("nic probe", "iface", iface, "peer", peer, "state", res.State, "carrier", res.Carrier)
		return res, nil
	}
	defer conn.Close()
	if err := echoLoop(ctx, cfg, conn, peer, res); err != nil {
		return nil, opErr(err)
	}
	cfg.Logger.Info("nic probe", "iface", iface, "peer", peer, "state", res.State, "rtt", res.RTT, "sent", res.Sent, "received", res.Received)
	return res, nil
}

// listenICMP opens a raw ICMPv4 socket bound to iface, in the namespace of
// the calling thread.
func listenICMP(ctx context.Context, iface string) (*net.IPConn, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, iface)
		}); err != nil {
			return err
		}
		return serr
	}}
	pc, err := lc.ListenPacket(ctx, "ip4:icmp", "0.0.0.0")
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return nil, fmt.Errorf("%w: raw ICMP socket needs CAP_NET_RAW: %w", ErrPermission, err)
		}
		return nil, fmt.Errorf("raw ICMP socket: %w", err)
	}
	return pc.(*net.IPConn), nil
}

// echoLoop sends up to cfg.Count echoes, each waiting cfg.Interval, and
// stops at the first matching reply.
func echoLoop(ctx context.Context, cfg ProbeConfig, conn *net.IPConn, peer netip.Addr, res *ProbeResult) error {
	id, err := rand.Int(rand.Reader, big.NewInt(1<<16))
	if err != nil {
		return err
	}
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	dst := &net.IPAddr{IP: peer.AsSlice()}
	buf := make([]byte, 1500)
	res.State = ProbePeerSilent
	for seq := 1; seq <= cfg.Count; seq++ {
		req := Echo{ID: uint16(id.Int64()), Seq: uint16(seq), Data: nonce}
		b, err := MarshalEchoRequest(req)
		if err != nil {
			return err
		}
		wait := time.Now().Add(cfg.Interval)
		if d, ok := ctx.Deadline(); ok && d.Before(wait) {
			wait = d
		}
		sent := time.Now()
		if _, err := conn.WriteTo(b, dst); err != nil {
			// EHOSTUNREACH: an earlier echo's neighbour resolution
			// failed, so the peer is silent; keep trying.
			if !errors.Is(err, unix.EHOSTUNREACH) {
				return fmt.Errorf("send echo: %w", err)
			}
		} else {
			res.Sent++
		}
		if err := conn.SetReadDeadline(wait); err != nil {
			return err
		}
		for {
			n, from, err := conn.ReadFrom(buf)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			if err != nil {
				return fmt.Errorf("receive: %w", err)
			}
			got := time.Now()
			src, ok := netip.AddrFromSlice(from.(*net.IPAddr).IP)
			if !ok || src.Unmap() != peer {
				continue
			}
			e, err := ParseEchoReply(buf[:n])
			if err != nil || e.ID != req.ID || e.Seq != req.Seq || !bytes.Equal(e.Data, nonce) {
				continue
			}
			res.Received++
			res.RTT = got.Sub(sent)
			res.State = ProbeReachable
			return nil
		}
		if err := ctx.Err(); err != nil {
			if errors.Is(err, context.Canceled) {
				return err
			}
			return nil // out of time: the peer stayed silent
		}
	}
	return nil
}
