package sbd_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hakit/hakit/blockio/blockiotest"
	"github.com/hakit/hakit/sbd"
)

func newDisk(t *testing.T) (*sbd.Disk, *[]time.Duration) {
	var slept []time.Duration
	d := &sbd.Disk{Sectors: blockiotest.New(512, 1024), Name: "mem", Sleep: func(ctx context.Context, d time.Duration) error {
		slept = append(slept, d)
		return ctx.Err()
	}}
	if err := d.Create(context.Background(), sbd.DefaultHeader(512)); err != nil {
		t.Fatal(err)
	}
	return d, &slept
}

func TestDiskVerbs(t *testing.T) {
	ctx := context.Background()
	d, slept := newDisk(t)
	h, err := d.Header(ctx)
	if err != nil || h != sbd.DefaultHeader(512) {
		t.Fatalf("header %+v %v", h, err)
	}
	for i, name := range []string{"node-a", "node-b", "NODE-A"} {
		slot, alloc, err := d.Allocate(ctx, name)
		want := []int{0, 1, 0}[i]
		if err != nil || slot != want || alloc != (i < 2) {
			t.Fatalf("allocate %s: slot %d allocated %v %v, want slot %d", name, slot, alloc, err, want)
		}
	}
	if len(*slept) != 2 || (*slept)[0] != 2*time.Second {
		t.Errorf("allocate waited %v, want the allocate timeout twice", *slept)
	}
	if _, err := d.Message(ctx, "node-b", sbd.MsgReset, "node-a"); err != nil {
		t.Fatal(err)
	}
	if last := (*slept)[len(*slept)-1]; last != 10*time.Second {
		t.Errorf("message waited %v, want msgwait 10s", last)
	}
	slots, err := d.Slots(ctx, h)
	if err != nil || len(slots) != 2 || slots[1].Mailbox != (sbd.Mailbox{Msg: sbd.MsgReset, From: "node-a"}) {
		t.Fatalf("slots %+v %v", slots, err)
	}
	n := len(*slept)
	if _, err := d.Message(ctx, "node-b", sbd.MsgExit, "node-a"); err != nil || len(*slept) != n {
		t.Errorf("exit: %v, waited %v (want no wait)", err, (*slept)[n:])
	}
	if _, err := d.Message(ctx, "node-c", sbd.MsgTest, "node-a"); !errors.Is(err, sbd.ErrNoSlot) {
		t.Errorf("message to an unknown node: %v", err)
	}
}

func TestDiskErrors(t *testing.T) {
	ctx := context.Background()
	m := blockiotest.New(512, 1024)
	d := &sbd.Disk{Sectors: m, Name: "mem"}
	if _, err := d.Header(ctx); !errors.Is(err, sbd.ErrNoHeader) {
		t.Errorf("blank disk: %v", err)
	}
	if err := d.Create(ctx, sbd.DefaultHeader(4096)); err == nil {
		t.Error("create with the wrong sector size: no error")
	}
	d, _ = newDisk(t)
	boom := errors.New("medium error")
	d.Sectors.(*blockiotest.Mem).Fail(boom)
	if _, _, err := d.Allocate(ctx, "x"); !errors.Is(err, boom) {
		t.Errorf("allocate on a failing disk: %v", err)
	}
	small := &sbd.Disk{Sectors: blockiotest.New(512, 1024), Sleep: func(context.Context, time.Duration) error { return nil }}
	h := sbd.DefaultHeader(512)
	h.Slots = 2
	if err := small.Create(ctx, h); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b"} {
		if _, _, err := small.Allocate(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := small.Allocate(ctx, "c"); !errors.Is(err, sbd.ErrFull) {
		t.Errorf("allocate on a full disk: %v", err)
	}
}

func TestWatcher(t *testing.T) {
	ctx := context.Background()
	d, _ := newDisk(t)
	w := &sbd.Watcher{Disk: d, Name: "me"}
	if _, slot, err := w.Start(ctx); err != nil || slot != 0 {
		t.Fatalf("start: slot %d %v", slot, err)
	}
	if m, err := w.Check(ctx); err != nil || m.Msg != sbd.MsgClear {
		t.Fatalf("idle check: %+v %v", m, err)
	}
	if _, err := d.Message(ctx, "me", sbd.MsgTest, "peer"); err != nil {
		t.Fatal(err)
	}
	if m, err := w.Check(ctx); err != nil || m != (sbd.Mailbox{Msg: sbd.MsgTest, From: "peer"}) {
		t.Fatalf("test: %+v %v", m, err)
	}
	if m, _ := d.ReadMailbox(ctx, 0); m.Msg != sbd.MsgClear {
		t.Errorf("test not cleared: %+v", m)
	}
	if _, err := d.Message(ctx, "me", sbd.MsgOff, "peer"); err != nil {
		t.Fatal(err)
	}
	var pe *sbd.PoisonError
	if _, err := w.Check(ctx); !errors.As(err, &pe) || pe.Mailbox.Msg != sbd.MsgOff || pe.Mailbox.From != "peer" {
		t.Fatalf("off: %v", err)
	}
	if _, _, err := (&sbd.Watcher{Disk: d, Name: "me"}).Start(ctx); !errors.As(err, &pe) || !pe.AtStart {
		t.Errorf("restart over a poison pill: %v", err)
	}
	h := sbd.DefaultHeader(512)
	h.Msgwait = 20
	if err := d.Create(ctx, h); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Check(ctx); err == nil || errors.As(err, &pe) {
		t.Errorf("check after the header changed: %v, want an error that is not a poison pill", err)
	}
}
