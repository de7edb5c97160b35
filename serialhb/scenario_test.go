package serialhb

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

var (
	testKey   = []byte("0123456789abcdef0123456789abcdef")
	wrongKey  = []byte("fedcba9876543210fedcba9876543210")
	testEpoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
)

// scenario drives a Link from a script (testdata/scenarios/*.txt) and
// writes a transcript that is compared with the .golden file next to it.
//
// Commands, one per line ('#' starts a comment):
//
//	link keepalive=MS warntime=MS deadtime=MS initdead=MS [peer=N]  new link at t=0 (node 1, cluster 7)
//	run MS            advance the clock by MS, ticking at every NextTick
//	recv TYPE k=v...  feed a frame from the peer: seq= inc= node= cluster= flags=ack
//	                  key=wrong echo=SEQ|none stale=yes delay=US sent=MS (stamped MS
//	                  before now); mangle=flip|truncate|split
//	                  (a frame of an untrusted incarnation echoes the link's
//	                  latest frame unless echo is given)
//	garbage HEX       feed raw bytes
//	status            print state, peer, rtt and non-zero counters
//	silence           print the longest silence and the peer's part of it
type scenario struct {
	t       *testing.T
	l       *Link
	now     time.Time
	out     bytes.Buffer
	peerInc uint64
}

func TestScenarios(t *testing.T) {
	files, err := filepath.Glob("testdata/scenarios/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			script, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			s := &scenario{t: t, now: testEpoch, peerInc: 1000}
			for n, line := range strings.Split(string(script), "\n") {
				if i := strings.IndexByte(line, '#'); i >= 0 {
					line = line[:i]
				}
				line = strings.TrimSpace(line)
				if line == "" {
					continue
				}
				fmt.Fprintf(&s.out, "> %s\n", line)
				if err := s.do(strings.Fields(line)); err != nil {
					t.Fatalf("%s:%d: %v", file, n+1, err)
				}
			}
			golden := strings.TrimSuffix(file, ".txt") + ".golden"
			if *update {
				if err := os.WriteFile(golden, s.out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if d := cmp.Diff(string(want), s.out.String()); d != "" {
				t.Errorf("transcript differs from %s (-want +got):\n%s", golden, d)
			}
		})
	}
}

func kv(args []string) (map[string]string, error) {
	m := map[string]string{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			return nil, fmt.Errorf("argument %q is not key=value", a)
		}
		m[k] = v
	}
	return m, nil
}

func num(m map[string]string, k string, def uint64) uint64 {
	if v, ok := m[k]; ok {
		n, err := strconv.ParseUint(v, 10, 64)
		if err == nil {
			return n
		}
	}
	return def
}

func (s *scenario) do(f []string) error {
	var m map[string]string
	var err error
	switch f[0] {
	case "recv", "garbage", "run":
		m, err = kv(f[2:])
	default:
		m, err = kv(f[1:])
	}
	if err != nil {
		return err
	}
	switch f[0] {
	case "link":
		s.now = testEpoch
		cfg := LinkConfig{Cluster: 7, Node: 1, Peer: uint16(num(m, "peer", 0)), Key: testKey, Incarnation: 500,
			Timers: TimersMS(int(num(m, "keepalive", 0)), int(num(m, "warntime", 0)), int(num(m, "deadtime", 0)), int(num(m, "initdead", 0)))}
		l, err := NewLink(cfg, s.now)
		if err != nil {
			fmt.Fprintf(&s.out, "error: %v\n", err)
			return nil
		}
		s.l = l
		fmt.Fprintf(&s.out, "%s\n", s.l.timers)
	case "run":
		ms, err := strconv.Atoi(f[1])
		if err != nil {
			return err
		}
		end := s.now.Add(time.Duration(ms) * time.Millisecond)
		for {
			next := s.l.NextTick()
			if next.After(end) {
				break
			}
			s.now = next
			s.l.Tick(s.now)
			s.flush()
		}
		s.now = end
	case "recv":
		s.recv(f[1], m)
	case "garbage":
		b, err := parseHex(f[1])
		if err != nil {
			return err
		}
		s.l.Feed(s.now, b)
		s.flush()
	case "status":
		st := s.l.Status(s.now)
		fmt.Fprintf(&s.out, "state %s since +%dms silence %dms peer node=%d inc=%d seq=%d\n", st.State,
			st.Since.Sub(testEpoch).Milliseconds(), st.Silence.Milliseconds(), st.Peer.Node, st.Peer.Incarnation, st.Peer.Seq)
		if st.RTT.Samples > 0 {
			fmt.Fprintf(&s.out, "rtt samples=%d last=%v smoothed=%v jitter=%v min=%v max=%v\n", st.RTT.Samples,
				st.RTT.Last, st.RTT.Smoothed, st.RTT.Jitter, st.RTT.Min, st.RTT.Max)
		}
		fmt.Fprintf(&s.out, "counters %s\n", countersString(st.Counters))
	case "silence":
		st := s.l.Status(s.now)
		fmt.Fprintf(&s.out, "max silence %v, of it the peer sent %v apart\n", st.MaxSilence, st.MaxSilencePeerGap)
	default:
		return fmt.Errorf("unknown command %q", f[0])
	}
	return nil
}

