package opener

import (
	"context"
	"errors"
	"testing"

	"github.com/hakit/hakit/scsi/opener/devname"
)

func TestOpenRefuses(t *testing.T) {
	ctx := context.Background()
	if _, _, err := Open(ctx, "sdb", Options{}); !errors.Is(err, devname.ErrBadDevice) {
		t.Errorf("a bare name: %v, want ErrBadDevice", err)
	}
	if _, _, err := Open(ctx, "iscsi://", Options{}); err == nil {
		t.Error("an iscsi:// URL without a target opened")
	}
	if _, _, err := Open(ctx, "/nonexistent/sg9", Options{}); err == nil {
		t.Error("a missing device path opened")
	}
}

// Open has the signature of Func, so callers can take either.
var _ Func = Open

// Sessions opens a device path or refuses a bad string as Open does.
func TestSessionsRefuses(t *testing.T) {
	ctx := context.Background()
	var p Sessions
	if _, _, err := p.Open(ctx, "sdb", Options{}); !errors.Is(err, devname.ErrBadDevice) {
		t.Errorf("a bare name: %v, want ErrBadDevice", err)
	}
	if _, _, err := p.Open(ctx, "iscsi://", Options{}); err == nil {
		t.Error("an iscsi:// URL without a target opened")
	}
	if _, _, err := p.Open(ctx, "/nonexistent/sg9", Options{}); err == nil {
		t.Error("a missing device path opened")
	}
}
