package lab

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// The command channel between the host and a guest is a virtio-serial port
// named CommandPort. Each message is one JSON object on one line: the host
// sends a Request, the guest init answers with a Response carrying the same
// ID. Requests are served one at a time.

// CommandPort is the virtio-serial port name of the command channel.
const CommandPort = "lab.cmd"

// ReadyMarker is printed on the console by the guest init once modules are
// loaded, the address set and the command channel open; the node name
// follows it.
const ReadyMarker = "HAKIT-LAB-READY"

// HeartbeatKeyFile is the serialhb key file the guest init writes at boot.
const HeartbeatKeyFile = "/tmp/lab-hb.key"

// maxLine bounds one message on the command channel.
const maxLine = 4 << 20

// Request asks the guest to run a command.
type Request struct {
	ID   uint64   `json:"id"`
	Argv []string `json:"argv"`
	// TimeoutMS kills the command after this many milliseconds; 0 means 60 s.
	TimeoutMS int64 `json:"timeout_ms,omitempty"`
	// Background starts the command and answers at once with its PID; its
	// output goes to Log (a guest path), which Background requires.
	Background bool   `json:"background,omitempty"`
	Log        string `json:"log,omitempty"`
	// Stdin is fed to the command's standard input (closed after it); a
	// foreground command only.
	Stdin []byte `json:"stdin,omitempty"`
}

// Response is the outcome of a Request.
type Response struct {
	ID     uint64 `json:"id"`
	Stdout []byte `json:"stdout,omitempty"`
	Stderr []byte `json:"stderr,omitempty"`
	// Code is the exit code; -1 when the command could not start or was
	// killed (Err says why).
	Code int    `json:"code"`
	PID  int    `json:"pid,omitempty"`
	Err  string `json:"err,omitempty"`
}

// ErrProto is returned for a malformed command-channel message.
var ErrProto = errors.New("lab: malformed command-channel message")

// Validate reports whether r can be run.
func (r *Request) Validate() error {
	switch {
	case len(r.Argv) == 0 || r.Argv[0] == "":
		return fmt.Errorf("%w: empty argv", ErrProto)
	case r.TimeoutMS < 0:
		return fmt.Errorf("%w: negative timeout %d", ErrProto, r.TimeoutMS)
	case r.Background && r.Log == "":
		return fmt.Errorf("%w: background command needs a log path", ErrProto)
	case r.Background && len(r.Stdin) > 0:
		return fmt.Errorf("%w: background command with stdin", ErrProto)
	}
	return nil
}

// EncodeRequest marshals r as one line.
func EncodeRequest(r Request) ([]byte, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return encodeLine(r)
}

// DecodeRequest parses one line into a valid Request.
func DecodeRequest(line []byte) (Request, error) {
	var r Request
	if err := decodeLine(line, &r); err != nil {
		return Request{}, err
	}
	if err := r.Validate(); err != nil {
		return Request{}, err
	}
	return r, nil
}

// EncodeResponse marshals r as one line.
func EncodeResponse(r Response) ([]byte, error) { return encodeLine(r) }

// DecodeResponse parses one line into a Response.
func DecodeResponse(line []byte) (Response, error) {
	var r Response
	err := decodeLine(line, &r)
	return r, err
}

func encodeLine(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrProto, err)
	}
	if len(b)+1 > maxLine {
		return nil, fmt.Errorf("%w: message of %d bytes exceeds %d", ErrProto, len(b), maxLine)
	}
	return append(b, '\n'), nil
}

func decodeLine(line []byte, v any) error {
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] != '{' {
		return fmt.Errorf("%w: %q", ErrProto, truncate(line, 80))
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrProto, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: trailing data", ErrProto)
	}
	return nil
}

// ParseCmdline splits a kernel command line into its key=value parameters
// (a bare word maps to ""). Quoted values are not supported: the lab never
// writes them.
func ParseCmdline(s string) map[string]string {
	m := map[string]string{}
	for _, f := range strings.Fields(s) {
		k, v, _ := strings.Cut(f, "=")
		m[k] = v
	}
	return m
}