func parseHex(s string) ([]byte, error) {
	var b []byte
	for i := 0; i+1 < len(s); i += 2 {
		n, err := strconv.ParseUint(s[i:i+2], 16, 8)
		if err != nil {
			return nil, err
		}
		b = append(b, byte(n))
	}
	return b, nil
}

func countersString(c Counters) string {
	var parts []string
	for _, v := range []struct {
		n string
		v uint64
	}{
		{"sent", c.Sent}, {"received", c.Received}, {"crc", c.CRCErrors}, {"malformed", c.Malformed},
		{"cobs", c.COBSErrors}, {"oversize", c.Oversize}, {"resyncs", c.Resyncs}, {"auth", c.AuthFailures},
		{"foreign-cluster", c.ForeignCluster}, {"foreign-node", c.ForeignNode}, {"gaps", c.Gaps},
		{"duplicates", c.Duplicates}, {"replays", c.Replays}, {"restarts", c.Restarts}, {"unproven", c.Unproven}, {"deaths", c.Deaths},
	} {
		if v.v != 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", v.n, v.v))
		}
	}
	return strings.Join(parts, " ")
}

func (s *scenario) recv(typ string, m map[string]string) {
	types := map[string]Type{"heartbeat": TypeHeartbeat, "ack": TypeAck, "ping": TypePing, "pong": TypePong}
	fr := Frame{
		Type: types[typ], Cluster: uint32(num(m, "cluster", 7)), Node: uint16(num(m, "node", 2)),
		Incarnation: num(m, "inc", s.peerInc), Seq: num(m, "seq", 1), Timestamp: s.now.Add(-time.Duration(num(m, "sent", 0)) * time.Millisecond).UnixNano(),
		EchoSeq: num(m, "echo", 0), EchoDelayUS: uint32(num(m, "delay", 0)), State: NodeState{Role: RoleStandby},
	}
	if m["flags"] == "ack" {
		fr.Flags = FlagAckRequest
	}
	// A live peer proves a new incarnation by echoing the link's latest
	// frame; echo=none sends a frame without (a recording).
	if _, set := m["echo"]; !set && (!s.l.peerKnown || fr.Incarnation != s.l.peer.Incarnation) {
		fr.EchoSeq = s.l.seq
	}
	if m["echo"] == "none" {
		fr.EchoSeq = 0
	}
	if r := s.l.sent[fr.EchoSeq%replayWindow]; fr.EchoSeq != 0 && r.seq == fr.EchoSeq {
		fr.EchoTimestamp = r.ts
		if m["stale"] == "yes" { // an echo of an earlier run's frame
			fr.EchoTimestamp--
		}
	}
	key := testKey
	if m["key"] == "wrong" {
		key = wrongKey
	}
	body, err := AppendBody(nil, &fr, key)
	if err != nil {
		s.t.Fatal(err)
	}
	switch m["mangle"] {
	case "flip": // one bit of the sequence number: a CRC error
		body[30] ^= 0x10
	case "truncate": // a valid COBS block too short to be a frame
		body = body[:40]
	}
	wire := appendWire(nil, body)
	switch m["mangle"] {
	case "wireflip": // a COBS code byte becomes wrong
		wire[1] ^= 0x40
	case "split":
		s.l.Feed(s.now, wire[:30])
		s.flush()
		wire = wire[30:]
	}
	s.l.Feed(s.now, wire)
	s.flush()
}

func (s *scenario) flush() {
	r := s.l.Ready()
	at := s.now.Sub(testEpoch).Milliseconds()
	for _, w := range r.Frames {
		f, err := DecodeFrame(w, testKey, nil)
		if err != nil {
			s.t.Fatalf("link sent an undecodable frame: %v", err)
		}
		line := fmt.Sprintf("+%dms send %s seq=%d", at, f.Type, f.Seq)
		if f.Flags&FlagAckRequest != 0 {
			line += " ack-request"
		}
		if f.EchoSeq != 0 {
			line += fmt.Sprintf(" echo=%d delay=%dus", f.EchoSeq, f.EchoDelayUS)
		}
		fmt.Fprintln(&s.out, line)
	}
	for _, e := range r.Events {
		fmt.Fprintf(&s.out, "+%dms event %s %s -> %s peer=%d inc=%d prev=%d silence=%dms\n", e.Time.Sub(testEpoch).Milliseconds(),
			e.Kind, e.From, e.To, e.Peer, e.Incarnation, e.PrevIncarnation, e.Silence.Milliseconds())
	}
	for _, p := range r.Pongs {
		fmt.Fprintf(&s.out, "+%dms pong seq=%d rtt=%v\n", at, p.Seq, p.RTT)
	}
}
