package serialhb

import "time"

// Clock is a Runner's time source: the now its Link is ticked and fed at,
// the timer of its loop, the pace and deadline of a cable test, a status's
// silence. nil in Config means the system clock; serialhbtest.Clock is one
// a test steps by hand. The deadlines of blocking port calls (an open, a
// write) and the real-time re-application pace stay on the system clock:
// they bound real waits.
type Clock interface {
	Now() time.Time
	// NewTimer returns a timer that sends the time on its channel once d
	// has passed, as time.NewTimer.
	NewTimer(d time.Duration) Timer
}

// Timer is a Clock's timer. As a time.Timer (Go 1.23 and later), Reset and
// Stop leave no stale time in the channel.
type Timer interface {
	C() <-chan time.Time
	Reset(d time.Duration)
	Stop()
}

// systemClock is time.Now and time.NewTimer.
type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) NewTimer(d time.Duration) Timer { return sysTimer{time.NewTimer(d)} }

type sysTimer struct{ t *time.Timer }

func (s sysTimer) C() <-chan time.Time   { return s.t.C }
func (s sysTimer) Reset(d time.Duration) { s.t.Reset(d) }
func (s sysTimer) Stop()                 { s.t.Stop() }
