package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// linkwatch IFACE: prints "carrier 0|1 T" whenever the carrier changes.
func linkwatch(ctx context.Context, args []string, w, _ io.Writer) error {
	if len(args) != 1 {
		return &exitError{2, errors.New("usage: hakit linkwatch IFACE")}
	}
	path := "/sys/class/net/" + args[0] + "/carrier"
	start := time.Now()
	prev := ""
	for ctx.Err() == nil {
		b, err := os.ReadFile(path)
		cur := strings.TrimSpace(string(b))
		if err != nil {
			cur = "?"
		}
		if cur != prev {
			fmt.Fprintf(w, "carrier %s %d\n", cur, time.Since(start).Milliseconds())
			prev = cur
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}
