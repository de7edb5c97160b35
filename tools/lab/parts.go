package lab

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
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
// and sd, both NIC models, and LIO with its loopback fabric (tcm_loop) and
// its iSCSI fabric (iscsi_target_mod, which allocates crc32c at login) for
// the SPC-4 target inside a guest.
func GuestModules() []string {
	return []string{"virtio_pci", "virtio_console", "virtio_scsi", "sd_mod", "sg", "e1000", "virtio_net", "configfs", "target_core_mod", "tcm_loop", "iscsi_target_mod", "crc32c_generic"}
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

// PartsConfig says where the parts live and how they may be fetched.
type PartsConfig struct {
	// CacheDir holds the kernel, u-root and initramfs; empty means
	// DefaultCacheDir().
	CacheDir string
	// RepoDir is hakit's module root, where the guest binaries are built
	// from; empty means the current directory.
	RepoDir string
	// Install lets Prepare run apt-get when QEMU is missing. Without it a
	// missing QEMU is an error saying what to install.
	Install bool
	// FenceAgents builds the initramfs variant that also carries
	// fence-agents' fence_scsi, Python and sg3-utils (FenceAgentsPackages,
	// unpacked from the Debian packages, with the host's copies of the
	// libraries they link). It is about 3 times the size of the plain one:
	// give its nodes Config.MemoryMiB of 512 or more.
	FenceAgents bool
	// Logger reports each step and its duration; nil discards.
	Logger *slog.Logger
}

// Parts are the files a node boots from.
type Parts struct {
	QEMU      string // qemu-system-x86_64
	Kernel    string // ELF vmlinux, booted through PVH
	Initramfs string // cpio built by u-root
	// KernelPackage is the Debian package the kernel came from.
	KernelPackage string
	// Rebuilt says whether Prepare built a new initramfs.
	Rebuilt bool
	// FenceRoot is the unpacked fence_scsi tree in the initramfs
	// (PartsConfig.FenceAgents), or "".
	FenceRoot string
}

// Config describes a lab. The zero value (plus Parts) is two nodes, a
// heartbeat pair with e1000 NICs and a shared disk.
type Config struct {
	// Parts are the files to boot; required (see Prepare).
	Parts *Parts
	// Nodes is the number of nodes; 0 means 2. Nodes 2k and 2k+1 form a
	// pair (serial crossover and heartbeat link); an odd last node has none.
	Nodes int
	// NIC is the heartbeat NIC model: "e1000" (default) or "virtio-net-pci".
	NIC string
	// NoDisk leaves out the shared disk (and tgtd).
	NoDisk bool
	// Disks are LUNs given to every node besides the shared disk (e.g. a
	// target another lab's guest runs, reached through its Forward).
	Disks []DiskEnd
	// Forward forwards a host port to every node's eth0 (see ForwardEnd);
	// only without heartbeat pairs (Nodes 1).
	Forward *ForwardEnd
	// MemoryMiB is each node's memory; 0 means 256.
	MemoryMiB int
	// BootTimeout bounds each boot up to the ready marker; 0 means 120 s.
	BootTimeout time.Duration
	// Logger reports boots and wiring changes; nil discards.
	Logger *slog.Logger
}
