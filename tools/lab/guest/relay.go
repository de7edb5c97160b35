package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
)

// relay: hakit relay LISTEN TARGET, each "unix:PATH" or "tcp:HOST:PORT".
// It accepts connections on LISTEN and copies each both ways to a new
// connection to TARGET until ctx ends: the lab uses it to reach the peer
// agent's API socket over the heartbeat link.
func relay(ctx context.Context, args []string, stdout, _ io.Writer) error {
	if len(args) != 2 {
		return &exitError{2, errors.New("usage: hakit relay unix:PATH|tcp:HOST:PORT unix:PATH|tcp:HOST:PORT")}
	}
	lnet, laddr, err := splitAddr(args[0])
	if err != nil {
		return &exitError{2, err}
	}
	tnet, taddr, err := splitAddr(args[1])
	if err != nil {
		return &exitError{2, err}
	}
	if lnet == "unix" {
		_ = os.Remove(laddr)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, lnet, laddr)
	if err != nil {
		return err
	}
	defer ln.Close()
	fmt.Fprintf(stdout, "relay %s -> %s\n", args[0], args[1])
	go func() { <-ctx.Done(); ln.Close() }()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		wg.Go(func() { pipe(ctx, c, tnet, taddr) })
	}
}

func pipe(ctx context.Context, c net.Conn, network, addr string) {
	defer c.Close()
	var d net.Dialer
	t, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return
	}
	defer t.Close()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(t, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, t); done <- struct{}{} }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

func splitAddr(s string) (network, addr string, err error) {
	network, addr, ok := strings.Cut(s, ":")
	if !ok || addr == "" || (network != "unix" && network != "tcp") {
		return "", "", fmt.Errorf("address %q: want unix:PATH or tcp:HOST:PORT", s)
	}
	return network, addr, nil
}
