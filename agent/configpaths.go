package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hakit/hakit/scsi/opener/devname"
)

// PathProblems checks that the files, devices and folders the
// configuration names exist on this machine: the serial port and key
// file, each /dev/... disk and its CHAP secret files, the RAID capture
// file, the SBD device, the watchdog (with action watchdog), a network
// namespace given as a path, and the folder of the peer's socket. Each
// problem names the key and the path. It does not open anything.
func (c *Config) PathProblems() []string {
	type named struct{ key, path string }
	var paths []named
	add := func(key, path string) {
		if path != "" {
			paths = append(paths, named{key, path})
		}
	}
	add("serial.port", c.Serial.Port)
	if c.Serial.Port != "" {
		add("serial.key_file", c.Serial.KeyFile)
	}
	for i, d := range c.Disks {
		if devname.KindOf(d.Device) == devname.KindSGIO {
			add(fmt.Sprintf("disks[%d].device", i), d.Device)
		}
		add(fmt.Sprintf("disks[%d].chap_secret_file", i), d.CHAPSecretFile)
		add(fmt.Sprintf("disks[%d].target_chap_secret_file", i), d.TargetCHAPSecretFile)
	}
	add("raid.file", c.RAID.File)
	if devname.KindOf(c.SBD.Device) == devname.KindSGIO {
		add("sbd.device", c.SBD.Device)
	}
	if c.SelfFence.Action == "watchdog" {
		add("self_fence.watchdog_device", c.SelfFence.WatchdogDevice)
	}
	if strings.HasPrefix(c.NIC.Netns, "/") {
		add("nic.netns", c.NIC.Netns)
	}
	if c.Peer.Socket != "" {
		add("peer.socket (its folder)", filepath.Dir(c.Peer.Socket))
	}
	var out []string
	for _, p := range paths {
		if _, err := os.Stat(p.path); err != nil {
			why := "cannot be read"
			switch {
			case os.IsNotExist(err):
				why = "does not exist"
			case os.IsPermission(err):
				why = "permission denied (run as root)"
			}
			out = append(out, fmt.Sprintf("%s: %s %s", p.key, p.path, why))
		}
	}
	return out
}
