package serialhb

import (
	"errors"
	"fmt"
	"time"
)

//go:generate go run golang.org/x/tools/cmd/stringer@v0.52.0 -type=State,EventKind -linecomment -output=link_string.go

// State is the link's view of its peer.
type State uint8

// Link states, as in Heartbeat: a fresh link waits initdead for a first
// frame; a peer is alive while frames arrive, late (warn) after warntime of
// silence and dead after deadtime.
//
// Their String names (the line comments, also the JSON text) are generated
// by stringer: go generate ./serialhb.
const (
	StateInitDead State = iota // initdead
	StateAlive                 // alive
	StateWarn                  // warn
	StateDead                  // dead
)

// MarshalText implements encoding.TextMarshaler.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// EventKind tells what an Event reports.
type EventKind uint8

// Event kinds: a state transition (From, To); the peer restarted (a new
// incarnation); runner: the port failed (Err); runner: the port was
// (re)opened. String (generated) gives the line comment.
const (
	EventState      EventKind = iota + 1 // state
	EventRestart                         // restart
	EventPortLost                        // port-lost
	EventPortOpened                      // port-opened
)

// MarshalText implements encoding.TextMarshaler.
func (k EventKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Event is something that happened on the link, stamped with the time of the
// clock that drives it.
type Event struct {
	Time time.Time `json:"time"`
	Kind EventKind `json:"kind"`
	From State     `json:"from"`
	To   State     `json:"to"`
	// Peer and Incarnation identify the peer (zero if never heard);
	// PrevIncarnation is set on EventRestart.
	Peer            uint16 `json:"peer,omitempty"`
	Incarnation     uint64 `json:"incarnation,omitempty"`
	PrevIncarnation uint64 `json:"prev_incarnation,omitempty"`
	// Silence is the time since the peer was last heard (or since the link
	// started, if never).
	Silence time.Duration `json:"silence_ns"`
	// Err describes a port failure (EventPortLost).
	Err string `json:"err,omitempty"`
}

func (e Event) String() string {
	ts := e.Time.Format("15:04:05.000")
	switch e.Kind {
	case EventState:
		return fmt.Sprintf("%s peer %d %s -> %s (silence %v, incarnation %d)", ts, e.Peer, e.From, e.To, e.Silence.Round(time.Millisecond), e.Incarnation)
	case EventRestart:
		return fmt.Sprintf("%s peer %d restarted: incarnation %d -> %d", ts, e.Peer, e.PrevIncarnation, e.Incarnation)
	case EventPortLost:
		return fmt.Sprintf("%s port lost: %s", ts, e.Err)
	case EventPortOpened:
		return fmt.Sprintf("%s port opened", ts)
	}
	return fmt.Sprintf("%s %v", ts, e.Kind)
}

// Counters count frames and faults on a link. Every frame or block that is
// not accepted increments exactly one of CRCErrors, Malformed, AuthFailures,
// ForeignCluster, ForeignNode, Duplicates, Replays, Oversize or COBSErrors.
type Counters struct {
	Sent           uint64 `json:"sent"`            // frames queued for the wire
	Received       uint64 `json:"received"`        // frames accepted from the peer
	BytesReceived  uint64 `json:"bytes_received"`  // raw bytes fed
	CRCErrors      uint64 `json:"crc_errors"`      // CRC-32C mismatch (line noise)
	Malformed      uint64 `json:"malformed"`       // wrong length, type, flags, version
	COBSErrors     uint64 `json:"cobs_errors"`     // blocks that are not valid COBS
	Oversize       uint64 `json:"oversize"`        // blocks too long to be a frame
	Resyncs        uint64 `json:"resyncs"`         // blocks discarded to the next delimiter (any of the four above)
	AuthFailures   uint64 `json:"auth_failures"`   // MAC mismatch (wrong key)
	ForeignCluster uint64 `json:"foreign_cluster"` // frames of another cluster id
	ForeignNode    uint64 `json:"foreign_node"`    // frames of an unexpected node id, or our own (loopback)
	Gaps           uint64 `json:"gaps"`            // sequence numbers skipped by the peer's frames
	Duplicates     uint64 `json:"duplicates"`      // a sequence number seen before in the window
	Replays        uint64 `json:"replays"`         // an old incarnation or a sequence behind the window
	Restarts       uint64 `json:"restarts"`        // new peer incarnations after the first
	Unproven       uint64 `json:"unproven"`        // frames of an untrusted incarnation that echo no frame of ours
	Deaths         uint64 `json:"deaths"`          // transitions to dead
}

// RTTStats are round-trip estimates from echoed frames.
type RTTStats struct {
	Samples  uint64        `json:"samples"`
	Last     time.Duration `json:"last_ns"`
	Smoothed time.Duration `json:"smoothed_ns"` // EWMA, gain 1/8 (RFC 6298)
	Jitter   time.Duration `json:"jitter_ns"`   // mean deviation of successive samples, gain 1/16 (RFC 3550)
	Min      time.Duration `json:"min_ns"`
	Max      time.Duration `json:"max_ns"`
}

// PeerInfo is what the link knows of its peer.
type PeerInfo struct {
	Node        uint16    `json:"node"`
	Incarnation uint64    `json:"incarnation"`
	Seq         uint64    `json:"seq"`
	State       NodeState `json:"state"`
	Timestamp   int64     `json:"timestamp"` // the peer's clock in its last frame, Unix ns
}

// LinkStatus is a snapshot of a link.
type LinkStatus struct {
	State     State         `json:"state"`
	Since     time.Time     `json:"since"`      // time of the last transition
	LastHeard time.Time     `json:"last_heard"` // zero if never
	Silence   time.Duration `json:"silence_ns"`
	// MaxSilence is the longest gap between two frames of the peer (a
	// cut cable included): on a healthy line, the margin a deadtime must
	// cover here.
	MaxSilence  time.Duration `json:"max_silence_ns"`
	Node        uint16        `json:"node"`
	Incarnation uint64        `json:"incarnation"`
	Peer        PeerInfo      `json:"peer"`
	RTT         RTTStats      `json:"rtt"`
	Counters    Counters      `json:"counters"`
	Timers      Timers        `json:"timers"`

	// MaxSilencePeerGap is, for the MaxSilence gap, the time between the
	// two frames' send timestamps (the peer's clock): how late the peer
	// sent. The rest of MaxSilence is the line's delay and this node's (the
	// kernel's tty work, the reader's wake-up); a clock offset between the
	// nodes cancels out.
	MaxSilencePeerGap time.Duration `json:"max_silence_peer_gap_ns"`
}

// Pong is the answer to a ping the link sent.
type Pong struct {
	Seq uint64        // sequence number of the ping
	RTT time.Duration // time from sending the ping to receiving the pong
}

// Ready is what a link asks its driver to do.
type Ready struct {
	Frames [][]byte // wire bytes to write, in order
	Events []Event
	Pongs  []Pong
}

// Empty reports whether r holds nothing.
func (r *Ready) Empty() bool { return len(r.Frames) == 0 && len(r.Events) == 0 && len(r.Pongs) == 0 }

// LinkConfig configures a Link.
type LinkConfig struct {
	Cluster uint32 // cluster id; frames of other clusters are counted and ignored
	Node    uint16 // this node's id, 1..65535
	// Peer is the peer's node id; 0 accepts the first node heard and then
	// only that one.
	Peer uint16
	// Key is the shared key, at least MinKeyLen bytes.
	Key []byte
	// Incarnation identifies this run of the node and must grow on every
	// restart (e.g. the start time in Unix nanoseconds); it must be non-zero.
	Incarnation uint64
	Timers      Timers
	State       NodeState
}

// replayWindow is the number of sequence numbers behind the highest one
// that are tracked for duplicates.
const replayWindow = 64

// Link is the pure state machine of one heartbeat link: it holds no port,
// goroutine or clock. The driver feeds it received bytes (Feed or Step),
// calls Tick at the times NextTick asks for, and after each call writes the
// frames and handles the events of Ready. It is not safe for concurrent use:
// one goroutine owns it.
type Link struct {
	cfg    LinkConfig
	timers Timers
	framer Framer

	start     time.Time
	state     State
	since     time.Time
	lastHeard time.Time
	// maxSilence is the longest gap between two frames heard.
	maxSilence time.Duration
	nextHB     time.Time
	// maxSilencePeerGap is that gap in the peer's send timestamps.
	maxSilencePeerGap time.Duration

	seq  uint64
	sent [replayWindow]sentRec

	peer      PeerInfo
	peerKnown bool
	win       uint64 // bit i: peer.Seq-i accepted
	lastRx    rxRec

	mac      *macer
	rtt      RTTStats
	counters Counters
	ready    Ready
	buf      []byte
}

type sentRec struct {
	seq uint64
	ts  int64 // the frame's timestamp field
	at  time.Time
}

type rxRec struct {
	seq uint64
	ts  int64
	at  time.Time
}

// NewLink validates cfg and returns a link started at now, in state
// initdead, with a first heartbeat due at once.
func NewLink(cfg LinkConfig, now time.Time) (*Link, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	l := &Link{
		cfg:    cfg,
		timers: cfg.Timers.WithDefaults(),
		start:  now,
		since:  now,
		nextHB: now,
		state:  StateInitDead,
	}
	l.cfg.Key = append([]byte(nil), cfg.Key...)
	l.mac = newMACer(l.cfg.Key)
	return l, nil
}

func (c *LinkConfig) validate() error {
	switch {
	case c.Node == 0:
		return fmt.Errorf("%w: node id 0 (use 1..65535)", ErrBadConfig)
	case c.Peer == c.Node:
		return fmt.Errorf("%w: peer id %d is this node's id", ErrBadConfig, c.Peer)
	case len(c.Key) < MinKeyLen:
		return fmt.Errorf("%w: %w (%d bytes, need %d)", ErrBadConfig, ErrShortKey, len(c.Key), MinKeyLen)
	case c.Incarnation == 0:
		return fmt.Errorf("%w: incarnation 0", ErrBadConfig)
	}
	return c.Timers.Validate()
}

// State returns the current state.
func (l *Link) State() State { return l.state }

// Incarnation returns this node's incarnation.
func (l *Link) Incarnation() uint64 { return l.cfg.Incarnation }

// SetState sets the node state sent in the following frames.
func (l *Link) SetState(s NodeState) { l.cfg.State = s }

// Ready returns and clears what the link produced since the last call.
func (l *Link) Ready() Ready {
	r := l.ready
	l.ready = Ready{}
	return r
}

// NextTick returns the time at which Tick must next run: the next heartbeat
// or the next timer expiry, whichever comes first.
func (l *Link) NextTick() time.Time {
	t := l.nextHB
	var exp time.Time
	switch l.state {
	case StateInitDead:
		exp = l.start.Add(l.timers.Initdead)
	case StateAlive:
		exp = l.lastHeard.Add(l.timers.Warntime)
	case StateWarn:
		exp = l.lastHeard.Add(l.timers.Deadtime)
	}
	if !exp.IsZero() && exp.Before(t) {
		t = exp
	}
	return t
}

// Tick advances the timers to now: state transitions first, then a
// heartbeat if one is due.
func (l *Link) Tick(now time.Time) {
	silence := l.silence(now)
	switch l.state {
	case StateInitDead:
		if now.Sub(l.start) >= l.timers.Initdead {
			l.transition(now, StateDead)
		}
	case StateAlive, StateWarn:
		if silence >= l.timers.Deadtime {
			l.transition(now, StateDead)
		} else if silence >= l.timers.Warntime && l.state == StateAlive {
			l.transition(now, StateWarn)
		}
	}
	if !now.Before(l.nextHB) {
		var flags uint8
		if l.state != StateAlive {
			flags = FlagAckRequest
		}
		l.send(now, TypeHeartbeat, flags, l.lastRx)
		l.nextHB = l.nextHB.Add(l.timers.Keepalive)
		if !l.nextHB.After(now) {
			l.nextHB = now.Add(l.timers.Keepalive)
		}
	}
}

// Ping queues a ping (cable test) and returns its sequence number; the pong
// comes back in Ready().Pongs.
func (l *Link) Ping(now time.Time) uint64 {
	l.send(now, TypePing, 0, rxRec{})
	return l.seq
}

func (l *Link) silence(now time.Time) time.Duration {
	if l.lastHeard.IsZero() {
		return now.Sub(l.start)
	}
	return now.Sub(l.lastHeard)
}

func (l *Link) transition(now time.Time, to State) {
	ev := Event{Time: now, Kind: EventState, From: l.state, To: to, Silence: l.silence(now)}
	if l.peerKnown {
		ev.Peer, ev.Incarnation = l.peer.Node, l.peer.Incarnation
	}
	l.state, l.since = to, now
	if to == StateDead {
		l.counters.Deaths++
	}
	l.ready.Events = append(l.ready.Events, ev)
}

func (l *Link) send(now time.Time, t Type, flags uint8, echo rxRec) {
	l.seq++
	f := Frame{
		Type: t, Flags: flags, State: l.cfg.State, Cluster: l.cfg.Cluster, Node: l.cfg.Node,
		Incarnation: l.cfg.Incarnation, Seq: l.seq, Timestamp: now.UnixNano(),
	}
	if echo.seq != 0 {
		f.EchoSeq, f.EchoTimestamp = echo.seq, echo.ts
		if d := now.Sub(echo.at).Microseconds(); d > 0 {
			f.EchoDelayUS = uint32(min(d, 1<<32-1))
		}
	}
	var body [BodyLen]byte
	b := appendWire(make([]byte, 0, WireLen), appendBody(body[:0], &f, l.mac))
	l.sent[l.seq%replayWindow] = sentRec{seq: l.seq, ts: f.Timestamp, at: now}
	l.counters.Sent++
	l.ready.Frames = append(l.ready.Frames, b)
}

// Feed consumes raw bytes read from the port and steps every complete block.
func (l *Link) Feed(now time.Time, p []byte) {
	l.counters.BytesReceived += uint64(len(p))
	before := l.framer.Discarded
	l.framer.Feed(p, func(block []byte) { l.Step(now, block) })
	if d := l.framer.Discarded - before; d > 0 {
		l.counters.Oversize += d
		l.counters.Resyncs += d
	}
}

// Step handles one COBS block (stuffed, without zero delimiters): decode,
// verify, check for replays, and update the peer's state.
func (l *Link) Step(now time.Time, block []byte) {
	body, err := AppendUnCOBS(l.buf[:0], block)
	l.buf = body[:0]
	if err != nil {
		l.counters.COBSErrors++
		l.counters.Resyncs++
		return
	}
	f, err := parseBody(body, l.mac, &l.cfg.Cluster)
	switch {
	case err == nil:
	case errors.Is(err, ErrCRC):
		l.counters.CRCErrors++
		l.counters.Resyncs++
		return
	case errors.Is(err, ErrForeignCluster):
		l.counters.ForeignCluster++
		return
	case errors.Is(err, ErrAuth):
		l.counters.AuthFailures++
		return
	default:
		l.counters.Malformed++
		l.counters.Resyncs++
		return
	}
	l.handle(now, &f)
}

func (l *Link) handle(now time.Time, f *Frame) {
	if f.Node == l.cfg.Node || (l.cfg.Peer != 0 && f.Node != l.cfg.Peer) || (l.peerKnown && f.Node != l.peer.Node) {
		l.counters.ForeignNode++
		return
	}
	if !l.acceptSeq(now, f) {
		return
	}
	l.counters.Received++
	if !l.lastHeard.IsZero() {
		if gap := now.Sub(l.lastHeard); gap > l.maxSilence {
			l.maxSilence, l.maxSilencePeerGap = gap, time.Duration(f.Timestamp-l.peer.Timestamp)
		}
	}
	l.lastHeard = now
	l.peer.Seq = max(l.peer.Seq, f.Seq)
	l.peer.State, l.peer.Timestamp = f.State, f.Timestamp
	l.sampleRTT(now, f)
	if l.state != StateAlive {
		l.transition(now, StateAlive)
	}
	l.answer(now, f)
	if f.Type == TypePong {
		if s := l.sent[f.EchoSeq%replayWindow]; f.EchoSeq != 0 && s.seq == f.EchoSeq {
			l.ready.Pongs = append(l.ready.Pongs, Pong{Seq: f.EchoSeq, RTT: now.Sub(s.at)})
		}
	}
}

// answer echoes a heartbeat in the following frames (at once in an ack when
// it asks for one) and answers a ping with a pong. It runs for frames of an
// untrusted incarnation too: the echo is a live peer's proof that this node
// is fresh, and a pong proves nothing to this link.
func (l *Link) answer(now time.Time, f *Frame) {
	switch f.Type {
	case TypeHeartbeat:
		l.lastRx = rxRec{seq: f.Seq, ts: f.Timestamp, at: now}
		if f.Flags&FlagAckRequest != 0 {
			l.send(now, TypeAck, 0, l.lastRx)
		}
	case TypePing:
		l.send(now, TypePong, 0, rxRec{seq: f.Seq, ts: f.Timestamp, at: now})
	}
}

// fresh reports whether f echoes one of the last replayWindow frames this
// link sent (sequence and timestamp): then f was made after that frame, in
// this run of this node, and cannot come from a recording.
func (l *Link) fresh(f *Frame) bool {
	s := l.sent[f.EchoSeq%replayWindow]
	return f.EchoSeq != 0 && s.seq == f.EchoSeq && s.ts == f.EchoTimestamp && !s.at.IsZero()
}

// acceptSeq applies the replay rules. A peer incarnation other than the
// one this link trusts (the first one heard, a restart, a peer whose clock
// went back) is trusted only once a frame of it proves it fresh by echoing
// a frame this link sent (fresh): until then its frames are counted as
// unproven and only echoed, so the live peer gets its own proof. Within the
// trusted incarnation a sequence number is accepted once, if no more than
// replayWindow-1 behind the highest seen.
func (l *Link) acceptSeq(now time.Time, f *Frame) bool {
	if !l.peerKnown || f.Incarnation != l.peer.Incarnation {
		if !l.fresh(f) {
			if l.peerKnown && f.Incarnation < l.peer.Incarnation {
				l.counters.Replays++
			} else {
				l.counters.Unproven++
			}
			l.answer(now, f)
			return false
		}
		if l.peerKnown {
			l.counters.Restarts++
			l.ready.Events = append(l.ready.Events, Event{
				Time: now, Kind: EventRestart, From: l.state, To: l.state, Peer: f.Node,
				Incarnation: f.Incarnation, PrevIncarnation: l.peer.Incarnation, Silence: l.silence(now),
			})
		}
		l.peerKnown = true
		l.peer = PeerInfo{Node: f.Node, Incarnation: f.Incarnation, Seq: f.Seq}
		l.win = 1
		return true
	}
	hi := l.peer.Seq
	switch {
	case f.Seq > hi:
		l.counters.Gaps += f.Seq - hi - 1
		if d := f.Seq - hi; d >= replayWindow {
			l.win = 1
		} else {
			l.win = l.win<<d | 1
		}
		return true
	case hi-f.Seq >= replayWindow:
		l.counters.Replays++
		return false
	case l.win&(1<<(hi-f.Seq)) != 0:
		l.counters.Duplicates++
		return false
	}
	l.win |= 1 << (hi - f.Seq)
	return true
}

func (l *Link) sampleRTT(now time.Time, f *Frame) {
	if f.EchoSeq == 0 {
		return
	}
	s := l.sent[f.EchoSeq%replayWindow]
	if s.seq != f.EchoSeq || s.at.IsZero() {
		return
	}
	rtt := now.Sub(s.at) - time.Duration(f.EchoDelayUS)*time.Microsecond
	if rtt < 0 {
		rtt = 0
	}
	r := &l.rtt
	if r.Samples == 0 {
		r.Smoothed, r.Min, r.Max = rtt, rtt, rtt
	} else {
		d := rtt - r.Last
		if d < 0 {
			d = -d
		}
		r.Jitter += (d - r.Jitter) / 16
		r.Smoothed += (rtt - r.Smoothed) / 8
		r.Min, r.Max = min(r.Min, rtt), max(r.Max, rtt)
	}
	r.Last = rtt
	r.Samples++
}

// Status returns a snapshot of the link at now.
func (l *Link) Status(now time.Time) LinkStatus {
	s := LinkStatus{
		State: l.state, Since: l.since, LastHeard: l.lastHeard, Silence: l.silence(now), MaxSilence: l.maxSilence, MaxSilencePeerGap: l.maxSilencePeerGap,
		Node: l.cfg.Node, Incarnation: l.cfg.Incarnation, RTT: l.rtt, Counters: l.counters, Timers: l.timers,
	}
	if l.peerKnown {
		s.Peer = l.peer
	}
	return s
}

// Counters returns the counters.
func (l *Link) Counters() Counters { return l.counters }
