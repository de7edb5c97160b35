package agent

import (
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Limits bound what the clients of the API socket and of the metrics
// listener may hold, so that no local user exhausts the agent's memory or
// file descriptors and root is never locked out. Zero fields take the
// defaults given per field.
type Limits struct {
	// MaxConns is the most API connections open at once; default 64.
	MaxConns int
	// PerUID is the most API connections one non-root uid may hold; default 8.
	PerUID int
	// RootReserved is how many of MaxConns only root may take; default 16.
	// Non-root callers together hold at most MaxConns-RootReserved.
	RootReserved int
	// MaxStreams is the most open event streams; default 32, a quarter of
	// them reserved for root.
	MaxStreams int
	// MetricsConns is the most metrics connections open at once; default 16.
	MetricsConns int
	// ReadHeaderTimeout bounds reading a request's header (default 5 s),
	// ReadTimeout the whole request (default 10 s), IdleTimeout a
	// keep-alive connection between requests (default 5 s: an idle
	// connection holds a slot of the limits).
	ReadHeaderTimeout, ReadTimeout, IdleTimeout time.Duration
	// WriteTimeout bounds each write of an answer, not the whole answer: an
	// action may take long and an event stream lasts, but a reader that
	// stops reading is cut after WriteTimeout (default 10 s).
	WriteTimeout time.Duration
}

// withDefaults fills the zero fields and clamps the connection counts to
// fdBudget file descriptors (0: no clamp), so that accept never fails for
// lack of descriptors before a limit refuses a connection.
func (l Limits) withDefaults(fdBudget int) Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defD := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.MaxConns, 64)
	def(&l.PerUID, 8)
	def(&l.RootReserved, 16)
	def(&l.MaxStreams, 32)
	def(&l.MetricsConns, 16)
	defD(&l.ReadHeaderTimeout, 5*time.Second)
	defD(&l.ReadTimeout, 10*time.Second)
	defD(&l.IdleTimeout, 5*time.Second)
	defD(&l.WriteTimeout, 10*time.Second)
	if fdBudget > 0 && l.MaxConns+l.MetricsConns > fdBudget {
		l.MetricsConns = max(1, fdBudget/8)
		l.MaxConns = max(2, fdBudget-l.MetricsConns)
	}
	l.MaxStreams = min(l.MaxStreams, l.MaxConns)
	l.RootReserved = min(l.RootReserved, l.MaxConns/2)
	return l
}

// anonymous is the uid of a caller whose uid is unknown (the metrics
// port); it is never root.
const anonymous = ^uint32(0)

// slots counts what callers hold: at most max in all, at most perUID for
// one non-root uid (0: no per-uid limit), and reserved of them for root
// only. Safe for concurrent use.
type slots struct {
	max, perUID, reserved int

	mu      sync.Mutex
	total   int
	nonRoot int
	byUID   map[uint32]int
}

func newSlots(max, perUID, reserved int) *slots {
	return &slots{max: max, perUID: perUID, reserved: reserved, byUID: map[uint32]int{}}
}

// take claims a slot for uid, or reports false when a limit is reached.
func (s *slots) take(uid uint32) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.total >= s.max {
		return false
	}
	if uid != 0 {
		if s.nonRoot >= s.max-s.reserved || (s.perUID > 0 && s.byUID[uid] >= s.perUID) {
			return false
		}
		s.nonRoot++
	}
	s.total++
	s.byUID[uid]++
	return true
}

// put gives back a slot take gave uid.
func (s *slots) put(uid uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total--
	if uid != 0 {
		s.nonRoot--
	}
	if s.byUID[uid]--; s.byUID[uid] <= 0 {
		delete(s.byUID, uid)
	}
}

// held returns how many slots are taken.
func (s *slots) held() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// limitListener accepts connections while their caller has a slot left and
// closes the others at once (after a one-line 503), so excess connections
// cost neither memory nor a file descriptor for long, and never queue in
// front of root's. On the API socket it reads each caller's credentials
// once, for the limit and for the access check (limitedConn).
type limitListener struct {
	net.Listener
	slots *slots
	// cred reads a connection's credentials; nil: every caller is anonymous.
	cred func(net.Conn) (Cred, error)
	name string
	log  *slog.Logger

	mu       sync.Mutex
	refused  int
	lastWarn time.Time
}

// Accept returns the next connection a limit admits.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		lc := &limitedConn{Conn: c, uid: anonymous, slots: l.slots}
		if l.cred != nil {
			lc.cred, lc.credErr = l.cred(c)
			if lc.credErr == nil {
				lc.uid = lc.cred.UID
			}
		}
		if l.slots.take(lc.uid) {
			return lc, nil
		}
		l.refuse(c, lc)
	}
}

// refuse answers 503 (bounded by a short deadline) and closes c, with a
// warning at most every 10 s.
func (l *limitListener) refuse(c net.Conn, lc *limitedConn) {
	_ = c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	_, _ = c.Write([]byte("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"))
	_ = c.Close()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refused++
	if now := time.Now(); now.Sub(l.lastWarn) >= 10*time.Second {
		l.log.Warn(l.name+": connection limit reached, refusing connections", "refused", l.refused, "uid", lc.uid, "pid", lc.cred.PID, "open", l.slots.held())
		l.lastWarn = now
	}
}

// limitedConn is an admitted connection: it gives its slot back on the
// first Close, and carries the caller's credentials.
type limitedConn struct {
	net.Conn
	uid     uint32
	cred    Cred
	credErr error
	slots   *slots
	once    sync.Once
}

// Close closes the connection and frees its slot.
func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.slots.put(c.uid) })
	return err
}

// deadlineWriter sets a write deadline before each write of an answer: a
// per-write bound that an event stream survives as long as its reader
// reads.
type deadlineWriter struct {
	http.ResponseWriter
	rc *http.ResponseController
	d  time.Duration
}

func (w *deadlineWriter) arm() { _ = w.rc.SetWriteDeadline(time.Now().Add(w.d)) }

func (w *deadlineWriter) WriteHeader(code int) {
	w.arm()
	w.ResponseWriter.WriteHeader(code)
}

func (w *deadlineWriter) Write(b []byte) (int, error) {
	w.arm()
	return w.ResponseWriter.Write(b)
}

// Flush sends what is buffered, within a fresh deadline.
func (w *deadlineWriter) Flush() {
	w.arm()
	_ = w.rc.Flush()
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *deadlineWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// writeDeadlines wraps h so that every write of its answers is bounded by d.
func writeDeadlines(h http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(&deadlineWriter{ResponseWriter: w, rc: http.NewResponseController(w), d: d}, r)
	})
}

// newServer is an http.Server with the limits' timeouts and no global write
// timeout (see Limits.WriteTimeout).
func newServer(h http.Handler, l Limits, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           writeDeadlines(h, l.WriteTimeout),
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}
