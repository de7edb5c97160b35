//go:build !linux

package lab

import (
	"context"
	"errors"
	"testing"
)

func TestUnsupported(t *testing.T) {
	if _, err := Prepare(context.Background(), PartsConfig{}); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Prepare: %v, want ErrUnsupported", err)
	}
	if _, err := Start(context.Background(), Config{}); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Start: %v, want ErrUnsupported", err)
	}
}
