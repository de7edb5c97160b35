package lab

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// URootVersion is the u-root release that builds the initramfs.
const URootVersion = "v0.16.0"

// uRootModule is u-root's module path.
const uRootModule = "github.com/u-root/u-root"

// URootCommands are the u-root commands put into the initramfs besides
// hakit's own: init (which runs the lab's init) and a few tools to look
// around a guest by hand.
func URootCommands() []string {
	return []string{"init", "gosh", "ls", "cat", "dmesg", "ip", "ps", "echo", "ping", "sleep"}
}

// GuestModules are the kernel modules the guests load (their dependencies
// are added): virtio transport and command channel, the SCSI stack with sg
// and sd, both NIC models, and LIO with its loopback fabric (tcm_loop) for
// the SPC-4 target inside a guest.
func GuestModules() []string {
	return []string{"virtio_pci", "virtio_console", "virtio_scsi", "sd_mod", "sg", "e1000", "virtio_net", "configfs", "target_core_mod", "tcm_loop"}
}

// ErrMissing is returned when a part of the lab is missing and could not be
// fetched; the message says how to get it.
var ErrMissing = errors.New("lab: missing part")

// ParseAptDepends returns the package that `apt-cache depends PKG` names on
// its first "Depends:" line (for linux-image-amd64, the versioned kernel
// package).
func ParseAptDepends(out string) (string, error) {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(line, "Depends:"); ok {
			name := strings.TrimSpace(rest)
			name = strings.Trim(name, "<>")
			if name == "" || strings.ContainsAny(name, " /") {
				return "", fmt.Errorf("lab: unexpected apt-cache line %q", line)
			}
			return name, nil
		}
	}
	return "", fmt.Errorf("%w: apt-cache names no Depends: (run apt-get update)", ErrMissing)
}

// DefaultCacheDir is $XDG_CACHE_HOME/hakit-lab, else ~/.cache/hakit-lab for
// a user with a home, else /var/cache/hakit-lab.
func DefaultCacheDir() string {
	if x := os.Getenv("XDG_CACHE_HOME"); x != "" {
		return filepath.Join(x, "hakit-lab")
	}
	if os.Geteuid() == 0 {
		return "/var/cache/hakit-lab"
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".cache", "hakit-lab")
	}
	return "/var/cache/hakit-lab"
}
