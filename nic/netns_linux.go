package nic

import (
	"errors"
	"fmt"
	"io/fs"
	"runtime"

	"github.com/vishvananda/netns"
)

// openNetNS opens the namespace at path. The error wraps ErrPermission or
// ErrNetNS.
func openNetNS(path string) (netns.NsHandle, error) {
	h, err := netns.GetFromPath(path)
	if err != nil {
		return netns.None(), nsError("open", err)
	}
	return h, nil
}

func nsError(what string, err error) error {
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("%w: %s namespace: %w", ErrPermission, what, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrNetNS, what, err)
}

// inNetNS runs fn on a locked OS thread inside the network namespace at path;
// with path "" it runs fn in the caller's namespace. Sockets fn opens stay in
// that namespace. Goroutines fn starts do not inherit it.
func inNetNS(path string, fn func() error) error {
	if path == "" {
		return fn()
	}
	target, err := openNetNS(path)
	if err != nil {
		return err
	}
	defer target.Close()
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return nsError("read current", err)
	}
	defer orig.Close()
	if err := netns.Set(target); err != nil {
		runtime.UnlockOSThread()
		return nsError("enter", err)
	}
	defer func() {
		// If the thread cannot go back, it stays locked and exits with the
		// goroutine, so no other goroutine runs in the wrong namespace.
		if netns.Set(orig) == nil {
			runtime.UnlockOSThread()
		}
	}()
	return fn()
}
