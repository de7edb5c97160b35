package serialhb_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/hakit/hakit/internal/rig"
	"github.com/hakit/hakit/serialhb"
)

// handPeer plays node 2 by hand on side B of the cable: it reads node 1's
// frames and builds authenticated frames that echo the latest, as the real
// peer's do.
type handPeer struct {
	t    *testing.T
	port *serialhb.SerialPort

	mu   sync.Mutex
	last serialhb.Frame // node 1's latest frame
}

func newHandPeer(t *testing.T, ctx context.Context, path string) *handPeer {
	p, err := serialhb.OpenPort(ctx, path, serialhb.PortConfig{})
	if err != nil {
		t.Fatal(err)
	}
	h := &handPeer{t: t, port: p}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done; p.Close() })
	go func() {
		defer close(done)
		cluster := uint32(7)
		var block []byte
		buf := make([]byte, 512)
		for rctx.Err() == nil {
			n, err := p.Read(rctx, buf)
			if err != nil && n == 0 {
				time.Sleep(time.Millisecond)
				continue
			}
			for _, c := range buf[:n] {
				if c != 0 {
					block = append(block, c)
					continue
				}
				if body, err := serialhb.AppendUnCOBS(nil, block); err == nil {
					if f, err := serialhb.ParseBody(body, key, &cluster); err == nil {
						h.mu.Lock()
						h.last = f
						h.mu.Unlock()
					}
				}
				block = block[:0]
			}
		}
	}()
	return h
}

// frames builds heartbeats seq from..to of incarnation inc; with echo they
// echo node 1's latest frame (a live peer), without they echo nothing.
func (h *handPeer) frames(inc, from, to uint64, echo bool) []byte {
	h.mu.Lock()
	last := h.last
	h.mu.Unlock()
	var out []byte
	for s := from; s <= to; s++ {
		f := serialhb.Frame{Type: serialhb.TypeHeartbeat, Cluster: 7, Node: 2, Incarnation: inc, Seq: s, Timestamp: time.Now().UnixNano()}
		if echo {
			f.EchoSeq, f.EchoTimestamp = last.Seq, last.Timestamp
		}
		var err error
		if out, err = serialhb.AppendFrame(out, &f, key); err != nil {
			h.t.Fatal(err)
		}
	}
	return out
}

func (h *handPeer) send(ctx context.Context, b []byte) {
	if _, err := h.port.Write(ctx, b); err != nil {
		h.t.Fatal(err)
	}
}

// waitEcho waits until node 1 has sent a frame of incarnation inc.
func (h *handPeer) waitEcho(inc uint64) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		h.mu.Lock()
		ok := h.last.Incarnation == inc && h.last.Seq != 0
		h.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("no frame of incarnation %d from node 1", inc)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRigReplay: genuine frames make node 1 alive; the same bytes again,
// frames of an older incarnation and the recording replayed after the peer
// went silent are rejected. After node 1 restarts (a new incarnation), the
// recording, played through the cable again and again, never makes the
// dead peer alive; the real peer, restarted with an earlier clock (a lower
// incarnation), is trusted at its first frame that echoes node 1.
func TestRigReplay(t *testing.T) {
	t.Parallel()
	c := rig.CableFor(t, rig.CableConfig{})
	timers := serialhb.TimersMS(20, 50, 100, 200)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a, ea := startRunner(t, serialhb.Config{Path: c.PathA(), Link: serialhb.LinkConfig{Node: 1, Peer: 2, Timers: timers}})
	b := newHandPeer(t, ctx, c.PathB())
	b.waitEcho(a.Incarnation())
	recorded := b.frames(1000, 1, 5, true)
	b.send(ctx, recorded)
	ea.waitState(5*time.Second, serialhb.StateAlive)
	waitCounter(t, a, "received 5", func(c serialhb.Counters) bool { return c.Received == 5 })
	b.send(ctx, recorded)
	b.send(ctx, b.frames(999, 6, 8, false))
	waitCounter(t, a, "duplicates 5, replays 3", func(c serialhb.Counters) bool { return c.Duplicates == 5 && c.Replays == 3 })
	ea.waitState(5*time.Second, serialhb.StateDead)
	for range 10 {
		b.send(ctx, recorded)
		time.Sleep(10 * time.Millisecond)
	}
	waitCounter(t, a, "duplicates 55", func(c serialhb.Counters) bool { return c.Duplicates == 55 })
	if st := a.Status(); st.State != serialhb.StateDead || st.Counters.Received != 5 {
		t.Errorf("after replays: state %s counters %+v", st.State, st.Counters)
	}

	// Node 1 restarts. The recording, replayed for longer than initdead,
	// proves nothing: the peer never comes alive.
	if err := a.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	a2, ea2 := startRunner(t, serialhb.Config{Path: c.PathA(), Link: serialhb.LinkConfig{Node: 1, Peer: 2, Timers: timers}})
	b.waitEcho(a2.Incarnation())
	end := time.Now().Add(400 * time.Millisecond)
	for time.Now().Before(end) {
		b.send(ctx, recorded)
		time.Sleep(10 * time.Millisecond)
	}
	st := a2.Status()
	if st.State == serialhb.StateAlive || st.Counters.Received != 0 {
		t.Fatalf("after a restart, the recording made the peer %s: %+v", st.State, st.Counters)
	}
	if st.Counters.Unproven < 5 {
		t.Errorf("unproven %d, want the recording's frames counted", st.Counters.Unproven)
	}
	for _, e := range ea2.drain() {
		if e.To == serialhb.StateAlive {
			t.Fatalf("the recording brought the peer alive: %v", e)
		}
	}
	t.Logf("after the restart: state %s, %d recorded frames refused as unproven", st.State, st.Counters.Unproven)

	// The real peer, restarted with its clock set back: a lower
	// incarnation, echoing node 1's latest frame.
	b.send(ctx, b.frames(500, 1, 1, true))
	ea2.waitState(5*time.Second, serialhb.StateAlive)
	if got := a2.Status().Peer.Incarnation; got != 500 {
		t.Errorf("peer incarnation %d, want 500", got)
	}
	// The recording stays refused.
	before := a2.Status().Counters.Received
	b.send(ctx, recorded)
	time.Sleep(50 * time.Millisecond)
	if got := a2.Status().Counters.Received; got != before {
		t.Errorf("the recording was accepted after the real peer: received %d -> %d", before, got)
	}
}
