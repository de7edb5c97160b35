package fence

import (
	"context"
	"fmt"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/sbd"
)

// runSBD is method=sbd: the poison pill. off writes reset into the
// victim's slot (verified by reading it back) and reports success only
// after the header's msgwait has passed, the time the victim's watcher
// (hwagent or sbd) has to read it and fence itself, as `sbd message` does.
// status cannot tell whether the victim is off (a poison pill is not a
// read-back of the victim's state), so it is an error, never "off".
func (r *runner) runSBD(ctx context.Context, self bool, delay time.Duration, prio int) (int, error) {
	cfg := r.cfg
	switch r.o.Action {
	case "status", "list-status":
		return ExitError, fmt.Errorf("method=sbd: a node's power state cannot be read from its SBD slot (unknown, not off)")
	case "on":
		return ExitError, fmt.Errorf("method=sbd: on is not supported: clear the slot with hwagent sbd -d %s message %s clear after checking the node", cfg.SBD.Device, r.o.Plug)
	}
	open := r.deps.OpenSBD
	if open == nil {
		open = sbd.Open
	}
	timeout := time.Duration(r.o.PowerTimeout * float64(time.Second))
	octx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	s, err := open(octx, cfg.SBD.Device, cfg.SBD.Initiator)
	if err != nil {
		return ExitError, fmt.Errorf("sbd device %s: %w", cfg.SBD.Device, err)
	}
	defer s.Close()
	d := &sbd.Disk{Sectors: s, Name: cfg.SBD.Device, Sleep: r.deps.Sleep}
	h, err := d.Header(octx)
	if err != nil {
		return ExitError, err
	}
	if r.o.Action == "monitor" {
		return ExitOK, nil
	}
	// off, reboot
	if self {
		return ExitError, fmt.Errorf("%w: %s is this node", agent.ErrSelfFence, r.o.Plug)
	}
	msgwait := time.Duration(h.Msgwait) * time.Second
	if need := delay + msgwait + 5*time.Second; need > time.Duration(r.o.StonithTimeout*float64(time.Second)) || msgwait+2*time.Second > timeout {
		return ExitError, fmt.Errorf("%w: msgwait %s (from %s's header) with delay %s does not fit in power_timeout %gs and stonith_timeout %gs", ErrUsage, msgwait, cfg.SBD.Device, delay, r.o.PowerTimeout, r.o.StonithTimeout)
	}
	if err := r.waitDelay(ctx, delay, prio); err != nil {
		return ExitError, err
	}
	victim := r.target.Name
	from := cfg.SBD.Name
	if from == "" {
		from = cfg.Node.Name
	}
	start := time.Now()
	slot, err := d.Message(octx, victim, sbd.MsgReset, from)
	if err != nil {
		return ExitError, fmt.Errorf("poison pill to %s: %w", victim, err)
	}
	r.log.Debug("poison pill delivered", "victim", victim, "slot", slot, "msgwait", msgwait, "took", time.Since(start))
	fmt.Fprintln(r.out, "Success: Powered OFF")
	return ExitOK, nil
}
