package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/hakit/hakit/tools/lab"
)

const (
	modDir   = "/lab/mods"
	guestBin = "/lab/bin"
)

func run(ctx context.Context, console io.Writer) error {
	start := time.Now()
	cmdline, err := os.ReadFile("/proc/cmdline")
	if err != nil {
		return err
	}
	params := lab.ParseCmdline(string(cmdline))
	if err := loadModules(console); err != nil {
		return err
	}
	if addr := params["lab.ip"]; addr != "" {
		if err := setAddr("eth0", addr); err != nil {
			return err
		}
	}
	if params["lab.disk"] == "1" {
		waitFor(ctx, "/dev/sg0", 20*time.Second)
	}
	// A fixed key for the lab's heartbeat (serialhb needs one, mode 0600).
	if err := os.WriteFile(lab.HeartbeatKeyFile, []byte("hakit lab heartbeat key, not a secret\n"), 0o600); err != nil {
		return err
	}
	port, err := openPort(ctx, lab.CommandPort, 20*time.Second)
	if err != nil {
		return err
	}
	defer port.Close()
	os.Setenv("PATH", guestBin+":/bbin:/bin:/ubin")
	fmt.Fprintf(console, "%s %s %dms\n", lab.ReadyMarker, params["lab.name"], time.Since(start).Milliseconds())
	return serve(ctx, port)
}

func loadModules(console io.Writer) error {
	order, err := os.ReadFile(filepath.Join(modDir, "order"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, name := range strings.Fields(string(order)) {
		f, err := os.Open(filepath.Join(modDir, name+".ko"))
		if err != nil {
			return fmt.Errorf("module %s: %w", name, err)
		}
		err = unix.FinitModule(int(f.Fd()), "", 0)
		f.Close()
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("load module %s: %w", name, err)
		}
	}
	return nil
}

func setAddr(ifname, cidr string) error {
	l, err := netlink.LinkByName(ifname)
	if err != nil {
		return fmt.Errorf("%s: %w", ifname, err)
	}
	a, err := netlink.ParseAddr(cidr)
	if err != nil {
		return fmt.Errorf("lab.ip=%s: %w", cidr, err)
	}
	if err := netlink.AddrAdd(l, a); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("%s address %s: %w", ifname, cidr, err)
	}
	if err := netlink.LinkSetUp(l); err != nil {
		return fmt.Errorf("%s up: %w", ifname, err)
	}
	return nil
}

func waitFor(ctx context.Context, path string, bound time.Duration) {
	deadline := time.Now().Add(bound)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if _, err := os.Stat(path); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// openPort finds the virtio-serial port by name and opens it.
func openPort(ctx context.Context, name string, bound time.Duration) (*os.File, error) {
	deadline := time.Now().Add(bound)
	for {
		matches, _ := filepath.Glob("/sys/class/virtio-ports/*/name")
		for _, m := range matches {
			b, err := os.ReadFile(m)
			if err != nil || strings.TrimSpace(string(b)) != name {
				continue
			}
			dev := "/dev/" + filepath.Base(filepath.Dir(m))
			if f, err := os.OpenFile(dev, os.O_RDWR, 0); err == nil {
				return f, nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("virtio-serial port %q did not appear within %v (found %v)", name, bound, matches)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// serve answers requests one at a time until ctx ends. A read error (the
// host not connected yet) is retried after a pause.
func serve(ctx context.Context, port *os.File) error {
	r := bufio.NewReaderSize(port, 64<<10)
	var line []byte
	for ctx.Err() == nil {
		chunk, err := r.ReadBytes('\n')
		line = append(line, chunk...)
		if err != nil {
			// EOF while the host is not connected, or a partial line.
			time.Sleep(50 * time.Millisecond)
			continue
		}
		req, err := lab.DecodeRequest(line)
		line = line[:0]
		var resp lab.Response
		if err != nil {
			resp = lab.Response{Code: -1, Err: err.Error()}
		} else {
			resp = execute(ctx, req)
		}
		b, err := lab.EncodeResponse(resp)
		if err != nil {
			b, _ = lab.EncodeResponse(lab.Response{ID: resp.ID, Code: -1, Err: err.Error()})
		}
		if _, err := port.Write(b); err != nil {
			time.Sleep(50 * time.Millisecond)
		}
	}
	return ctx.Err()
}

func execute(ctx context.Context, req lab.Request) lab.Response {
	resp := lab.Response{ID: req.ID}
	if req.Background {
		logf, err := os.OpenFile(req.Log, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		if err != nil {
			resp.Code, resp.Err = -1, err.Error()
			return resp
		}
		cmd := exec.Command(req.Argv[0], req.Argv[1:]...)
		cmd.Stdout, cmd.Stderr = logf, logf
		err = cmd.Start()
		logf.Close()
		if err != nil {
			resp.Code, resp.Err = -1, err.Error()
			return resp
		}
		resp.PID = cmd.Process.Pid
		go cmd.Wait()
		return resp
	}
	timeout := time.Duration(req.TimeoutMS) * time.Millisecond
	if timeout == 0 {
		timeout = time.Minute
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(cctx, req.Argv[0], req.Argv[1:]...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if len(req.Stdin) > 0 {
		cmd.Stdin = bytes.NewReader(req.Stdin)
	}
	err := cmd.Run()
	resp.Stdout, resp.Stderr = stdout.Bytes(), stderr.Bytes()
	resp.Code = cmd.ProcessState.ExitCode()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && cctx.Err() == nil:
	case cctx.Err() != nil:
		resp.Code, resp.Err = -1, fmt.Sprintf("timed out after %v", timeout)
	default:
		resp.Code, resp.Err = -1, err.Error()
	}
	return resp
}
