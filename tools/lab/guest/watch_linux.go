package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// uartbeat DEV INTERVAL_MS DEAD_MS: writes one byte every interval to a raw
// tty and prints "alive T" / "dead T" (T: ms since start) when the peer's
// bytes start or stop arriving. Runs until killed.
func uartbeat(ctx context.Context, args []string, w io.Writer) error {
	if len(args) != 3 {
		return &exitError{2, errors.New("usage: hakit uartbeat DEV INTERVAL_MS DEAD_MS")}
	}
	interval, err1 := strconv.Atoi(args[1])
	dead, err2 := strconv.Atoi(args[2])
	if err := errors.Join(err1, err2); err != nil || interval <= 0 || dead <= interval {
		return &exitError{2, fmt.Errorf("bad timers %v %v: %v", args[1], args[2], err)}
	}
	fd, err := unix.Open(args[0], unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", args[0], err)
	}
	defer unix.Close(fd)
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return fmt.Errorf("termios %s: %w", args[0], err)
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB | unix.CRTSCTS | unix.CBAUD
	t.Cflag |= unix.CS8 | unix.CLOCAL | unix.CREAD | unix.B115200
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, t); err != nil {
		return fmt.Errorf("termios %s: %w", args[0], err)
	}
	start := time.Now()
	ms := func() int64 { return time.Since(start).Milliseconds() }
	var last time.Time
	alive := false
	buf := make([]byte, 256)
	next := time.Now()
	for ctx.Err() == nil {
		if time.Now().After(next) {
			_, _ = unix.Write(fd, []byte{'H'})
			next = next.Add(time.Duration(interval) * time.Millisecond)
		}
		if n, _ := unix.Read(fd, buf); n > 0 {
			last = time.Now()
			if !alive {
				alive = true
				fmt.Fprintf(w, "alive %d\n", ms())
			}
		}
		if alive && time.Since(last) > time.Duration(dead)*time.Millisecond {
			alive = false
			fmt.Fprintf(w, "dead %d\n", ms())
		}
		if f, ok := w.(*os.File); ok {
			_ = f.Sync()
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// linkwatch IFACE: prints "carrier 0|1 T" whenever the carrier changes.
func linkwatch(ctx context.Context, args []string, w io.Writer) error {
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
