//go:build !linux

package pcmk

import (
	"context"
	"errors"
	"testing"
)

func TestStartUnsupported(t *testing.T) {
	if _, err := Start(context.Background(), Config{}); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("Start: %v, want ErrUnsupported", err)
	}
}
