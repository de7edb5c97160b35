package nic

import (
	"io"
	"log/slog"
	"sync"
)

// WatchConfig configures Watch. The zero value watches every link of the
// caller's namespace.
type WatchConfig struct {
	// NetNS is the namespace to watch, as in Config.
	NetNS string
	// Interfaces limits the events to these names; empty means all.
	Interfaces []string
	// Logger receives resyncs and subscription failures; nil discards.
	Logger *slog.Logger
	// Buffer is the capacity of the event channel; 0 means 64.
	Buffer int
	// ReceiveBuffer is the netlink socket's receive buffer in bytes
	// (SO_RCVBUF); 0 keeps the kernel default. A small buffer makes lost
	// messages, and so resyncs, likelier.
	ReceiveBuffer int
}

// Watcher delivers link changes. One goroutine owns the netlink socket and
// the current snapshot; it stops, closes the socket and closes Events when the
// context given to Watch ends. Its methods are safe for concurrent use.
type Watcher struct {
	initial Snapshot
	events  chan Event
	done    chan struct{}

	mu      sync.Mutex
	err     error
	resyncs int
}

// Initial is the snapshot taken when the watch started (filtered by
// WatchConfig.Interfaces). Changes are relative to it.
func (w *Watcher) Initial() Snapshot { return w.initial.Filter(nil) }

// Events delivers changes in order. It is closed once the watch has stopped
// and released its socket and goroutines.
func (w *Watcher) Events() <-chan Event { return w.events }

// Done is closed when the watcher has stopped and released everything.
func (w *Watcher) Done() <-chan struct{} { return w.done }

// Err is why the watcher stopped (the context's error), nil while it runs.
func (w *Watcher) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Resyncs counts the full resyncs done after the subscription lost messages.
func (w *Watcher) Resyncs() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.resyncs
}

func (w *Watcher) setErr(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		w.err = err
	}
}

func (w *Watcher) addResync() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.resyncs++
}

func discardIfNil(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return l
}
