package lab

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// QMPMessage is one decoded line from QEMU's machine protocol: exactly one of
// Greeting, Return, Error or Event is set.
type QMPMessage struct {
	// Greeting is the server's banner ({"QMP": {...}}), sent once on connect.
	Greeting json.RawMessage
	// Return is a command's result ({"return": ...}).
	Return json.RawMessage
	// Error is a failed command's error.
	Error *QMPError
	// Event is an asynchronous event's name, with EventData its data.
	Event     string
	EventData json.RawMessage
	// ID echoes the command's "id", when the command carried one.
	ID json.RawMessage
}

// QMPError is a command failure reported by QEMU.
type QMPError struct {
	Class string `json:"class"`
	Desc  string `json:"desc"`
}

func (e *QMPError) Error() string { return "qmp: " + e.Class + ": " + e.Desc }

// ErrQMPMessage is returned for a line that is not a QMP message.
var ErrQMPMessage = errors.New("qmp: malformed message")

// EncodeQMP marshals one command as a QMP line (with the trailing newline).
// args may be nil.
func EncodeQMP(execute string, args any) ([]byte, error) {
	if execute == "" {
		return nil, fmt.Errorf("%w: empty command name", ErrQMPMessage)
	}
	m := map[string]any{"execute": execute}
	if args != nil {
		m["arguments"] = args
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("qmp: encode %s: %w", execute, err)
	}
	return append(b, '\n'), nil
}

// DecodeQMP parses one line received from QEMU.
func DecodeQMP(line []byte) (QMPMessage, error) {
	var raw struct {
		QMP       json.RawMessage `json:"QMP"`
		Return    json.RawMessage `json:"return"`
		Error     *QMPError       `json:"error"`
		Event     string          `json:"event"`
		Data      json.RawMessage `json:"data"`
		ID        json.RawMessage `json:"id"`
		Timestamp json.RawMessage `json:"timestamp"`
	}
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] != '{' {
		return QMPMessage{}, fmt.Errorf("%w: %q", ErrQMPMessage, truncate(line, 80))
	}
	if err := json.Unmarshal(line, &raw); err != nil {
		return QMPMessage{}, fmt.Errorf("%w: %v", ErrQMPMessage, err)
	}
	m := QMPMessage{ID: raw.ID}
	n := 0
	if raw.QMP != nil {
		m.Greeting = raw.QMP
		n++
	}
	if raw.Return != nil {
		m.Return = raw.Return
		n++
	}
	if raw.Error != nil {
		m.Error = raw.Error
		n++
	}
	if raw.Event != "" {
		m.Event, m.EventData = raw.Event, raw.Data
		n++
	}
	if n != 1 {
		return QMPMessage{}, fmt.Errorf("%w: want one of QMP, return, error, event; got %d", ErrQMPMessage, n)
	}
	return m, nil
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// Argument builders for the commands the lab uses.

// chardevChangeArgs switches chardev id to a null backend (pulled cable) or
// back to a socket (plugged): server true listens on addr, false reconnects.
func chardevChangeArgs(id string, plugged, server bool, host string, port int) map[string]any {
	if !plugged {
		return map[string]any{"id": id, "backend": map[string]any{"type": "null", "data": map[string]any{}}}
	}
	data := map[string]any{
		"addr": map[string]any{"type": "inet", "data": map[string]any{"host": host, "port": fmt.Sprint(port)}},
	}
	if server {
		data["server"] = true
		data["wait"] = false
	} else {
		data["server"] = false
		data["reconnect"] = 1
	}
	return map[string]any{"id": id, "backend": map[string]any{"type": "socket", "data": data}}
}

func setLinkArgs(name string, up bool) map[string]any {
	return map[string]any{"name": name, "up": up}
}
