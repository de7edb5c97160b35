package agent

import (
	"sync"
	"time"
)

// Hub numbers events, keeps the last ones in a ring for late readers, and
// fans them out to subscribers. A subscriber that does not keep up loses
// events (counted in Dropped) rather than blocking the agent. Its methods
// are safe for concurrent use.
type Hub struct {
	mu      sync.Mutex
	seq     uint64
	ring    []Event
	next    int
	subs    map[chan Event]struct{}
	dropped uint64
	now     func() time.Time
}

// NewHub keeps the last size events (0 means 256); now may be nil.
func NewHub(size int, now func() time.Time) *Hub {
	if size <= 0 {
		size = 256
	}
	if now == nil {
		now = time.Now
	}
	return &Hub{ring: make([]Event, 0, size), subs: map[chan Event]struct{}{}, now: now}
}

// Emit stamps e with the next sequence number (and the time, when unset)
// and delivers it.
func (h *Hub) Emit(e Event) Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	e.Seq = h.seq
	if e.Time.IsZero() {
		e.Time = h.now()
	}
	if len(h.ring) < cap(h.ring) {
		h.ring = append(h.ring, e)
	} else {
		h.ring[h.next] = e
		h.next = (h.next + 1) % cap(h.ring)
	}
	for ch := range h.subs {
		select {
		case ch <- e:
		default:
			h.dropped++
		}
	}
	return e
}

// Since returns the kept events with Seq > seq, oldest first.
func (h *Hub) Since(seq uint64) []Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []Event
	for i := range h.ring {
		e := h.ring[(h.next+i)%len(h.ring)]
		if e.Seq > seq {
			out = append(out, e)
		}
	}
	return out
}

// Subscribe returns a channel of new events and a cancel function that
// must be called to release it; backlog are the kept events after since.
func (h *Hub) Subscribe(since uint64) (backlog []Event, ch <-chan Event, cancel func()) {
	c := make(chan Event, 64)
	backlog = h.Since(since)
	h.mu.Lock()
	h.subs[c] = struct{}{}
	h.mu.Unlock()
	return backlog, c, func() {
		h.mu.Lock()
		delete(h.subs, c)
		h.mu.Unlock()
	}
}

// Last is the newest sequence number (0 when none).
func (h *Hub) Last() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.seq
}

// Dropped counts events lost by slow subscribers.
func (h *Hub) Dropped() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.dropped
}
