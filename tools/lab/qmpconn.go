package lab

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"sync"
	"time"
)

// QMP is a client of one QEMU machine protocol socket. Its methods are safe
// for concurrent use; commands are serialized.
type QMP struct {
	mu   sync.Mutex
	conn net.Conn
	r    *bufio.Reader
	// Events holds the asynchronous events seen while waiting for replies,
	// oldest first.
	events []QMPMessage
}

// DialQMP connects to a QMP unix socket, reads the greeting and negotiates
// capabilities. It retries until the socket accepts or ctx ends.
func DialQMP(ctx context.Context, path string) (*QMP, error) {
	var d net.Dialer
	var conn net.Conn
	for {
		var err error
		conn, err = d.DialContext(ctx, "unix", path)
		if err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("qmp: dial %s: %w (last: %v)", path, ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	q := &QMP{conn: conn, r: bufio.NewReader(conn)}
	m, err := q.read(ctx)
	if err == nil && m.Greeting == nil {
		err = fmt.Errorf("%w: no greeting", ErrQMPMessage)
	}
	if err == nil {
		_, err = q.Execute(ctx, "qmp_capabilities", nil)
	}
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("qmp: handshake on %s: %w", path, err)
	}
	return q, nil
}

func (q *QMP) read(ctx context.Context) (QMPMessage, error) {
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(30 * time.Second)
	}
	if err := q.conn.SetReadDeadline(dl); err != nil {
		return QMPMessage{}, err
	}
	line, err := q.r.ReadBytes('\n')
	if err != nil {
		return QMPMessage{}, fmt.Errorf("qmp: read: %w", err)
	}
	return DecodeQMP(line)
}

// Execute sends one command and waits for its return or error. Events read
// meanwhile are kept (see Events).
func (q *QMP) Execute(ctx context.Context, execute string, args any) (json.RawMessage, error) {
	b, err := EncodeQMP(execute, args)
	if err != nil {
		return nil, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(30 * time.Second)
	}
	if err := q.conn.SetWriteDeadline(dl); err != nil {
		return nil, err
	}
	if _, err := q.conn.Write(b); err != nil {
		return nil, fmt.Errorf("qmp: %s: %w", execute, err)
	}
	for {
		m, err := q.read(ctx)
		if err != nil {
			return nil, fmt.Errorf("qmp: %s: %w", execute, err)
		}
		switch {
		case m.Event != "":
			q.events = append(q.events, m)
		case m.Error != nil:
			return nil, fmt.Errorf("qmp: %s: %w", execute, m.Error)
		case m.Return != nil:
			return m.Return, nil
		}
	}
}

// Events returns and forgets the events seen so far.
func (q *QMP) Events() []QMPMessage {
	q.mu.Lock()
	defer q.mu.Unlock()
	ev := q.events
	q.events = nil
	return ev
}

// Close closes the connection.
func (q *QMP) Close() error { return q.conn.Close() }
