package serialhb

import (
	"encoding/json"
	"fmt"
	"time"
)

// unmarshalEnum finds the value of T, between 0 and last, whose String is b.
func unmarshalEnum[T ~uint8](what string, b []byte, last T, str func(T) string) (T, error) {
	for v := T(0); v <= last; v++ {
		if str(v) == string(b) {
			return v, nil
		}
	}
	return 0, fmt.Errorf("serialhb: unknown %s %q", what, b)
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *State) UnmarshalText(b []byte) (err error) {
	*s, err = unmarshalEnum("state", b, StateDead, State.String)
	return err
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *EventKind) UnmarshalText(b []byte) (err error) {
	*k, err = unmarshalEnum("event kind", b, EventPortOpened, EventKind.String)
	return err
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (l *Line) UnmarshalText(b []byte) (err error) {
	*l, err = unmarshalEnum("modem line state", b, LineOn, Line.String)
	return err
}

// MarshalText implements encoding.TextMarshaler.
func (r Role) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *Role) UnmarshalText(b []byte) (err error) {
	*r, err = unmarshalEnum("role", b, RoleActive, Role.String)
	return err
}

type timersJSON struct {
	Keepalive int64 `json:"keepalive_ms"`
	Warntime  int64 `json:"warntime_ms"`
	Deadtime  int64 `json:"deadtime_ms"`
	Initdead  int64 `json:"initdead_ms"`
}

// MarshalJSON writes the timers in milliseconds, as in ha.cf.
func (t Timers) MarshalJSON() ([]byte, error) {
	return json.Marshal(timersJSON{t.Keepalive.Milliseconds(), t.Warntime.Milliseconds(), t.Deadtime.Milliseconds(), t.Initdead.Milliseconds()})
}

// UnmarshalJSON reads timers in milliseconds.
func (t *Timers) UnmarshalJSON(b []byte) error {
	var j timersJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*t = Timers{time.Duration(j.Keepalive) * time.Millisecond, time.Duration(j.Warntime) * time.Millisecond,
		time.Duration(j.Deadtime) * time.Millisecond, time.Duration(j.Initdead) * time.Millisecond}
	return nil
}
