// Package nictest is an in-memory nic.Host for tests of code that uses NIC
// status, link events and peer probes without a network namespace.
//
// Link events come from nic.Diff of the host's snapshots before and after
// each change, as the real watcher makes them.
package nictest

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/hakit/hakit/nic"
)

// Host is a fake machine. Its methods are safe for concurrent use.
type Host struct {
	mu       sync.Mutex
	links    map[string]nic.Status
	peers    map[netip.Addr]time.Duration // reachable peers and their RTT
	nics     []nic.NIC
	watchers map[*watcher]struct{}
	now      func() time.Time
}

var _ nic.Host = (*Host)(nil)

type watcher struct {
	ctx   context.Context
	names []string
	ch    chan nic.Event
}

// New returns a host with the given interfaces. now stamps events; nil
// means time.Now.
func New(now func() time.Time, links ...nic.Status) *Host {
	if now == nil {
		now = time.Now
	}
	h := &Host{links: make(map[string]nic.Status), peers: make(map[netip.Addr]time.Duration), watchers: make(map[*watcher]struct{}), now: now}
	for _, l := range links {
		h.links[l.Name] = l
	}
	return h
}

// UpLink returns the status of a healthy 1 Gb/s interface.
func UpLink(index int, name string) nic.Status {
	speed := 1000
	return nic.Status{
		Link:    nic.Link{Index: index, Name: name, Kind: "device", AdminUp: true, Carrier: nic.CarrierUp, OperState: nic.OperUp, MTU: 1500, MAC: fmt.Sprintf("02:00:00:00:00:%02x", index)},
		Duplex:  nic.DuplexFull,
		Autoneg: nic.AutonegOn, SpeedMbps: &speed, Driver: "e1000e",
	}
}

// SetNICs sets what Inventory returns.
func (h *Host) SetNICs(nics ...nic.NIC) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.nics = slices.Clone(nics)
}

// SetPeer makes peer answer probes with rtt (reachable) or, with rtt < 0,
// stay silent.
func (h *Host) SetPeer(peer netip.Addr, rtt time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if rtt < 0 {
		delete(h.peers, peer)
		return
	}
	h.peers[peer] = rtt
}

// SetCarrier changes an interface's carrier (and operstate with it) and
// delivers the change to watchers. It blocks until every watcher took the
// event or its context ended.
func (h *Host) SetCarrier(name string, up bool) error {
	return h.update(name, func(st *nic.Status) {
		st.Carrier, st.OperState = nic.CarrierDown, nic.OperLowerLayerDown
		if up {
			st.Carrier, st.OperState = nic.CarrierUp, nic.OperUp
		}
	})
}

// SetAdmin sets an interface administratively up or down.
func (h *Host) SetAdmin(name string, up bool) error {
	return h.update(name, func(st *nic.Status) {
		st.AdminUp = up
		if !up {
			st.Carrier, st.OperState = nic.CarrierUnknown, nic.OperDown
		}
	})
}

func (h *Host) update(name string, fn func(*nic.Status)) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	st, ok := h.links[name]
	if !ok {
		return fmt.Errorf("nictest: %w: %s", nic.ErrNoSuchInterface, name)
	}
	before := h.snapshotLocked()
	fn(&st)
	h.links[name] = st
	after := h.snapshotLocked()
	for w := range h.watchers {
		for _, c := range nic.Diff(before.Filter(w.names), after.Filter(w.names)) {
			select {
			case w.ch <- nic.Event{Time: h.now(), Change: c}:
			case <-w.ctx.Done():
			}
		}
	}
	return nil
}

func (h *Host) snapshotLocked() nic.Snapshot {
	s := make(nic.Snapshot, len(h.links))
	for _, st := range h.links {
		s[st.Index] = st.Link
	}
	return s
}

// Status implements nic.Host.
func (h *Host) Status(ctx context.Context, name string) (*nic.Status, error) {
	if err := nic.ValidateName(name); err != nil {
		return nil, &nic.OpError{Op: "status", Interface: name, Err: err}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	st, ok := h.links[name]
	if !ok {
		return nil, &nic.OpError{Op: "status", Interface: name, Err: nic.ErrNoSuchInterface}
	}
	return &st, nil
}

// Watch implements nic.Host.
func (h *Host) Watch(ctx context.Context, names ...string) (nic.Snapshot, <-chan nic.Event, error) {
	for _, n := range names {
		if err := nic.ValidateName(n); err != nil {
			return nil, nil, &nic.OpError{Op: "watch", Interface: n, Err: err}
		}
	}
	w := &watcher{ctx: ctx, names: slices.Clone(names), ch: make(chan nic.Event, 16)}
	h.mu.Lock()
	snap := h.snapshotLocked().Filter(names)
	h.watchers[w] = struct{}{}
	h.mu.Unlock()
	go func() {
		<-ctx.Done()
		h.mu.Lock()
		delete(h.watchers, w)
		h.mu.Unlock()
		close(w.ch)
	}()
	return maps.Clone(snap), w.ch, nil
}

// Probe implements nic.Host.
func (h *Host) Probe(ctx context.Context, iface string, peer netip.Addr) (*nic.ProbeResult, error) {
	st, err := h.Status(ctx, iface)
	if err != nil {
		return nil, &nic.OpError{Op: "probe", Interface: iface, Err: err}
	}
	res := &nic.ProbeResult{Interface: iface, Peer: peer, Carrier: st.Carrier, OperState: st.OperState, State: nic.ProbeNoLink}
	if st.Carrier != nic.CarrierUp {
		return res, nil
	}
	h.mu.Lock()
	rtt, ok := h.peers[peer]
	h.mu.Unlock()
	res.Sent, res.State = 1, nic.ProbePeerSilent
	if ok {
		res.Received, res.RTT, res.State = 1, rtt, nic.ProbeReachable
	}
	return res, nil
}

// Inventory implements nic.Host.
func (h *Host) Inventory(ctx context.Context) ([]nic.NIC, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.nics), nil
}

// Watchers counts the active watches, so a test can wait until one is in
// place before changing a link.
func (h *Host) Watchers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.watchers)
}
