package agent

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// EventLog follows one agent's event stream in the background and keeps
// the events, so a caller can wait for one. Safe for concurrent use.
type EventLog struct {
	mu     sync.Mutex
	seen   []Event
	cancel context.CancelFunc
	done   chan struct{}
}

// Follow starts following c's events numbered after since (negative: only
// new ones); each, when not nil, sees every event first.
func Follow(c *Client, since int64, each func(Event)) *EventLog {
	ctx, cancel := context.WithCancel(context.Background())
	l := &EventLog{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		_ = c.Events(ctx, since, func(e Event) error {
			if each != nil {
				each(e)
			}
			l.mu.Lock()
			l.seen = append(l.seen, e)
			l.mu.Unlock()
			return nil
		})
	}()
	return l
}

// Wait returns when an event matching match was seen, or an error naming
// what when ctx ends first.
func (l *EventLog) Wait(ctx context.Context, what string, match func(Event) bool) error {
	for {
		l.mu.Lock()
		for _, e := range l.seen {
			if match(e) {
				l.mu.Unlock()
				return nil
			}
		}
		l.mu.Unlock()
		select {
		case <-ctx.Done():
			return fmt.Errorf("no %s event: %w", what, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Close stops following and waits for the stream to end.
func (l *EventLog) Close() {
	l.cancel()
	<-l.done
}
