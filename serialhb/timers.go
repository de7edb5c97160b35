package serialhb

import (
	"fmt"
	"time"
)

// Timers are the link timers of Linux-HA Heartbeat's ha.cf, with
// millisecond granularity. A zero field takes the ha.cf default: keepalive
// 1000 ms, deadtime 30000 ms, warntime deadtime/2, initdead 2 x deadtime.
type Timers struct {
	Keepalive time.Duration // interval between heartbeats
	Warntime  time.Duration // silence after which the peer is late (state warn)
	Deadtime  time.Duration // silence after which the peer is dead
	Initdead  time.Duration // deadtime for the first frame after start
}

// Heartbeat's ha.cf defaults.
const (
	DefaultKeepalive = 1000 * time.Millisecond
	DefaultDeadtime  = 30000 * time.Millisecond
)

// TimersMS builds Timers from millisecond values as written in ha.cf (0 for
// the default).
func TimersMS(keepalive, warntime, deadtime, initdead int) Timers {
	return Timers{
		Keepalive: time.Duration(keepalive) * time.Millisecond,
		Warntime:  time.Duration(warntime) * time.Millisecond,
		Deadtime:  time.Duration(deadtime) * time.Millisecond,
		Initdead:  time.Duration(initdead) * time.Millisecond,
	}
}

// WithDefaults returns t with zero fields filled in.
func (t Timers) WithDefaults() Timers {
	if t.Keepalive == 0 {
		t.Keepalive = DefaultKeepalive
	}
	if t.Deadtime == 0 {
		t.Deadtime = DefaultDeadtime
	}
	if t.Warntime == 0 {
		t.Warntime = t.Deadtime / 2
	}
	if t.Initdead == 0 {
		t.Initdead = 2 * t.Deadtime
	}
	return t
}

// Validate checks t after WithDefaults with Heartbeat's rules: every timer a
// positive whole number of milliseconds, deadtime > 2 x keepalive,
// keepalive <= warntime < deadtime, initdead >= deadtime.
func (t Timers) Validate() error {
	t = t.WithDefaults()
	for _, v := range []struct {
		name string
		d    time.Duration
	}{{"keepalive", t.Keepalive}, {"warntime", t.Warntime}, {"deadtime", t.Deadtime}, {"initdead", t.Initdead}} {
		if v.d <= 0 || v.d%time.Millisecond != 0 {
			return fmt.Errorf("%w: %s %v is not a positive whole number of milliseconds", ErrBadConfig, v.name, v.d)
		}
	}
	switch {
	case t.Deadtime <= 2*t.Keepalive:
		return fmt.Errorf("%w: deadtime %v must be more than 2 x keepalive %v", ErrBadConfig, t.Deadtime, t.Keepalive)
	case t.Warntime < t.Keepalive:
		return fmt.Errorf("%w: warntime %v is less than keepalive %v", ErrBadConfig, t.Warntime, t.Keepalive)
	case t.Warntime >= t.Deadtime:
		return fmt.Errorf("%w: warntime %v must be less than deadtime %v", ErrBadConfig, t.Warntime, t.Deadtime)
	case t.Initdead < t.Deadtime:
		return fmt.Errorf("%w: initdead %v is less than deadtime %v", ErrBadConfig, t.Initdead, t.Deadtime)
	}
	return nil
}

func (t Timers) String() string {
	t = t.WithDefaults()
	return fmt.Sprintf("keepalive %dms warntime %dms deadtime %dms initdead %dms",
		t.Keepalive.Milliseconds(), t.Warntime.Milliseconds(), t.Deadtime.Milliseconds(), t.Initdead.Milliseconds())
}
