package hw

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/nic"
)

// Heartbeats are this node's serial cables, one point-to-point link per
// member it is cabled to (a ring of null-modem cables, for example): one
// serialhb Runner each, run as one component.
type Heartbeats []*Heartbeat

// Run implements agent.Component: every link until ctx ends or one fails.
func (hs Heartbeats) Run(ctx context.Context, emit func(agent.Event)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, len(hs))
	var wg sync.WaitGroup
	for _, h := range hs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := h.Run(ctx, emit)
			if err != nil {
				cancel()
			}
			errc <- err
		}()
	}
	wg.Wait()
	close(errc)
	var errs []error
	for err := range errc {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Status implements agent.Component: the first link's (Links has them
// all).
func (hs Heartbeats) Status(ctx context.Context) (agent.HeartbeatStatus, error) {
	return hs[0].Status(ctx)
}

// Links implements agent.HeartbeatLinker: each link's status.
func (hs Heartbeats) Links(ctx context.Context) []agent.HeartbeatLink {
	out := make([]agent.HeartbeatLink, 0, len(hs))
	for _, h := range hs {
		st, _ := h.Status(ctx)
		out = append(out, agent.HeartbeatLink{Member: h.Member, Status: st})
	}
	return out
}

// MemberStates implements agent.MemberPaths: each cabled member's link
// state.
func (hs Heartbeats) MemberStates(ctx context.Context) map[string]string {
	out := map[string]string{}
	for _, h := range hs {
		for k, v := range h.MemberStates(ctx) {
			out[k] = v
		}
	}
	return out
}

// Test implements agent.Tester: each cable's test in turn. The answer is
// the worst cable's report (an error, else the most loss or damage; the
// error names the member), else the first cable's, naming its member
// (Member) and port.
func (hs Heartbeats) Test(ctx context.Context) (agent.CableTestResult, error) {
	var worst agent.CableTestResult
	for i, h := range hs {
		r, err := h.Test(ctx)
		r.Member = h.Member
		if err != nil {
			return r, fmt.Errorf("cable to %s on %s: %w", h.Member, h.R.Status().Path, err)
		}
		if i == 0 || r.Loss > worst.Loss || r.Corrupted+r.AuthFail > worst.Corrupted+worst.AuthFail {
			worst = r
		}
	}
	return worst, nil
}

// MemberStates implements agent.MemberPaths: the link's state, for its
// member.
func (h *Heartbeat) MemberStates(context.Context) map[string]string {
	if h.Member == "" {
		return nil
	}
	return map[string]string{h.Member: h.R.Status().State.String()}
}

// NICMember is one member's address on the heartbeat NIC.
type NICMember struct {
	Name string
	Addr netip.Addr
}

// NICMemberProbe is one member's probe.
type NICMemberProbe = agent.NICMemberProbe

// probeMembers probes every member's address at once and keeps each
// state for MemberStates.
func (n *NIC) probeMembers(ctx context.Context) []NICMemberProbe {
	out := make([]NICMemberProbe, len(n.Members))
	var wg sync.WaitGroup
	for i, m := range n.Members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pr, err := nic.Probe(ctx, nic.ProbeConfig{NetNS: n.NetNS, Count: 2, Interval: 200 * time.Millisecond}, n.Interface, m.Addr)
			out[i] = NICMemberProbe{Member: m.Name, Probe: pr}
			if err != nil {
				out[i].Error = err.Error()
			}
		}()
	}
	wg.Wait()
	states := map[string]string{}
	for _, p := range out {
		if p.Probe != nil {
			states[p.Member] = string(p.Probe.State)
		}
	}
	n.mu.Lock()
	n.states = states
	n.mu.Unlock()
	return out
}

// MemberStates implements agent.MemberPaths: the last probe's state of
// each member (the status call probes them).
func (n *NIC) MemberStates(context.Context) map[string]string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.states
}
