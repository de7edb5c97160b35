package serialhbtest

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"testing"
	"time"

	"github.com/hakit/hakit/serialhb"
)

var _ serialhb.Port = (*Port)(nil)

func TestCable(t *testing.T) {
	c := NewCable()
	a, err := c.Open(0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Open(1)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a.Write(ctx, []byte("hello"))
	buf := make([]byte, 3)
	if n, err := b.Read(ctx, buf); err != nil || string(buf[:n]) != "hel" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	if n, err := b.Read(ctx, buf); err != nil || string(buf[:n]) != "lo" {
		t.Fatalf("read rest %q, %v", buf[:n], err)
	}
	c.Cut()
	a.Write(ctx, []byte("lost"))
	dctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := b.Read(dctx, buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("read on a cut cable: %v, want a deadline error", err)
	}
	c.Reconnect()
	c.Inject(1, []byte("x"))
	if n, err := b.Read(ctx, buf); err != nil || string(buf[:n]) != "x" {
		t.Errorf("injected: %q, %v", buf[:n], err)
	}
	if m, err := a.ModemLines(); err != nil || m.Known() {
		t.Errorf("default modem lines %+v, %v; want unknown", m, err)
	}
	c.Unplug(1)
	if _, err := b.Read(ctx, buf); !errors.Is(err, ErrUnplugged) {
		t.Errorf("read on an unplugged end: %v", err)
	}
	if _, err := c.Open(1); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("open of an unplugged end: %v", err)
	}
	c.Replug(1)
	if _, err := c.Open(1); err != nil {
		t.Errorf("open after replug: %v", err)
	}
	a.Close()
	if _, err := a.Read(ctx, buf); !errors.Is(err, serialhb.ErrPortClosed) {
		t.Errorf("read after close: %v", err)
	}
}
