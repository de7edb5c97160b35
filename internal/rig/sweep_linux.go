package rig

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// sweep removes what dead rig users left behind: namespaces and temporary
// directories named after a pid that no longer exists. Processes started by
// the rig die with their parent (Pdeathsig), so none are left to sweep.
func sweep() {
	if entries, err := os.ReadDir("/run/netns"); err == nil {
		for _, e := range entries {
			if pid := ownerPID(e.Name(), namePrefix); pid != 0 && !pidAlive(pid) {
				_ = deleteNamespace(e.Name())
			}
		}
	}
	tmp := os.TempDir()
	if entries, err := os.ReadDir(tmp); err == nil {
		for _, e := range entries {
			if !e.IsDir() || !strings.HasPrefix(e.Name(), namePrefix+"-") {
				continue
			}
			if pid := ownerPID(e.Name(), namePrefix); pid != 0 && !pidAlive(pid) {
				_ = os.RemoveAll(filepath.Join(tmp, e.Name()))
			}
		}
	}
}

// pidAlive reports whether a process with this pid exists.
func pidAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || err == syscall.EPERM
}

// Sweep removes what dead rig users left behind (see NewName).
func Sweep() { sweep() }
