package scsitest

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/hakit/hakit/scsi"
)

// Hex is a byte slice that reads and writes as a hex string in JSON.
type Hex []byte

// MarshalText encodes h as hex.
func (h Hex) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(h)), nil }

// UnmarshalText decodes hex.
func (h *Hex) UnmarshalText(b []byte) error {
	v, err := hex.DecodeString(string(b))
	if err != nil {
		return err
	}
	*h = v
	return nil
}

// Op is one recorded command and its answer.
type Op struct {
	// Name is the command's name, for readers of the recording.
	Name   string      `json:"name,omitempty"`
	CDB    Hex         `json:"cdb"`
	Out    Hex         `json:"out,omitempty"`
	Status scsi.Status `json:"status"`
	In     Hex         `json:"in,omitempty"`
	Sense  Hex         `json:"sense,omitempty"`
	// Err is the transport error's text, if the command failed.
	Err string `json:"err,omitempty"`
}

// Recorder wraps a Transport and records every command. It is safe for
// concurrent use if its Transport is.
type Recorder struct {
	Transport scsi.Transport

	mu  sync.Mutex
	ops []Op
}

// Execute runs cmd on the wrapped transport and records it.
func (r *Recorder) Execute(ctx context.Context, cmd *scsi.Command) (*scsi.Response, error) {
	resp, err := r.Transport.Execute(ctx, cmd)
	op := Op{Name: scsi.CommandName(cmd), CDB: append(Hex(nil), cmd.CDB...), Out: append(Hex(nil), cmd.Data...)}
	if err != nil {
		op.Err = err.Error()
	} else {
		op.Status, op.In, op.Sense = resp.Status, append(Hex(nil), resp.Data...), append(Hex(nil), resp.Sense...)
	}
	r.mu.Lock()
	r.ops = append(r.ops, op)
	r.mu.Unlock()
	return resp, err
}

// Ops returns the recorded operations.
func (r *Recorder) Ops() []Op {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Op(nil), r.ops...)
}

// WriteFile saves the recording as indented JSON.
func (r *Recorder) WriteFile(path string) error {
	b, err := json.MarshalIndent(r.Ops(), "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// Playback replays recorded operations in order: each command must match the
// next operation's CDB and data-out, else the test fails. Close reports
// operations that were never played.
type Playback struct {
	TB  testing.TB
	Ops []Op

	mu  sync.Mutex
	pos int
}

// LoadPlayback reads a recording written by Recorder.WriteFile.
func LoadPlayback(tb testing.TB, path string) *Playback {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("playback: %v", err)
	}
	var ops []Op
	if err := json.Unmarshal(b, &ops); err != nil {
		tb.Fatalf("playback %s: %v", path, err)
	}
	return &Playback{TB: tb, Ops: ops}
}

// Execute answers cmd from the next recorded operation.
func (p *Playback) Execute(ctx context.Context, cmd *scsi.Command) (*scsi.Response, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pos >= len(p.Ops) {
		p.TB.Errorf("playback: unexpected %s (cdb % x): all %d operations played", scsi.CommandName(cmd), cmd.CDB, len(p.Ops))
		return nil, fmt.Errorf("playback: no operation left for %s", scsi.CommandName(cmd))
	}
	op := p.Ops[p.pos]
	if !bytes.Equal(op.CDB, cmd.CDB) || !bytes.Equal(op.Out, cmd.Data) {
		p.TB.Errorf("playback: operation %d: got %s cdb % x out % x, want %s cdb % x out % x", p.pos, scsi.CommandName(cmd), cmd.CDB, cmd.Data, op.Name, []byte(op.CDB), []byte(op.Out))
		return nil, fmt.Errorf("playback: operation %d does not match", p.pos)
	}
	p.pos++
	if op.Err != "" {
		return nil, fmt.Errorf("playback: %s", op.Err)
	}
	in := []byte(op.In)
	resid := 0
	if cmd.AllocLen < len(in) {
		in = in[:cmd.AllocLen]
	} else {
		resid = cmd.AllocLen - len(in)
	}
	return &scsi.Response{Status: op.Status, Data: in, Sense: op.Sense, Residual: resid}, nil
}

// Close reports operations never played as a test error.
func (p *Playback) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pos < len(p.Ops) {
		p.TB.Errorf("playback: %d of %d operations not played (next: %s)", len(p.Ops)-p.pos, len(p.Ops), p.Ops[p.pos].Name)
		return fmt.Errorf("playback: %d operations not played", len(p.Ops)-p.pos)
	}
	return nil
}
