package nic

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Watch subscribes to link changes (RTNLGRP_LINK) in the configured
// namespace and returns once the subscription and the initial snapshot are
// in place. Every event is the diff of the snapshot before and after one
// kernel message. When the kernel reports lost messages (ENOBUFS) the
// subscription ends; the watcher subscribes again, lists every link and
// delivers the diff against what it had, marked Resync.
//
// The watcher stops when ctx ends: it closes its netlink sockets and
// namespace handle, waits for its goroutines and closes Events.
func Watch(ctx context.Context, cfg WatchConfig) (*Watcher, error) {
	ns := NetNSPath(cfg.NetNS)
	opErr := func(err error) error { return &OpError{Op: "watch", NetNS: ns, Err: err} }
	for _, n := range cfg.Interfaces {
		if err := ValidateName(n); err != nil {
			return nil, opErr(err)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, opErr(err)
	}
	nsh := netns.None()
	if ns != "" {
		var err error
		if nsh, err = openNetNS(ns); err != nil {
			return nil, opErr(err)
		}
	}
	r := &watchRun{cfg: cfg, log: discardIfNil(cfg.Logger), nsh: nsh}
	h, err := r.handle()
	if err != nil {
		nsh.Close()
		return nil, opErr(err)
	}
	r.h = h
	s, snap, err := r.subscribeAndList()
	if err != nil {
		r.close()
		return nil, opErr(err)
	}
	buf := cfg.Buffer
	if buf <= 0 {
		buf = 64
	}
	w := &Watcher{initial: snap, events: make(chan Event, buf), done: make(chan struct{})}
	go r.run(ctx, w, s, snap)
	return w, nil
}

// watchRun is the state the watcher's goroutine owns.
type watchRun struct {
	cfg WatchConfig
	log *slog.Logger
	nsh netns.NsHandle // netns.None() for the caller's namespace
	h   *netlink.Handle
}

func (r *watchRun) handle() (*netlink.Handle, error) {
	if !r.nsh.IsOpen() {
		h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
		if err != nil {
			return nil, fmt.Errorf("rtnetlink: %w", err)
		}
		return h, nil
	}
	h, err := netlink.NewHandleAt(r.nsh, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, nsError("enter", err)
	}
	return h, nil
}

func (r *watchRun) close() {
	r.h.Close()
	if r.nsh.IsOpen() {
		r.nsh.Close()
	}
}

// subscription is one netlink link subscription and its two goroutines
// (the library's receiver and closer).
type subscription struct {
	updates chan netlink.LinkUpdate
	done    chan struct{}
	mu      sync.Mutex
	cause   error
}

func (s *subscription) setCause(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cause == nil {
		s.cause = err
	}
}

func (s *subscription) getCause() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cause
}

// stop closes the socket and waits until the receiver has closed updates.
func (s *subscription) stop() {
	select {
	case <-s.done:
	default:
		close(s.done)
	}
	for range s.updates {
	}
}

func (r *watchRun) subscribe() (*subscription, error) {
	s := &subscription{updates: make(chan netlink.LinkUpdate, 64), done: make(chan struct{})}
	opts := netlink.LinkSubscribeOptions{
		ErrorCallback:     s.setCause,
		ReceiveBufferSize: r.cfg.ReceiveBuffer,
	}
	if r.nsh.IsOpen() {
		opts.Namespace = &r.nsh
	}
	if err := netlink.LinkSubscribeWithOptions(s.updates, s.done, opts); err != nil {
		close(s.done)
		return nil, nsError("subscribe", err)
	}
	return s, nil
}

// list reads every link, retrying a dump the kernel interrupted.
func (r *watchRun) list() (Snapshot, error) {
	var err error
	for range 5 {
		var links []netlink.Link
		links, err = r.h.LinkList()
		if errors.Is(err, netlink.ErrDumpInterrupted) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("rtnetlink list: %w", err)
		}
		snap := make(Snapshot, len(links))
		for _, l := range links {
			snap[l.Attrs().Index] = linkFrom(l)
		}
		return snap.Filter(r.cfg.Interfaces), nil
	}
	return nil, fmt.Errorf("rtnetlink list: %w", err)
}

// subscribeAndList subscribes first, then lists, so no change falls between
// the two.
func (r *watchRun) subscribeAndList() (*subscription, Snapshot, error) {
	s, err := r.subscribe()
	if err != nil {
		return nil, nil, err
	}
	snap, err := r.list()
	if err != nil {
		s.stop()
		return nil, nil, err
	}
	return s, snap, nil
}

// apply returns snap updated by one kernel message.
func (r *watchRun) apply(snap Snapshot, u netlink.LinkUpdate) Snapshot {
	next := maps.Clone(snap)
	idx := int(u.Index)
	if u.Header.Type == unix.RTM_DELLINK {
		delete(next, idx)
		return next
	}
	l := linkFrom(u.Link)
	delete(next, idx)
	if len(r.cfg.Interfaces) == 0 || slices.Contains(r.cfg.Interfaces, l.Name) {
		next[idx] = l
	}
	return next
}

func (r *watchRun) run(ctx context.Context, w *Watcher, s *subscription, snap Snapshot) {
	defer close(w.done)
	defer close(w.events)
	defer r.close()
	for {
		select {
		case <-ctx.Done():
			s.stop()
			w.setErr(ctx.Err())
			return
		case u, ok := <-s.updates:
			if !ok {
				cause := s.getCause()
				s.stop()
				r.log.Warn("nic watch: subscription ended, resyncing", "netns", r.cfg.NetNS, "cause", cause,
					"lost_messages", lostMessages(cause))
				var next Snapshot
				s, next = r.resync(ctx)
				if s == nil {
					w.setErr(ctx.Err())
					return
				}
				w.addResync()
				if !r.emit(ctx, w, Diff(snap, next), true) {
					s.stop()
					w.setErr(ctx.Err())
					return
				}
				snap = next
				continue
			}
			next := r.apply(snap, u)
			if !r.emit(ctx, w, Diff(snap, next), false) {
				s.stop()
				w.setErr(ctx.Err())
				return
			}
			snap = next
		}
	}
}

// resync subscribes again and lists, retrying until ctx ends; nil when it
// ended.
func (r *watchRun) resync(ctx context.Context) (*subscription, Snapshot) {
	delay := 10 * time.Millisecond
	for {
		s, snap, err := r.subscribeAndList()
		if err == nil {
			return s, snap
		}
		r.log.Warn("nic watch: resync failed", "err", err, "retry_in", delay)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, nil
		case <-t.C:
		}
		delay = min(2*delay, time.Second)
	}
}

func (r *watchRun) emit(ctx context.Context, w *Watcher, changes []Change, resync bool) bool {
	for _, c := range changes {
		ev := Event{Time: time.Now(), Resync: resync, Change: c}
		select {
		case w.events <- ev:
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// lostMessages reports whether the subscription ended because the kernel
// dropped messages (ENOBUFS). The library flattens the errno into text.
func lostMessages(cause error) bool {
	return cause != nil && (errors.Is(cause, unix.ENOBUFS) || strings.Contains(cause.Error(), unix.ENOBUFS.Error()))
}
