package opener

import (
	"context"
	"errors"
	"testing"
)

func TestKindOf(t *testing.T) {
	for dev, want := range map[string]Kind{
		"iscsi://127.0.0.1:3260/iqn.2026-11.io.hakit:lun/0": KindISCSI,
		"iscsi://chap:secret@10.0.0.1/iqn.x/1":              KindISCSI,
		"/dev/sdb":                                          KindSGIO,
		"/dev/sg3":                                          KindSGIO,
		"sdb":                                               KindUnknown,
		"":                                                  KindUnknown,
		"ISCSI://x":                                         KindUnknown,
	} {
		if got := KindOf(dev); got != want {
			t.Errorf("KindOf(%q) = %v, want %v", dev, got, want)
		}
		if IsISCSI(dev) != (want == KindISCSI) {
			t.Errorf("IsISCSI(%q) = %v", dev, IsISCSI(dev))
		}
	}
}

func TestOpenRefuses(t *testing.T) {
	ctx := context.Background()
	if _, _, err := Open(ctx, "sdb", Options{}); !errors.Is(err, ErrBadDevice) {
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
	if _, _, err := p.Open(ctx, "sdb", Options{}); !errors.Is(err, ErrBadDevice) {
		t.Errorf("a bare name: %v, want ErrBadDevice", err)
	}
	if _, _, err := p.Open(ctx, "iscsi://", Options{}); err == nil {
		t.Error("an iscsi:// URL without a target opened")
	}
	if _, _, err := p.Open(ctx, "/nonexistent/sg9", Options{}); err == nil {
		t.Error("a missing device path opened")
	}
}
