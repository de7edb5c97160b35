package rig

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// NetConfig describes the heartbeat link. The zero value is fine.
type NetConfig struct {
	// Logger receives link events; nil discards.
	Logger *slog.Logger
}

// Net is two network namespaces, one per node, joined by a veth pair. Each end
// has a link-local address (169.254.0.0/16) that exists only inside its
// namespace. Its methods are safe for concurrent use.
type Net struct {
	log   *slog.Logger
	ns    [2]string
	ifc   [2]string
	addr  [2]netip.Prefix
	close bool
}

// NewNet creates the namespaces and the veth pair and brings both ends up.
func NewNet(ctx context.Context, cfg NetConfig) (*Net, error) {
	if _, err := exec.LookPath("ip"); err != nil {
		return nil, fmt.Errorf("rig: net needs ip (Debian package iproute2; make deps installs it): %w", err)
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("rig: net needs root to create network namespaces (euid %d)", os.Geteuid())
	}
	sweep()
	pid, n := newID()
	third := int(n%250) + 1
	nw := &Net{log: logger(cfg.Logger)}
	for _, s := range []Side{A, B} {
		nw.ns[s] = fmt.Sprintf("%s-%d-%d-%s", namePrefix, pid, n, strings.ToLower(s.String()))
		// IFNAMSIZ is 16: "hk" + pid (at most 7 digits) + "x" + seq + side.
		nw.ifc[s] = fmt.Sprintf("hk%dx%d%s", pid, n%1000, strings.ToLower(s.String()))
		nw.addr[s] = netip.MustParsePrefix(fmt.Sprintf("169.254.%d.%d/24", third, int(s)+1))
	}
	steps := [][]string{
		{"netns", "add", nw.ns[A]},
		{"netns", "add", nw.ns[B]},
		// Distinct interface indexes on the two ends: with equal ones (each
		// namespace would give index 2) the kernel treats the peer's carrier
		// change as non-urgent and may report it up to a second late.
		{"link", "add", nw.ifc[A], "index", "100", "netns", nw.ns[A], "type", "veth", "peer", "name", nw.ifc[B], "index", "200", "netns", nw.ns[B]},
	}
	for _, s := range []Side{A, B} {
		steps = append(steps,
			[]string{"-n", nw.ns[s], "link", "set", "lo", "up"},
			[]string{"-n", nw.ns[s], "addr", "add", nw.addr[s].String(), "dev", nw.ifc[s]},
			[]string{"-n", nw.ns[s], "link", "set", nw.ifc[s], "up"},
		)
	}
	for _, args := range steps {
		if err := ip(ctx, args...); err != nil {
			nw.Close()
			return nil, err
		}
	}
	// The kernel sets operstate up asynchronously after the link comes up:
	// return only once both ends are fully up, so users start from a known
	// state.
	for _, side := range []Side{A, B} {
		if err := nw.WaitOperState(ctx, side, "UP", 5*time.Second); err != nil {
			nw.Close()
			return nil, err
		}
	}
	nw.log.Info("rig net ready", "nsA", nw.ns[A], "ifA", nw.ifc[A], "addrA", nw.addr[A], "nsB", nw.ns[B], "ifB", nw.ifc[B], "addrB", nw.addr[B])
	return nw, nil
}

func ip(ctx context.Context, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, "ip", args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("rig: ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

// Namespace is the name of side s's network namespace (see `ip netns list`).
func (nw *Net) Namespace(s Side) string { return nw.ns[s] }

// NamespacePath is the bind-mount of side s's namespace, for setns(2).
func (nw *Net) NamespacePath(s Side) string { return "/run/netns/" + nw.ns[s] }

// Interface is the name of side s's veth end (inside its namespace).
func (nw *Net) Interface(s Side) string { return nw.ifc[s] }

// Addr is side s's address with its prefix length.
func (nw *Net) Addr(s Side) netip.Prefix { return nw.addr[s] }

// SetLink sets side s's veth end administratively up or down; down drops the
// carrier of the other end.
func (nw *Net) SetLink(ctx context.Context, s Side, up bool) error {
	if err := s.valid(); err != nil {
		return err
	}
	state := "down"
	if up {
		state = "up"
	}
	if err := ip(ctx, "-n", nw.ns[s], "link", "set", nw.ifc[s], state); err != nil {
		return err
	}
	nw.log.Info("rig link set", "side", s, "state", state)
	return nil
}

// WaitOperState waits until side s's veth end reports the operstate want
// (as `ip link` prints it: UP, DOWN, LOWERLAYERDOWN, ...), or timeout passes.
func (nw *Net) WaitOperState(ctx context.Context, s Side, want string, timeout time.Duration) error {
	if err := s.valid(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last string
	for {
		out, err := exec.CommandContext(ctx, "ip", "-n", nw.ns[s], "-o", "link", "show", "dev", nw.ifc[s]).Output()
		if err == nil {
			f := strings.Fields(string(out))
			for i := 0; i+1 < len(f); i++ {
				if f[i] == "state" {
					last = f[i+1]
				}
			}
			if last == want {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("rig: %s end %s: operstate %q, want %q after %v", s, nw.ifc[s], last, want, timeout)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// RemoveAddr removes side s's address (the node goes silent on the link while
// the link stays up).
func (nw *Net) RemoveAddr(ctx context.Context, s Side) error {
	return ip(ctx, "-n", nw.ns[s], "addr", "del", nw.addr[s].String(), "dev", nw.ifc[s])
}

// AddAddr restores side s's address after RemoveAddr.
func (nw *Net) AddAddr(ctx context.Context, s Side) error {
	return ip(ctx, "-n", nw.ns[s], "addr", "add", nw.addr[s].String(), "dev", nw.ifc[s])
}

// Do runs fn on an OS thread that has entered side s's network namespace, and
// returns the thread to the original namespace afterwards. Sockets fn opens
// stay in side s's namespace after Do returns. Goroutines fn starts do not
// inherit the namespace.
func (nw *Net) Do(s Side, fn func() error) error {
	if err := s.valid(); err != nil {
		return err
	}
	return InNamespace(nw.NamespacePath(s), fn)
}

// InNamespace runs fn on an OS thread inside the network namespace at path
// (for example /run/netns/NAME).
func InNamespace(path string, fn func() error) error {
	target, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("rig: open namespace %s: %w", path, err)
	}
	defer unix.Close(target)
	runtime.LockOSThread()
	orig, err := unix.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("rig: open current namespace: %w", err)
	}
	defer unix.Close(orig)
	if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("rig: enter namespace %s: %w", path, err)
	}
	defer func() {
		if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
			// The thread stays locked and dies with its goroutine, so no
			// other goroutine ever runs in the wrong namespace.
			return
		}
		runtime.UnlockOSThread()
	}()
	return fn()
}

// Command returns a command that runs name inside side s's namespace
// (through `ip netns exec`).
func (nw *Net) Command(ctx context.Context, s Side, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", nw.ns[s], name}, args...)...)
}

// Close deletes both namespaces (and with them the veth pair).
func (nw *Net) Close() error {
	if nw.close {
		return nil
	}
	nw.close = true
	var first error
	for _, s := range []Side{A, B} {
		if nw.ns[s] == "" {
			continue
		}
		if err := deleteNamespace(nw.ns[s]); err != nil && first == nil {
			first = err
		}
	}
	nw.log.Info("rig net removed", "nsA", nw.ns[A], "nsB", nw.ns[B])
	return first
}

func deleteNamespace(name string) error {
	if _, err := os.Stat("/run/netns/" + name); err != nil {
		return nil
	}
	return ip(context.Background(), "netns", "delete", name)
}
