package iscsi

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/hakit/hakit/scsi"
)

// Two logical units of one target share one session: one login, one ISID,
// and each command carries its own LUN field.
func TestLogicalUnitsShareSession(t *testing.T) {
	ft := newFake(t)
	s := ft.session(t, ft.config())
	lu1, err := s.LUN(1)
	if err != nil {
		t.Fatal(err)
	}
	lu2, err := s.LUN(2)
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		for _, lu := range []*LogicalUnit{lu1, lu2} {
			if _, err := lu.Execute(context.Background(), tur()); err != nil {
				t.Fatalf("LUN %d: %v", lu.Number(), err)
			}
		}
	}
	if err := lu2.Reset(context.Background(), scsi.ResetLUN); err != nil {
		t.Fatalf("LUN 2 reset: %v", err)
	}
	luns := map[uint64]int{}
	var tmfLUN uint64
	for _, m := range ft.received() {
		switch m := m.(type) {
		case *scsiCmd:
			luns[m.LUN]++
		case *tmReq:
			tmfLUN = m.LUN
		}
	}
	if luns[lunField(1)] != 20 || luns[lunField(2)] != 20 || len(luns) != 2 {
		t.Errorf("commands by LUN field %v: want 20 on LUN 1 and 20 on LUN 2", luns)
	}
	if tmfLUN != lunField(2) {
		t.Errorf("LUN RESET sent to LUN field %#x, want LUN 2", tmfLUN)
	}
	ft.mu.Lock()
	logins := len(ft.conns)
	ft.mu.Unlock()
	if st := s.Stats(); logins != 1 || st.Reconnects != 0 {
		t.Errorf("%d logins, %d reconnects: want 1 and 0", logins, st.Reconnects)
	}
	if _, err := s.LUN(16384); err == nil {
		t.Error("LUN 16384 accepted")
	}
}

// After a reconnect, no command but the hook's reaches the new connection
// until OnReconnect returns (a status read must not meet an unregistered
// nexus and take RESERVATION CONFLICT for a fence).
func TestReconnectHookRunsFirst(t *testing.T) {
	ft := newFake(t)
	const hookOp, otherOp = 0x5f, 0x12
	inHook, release := make(chan struct{}), make(chan struct{})
	cfg := ft.config()
	cfg.Reconnect.MinBackoff = 5 * time.Millisecond
	var s *Session
	var hookErr error
	cfg.OnReconnect = func(ctx context.Context, ev ReconnectEvent) {
		close(inHook)
		<-release
		_, hookErr = s.Execute(ctx, &scsi.Command{CDB: []byte{hookOp, 0, 0, 0, 0, 0, 0, 0, 0, 0}})
		if lu, err := s.LUN(2); err == nil {
			if _, err := lu.Execute(ctx, tur()); err != nil && hookErr == nil {
				hookErr = err
			}
		}
	}
	s = ft.session(t, cfg)
	ft.dropAll()
	for s.Stats().Connected {
		time.Sleep(time.Millisecond)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // triggers the reconnect and runs the hook
		defer wg.Done()
		if _, err := s.Execute(context.Background(), tur()); err != nil {
			t.Errorf("reconnecting call: %v", err)
		}
	}()
	<-inHook
	// The new connection is up, the hook has not run its commands yet.
	others := make(chan error, 3)
	lu3, _ := s.LUN(3)
	for _, tr := range []scsi.Transport{s, lu3, s} {
		go func() {
			_, err := tr.Execute(context.Background(), &scsi.Command{CDB: []byte{otherOp, 0, 0, 0, 36, 0}, Direction: scsi.FromDevice, AllocLen: 36})
			others <- err
		}()
	}
	select {
	case err := <-others:
		t.Fatalf("a call finished while the hook ran: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	// A call whose context ends while the hook runs fails by its deadline.
	if _, err := s.Execute(contextWithTimeout(t, 20*time.Millisecond), tur()); err == nil {
		t.Error("a call with a short deadline went through during the hook")
	}
	close(release)
	for range 3 {
		if err := <-others; err != nil {
			t.Errorf("call after the hook: %v", err)
		}
	}
	wg.Wait()
	if hookErr != nil {
		t.Fatalf("hook's command: %v", hookErr)
	}
	var order []byte
	for _, m := range ft.received() {
		if c, ok := m.(*scsiCmd); ok && (c.CDB[0] == hookOp || c.CDB[0] == otherOp) {
			order = append(order, c.CDB[0])
		}
	}
	if len(order) != 4 || order[0] != hookOp {
		t.Errorf("commands on the target in order % x: want the hook's 0x%02x first", order, hookOp)
	}
}
