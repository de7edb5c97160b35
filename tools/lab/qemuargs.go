package lab

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// NodeSpec is everything one node's QEMU command line depends on.
type NodeSpec struct {
	// Name is the node's name ("a", "b", ...), used in file names and on the
	// kernel command line.
	Name string
	// Kernel and Initrd are the vmlinux (or bzImage) and the initramfs.
	Kernel, Initrd string
	// Dir holds the node's sockets (QMP, command channel).
	Dir string
	// MemoryMiB defaults to 256.
	MemoryMiB int
	// Serial is the heartbeat cable on ttyS1; nil leaves ttyS1 unconnected.
	Serial *SerialEnd
	// Net is the heartbeat link on eth0; nil means no NIC.
	Net *NetEnd
	// Disk is the shared disk; nil means none.
	Disk *DiskEnd
	// Disks are more LUNs on the same virtio-scsi bus, after Disk; the
	// i-th drive of Disk and Disks together is SCSI target id i in the
	// guest.
	Disks []DiskEnd
	// Forward gives eth0 to QEMU's user-mode network instead of Net, with
	// one TCP port of 127.0.0.1 on the host forwarded to the guest (Addr
	// must then be 10.0.2.15/24, the guest address QEMU forwards to).
	Forward *ForwardEnd
	// Addr is eth0's address with prefix length ("10.99.0.1/24"), passed on
	// the kernel command line as lab.ip=.
	Addr string
}

// SerialEnd is one end of the serial crossover: a socket chardev on
// 127.0.0.1:Port, listening (Server) or reconnecting.
type SerialEnd struct {
	Port   int
	Server bool
}

// NetEnd is one end of the heartbeat link: UDP datagrams from LocalPort to
// RemotePort on 127.0.0.1.
type NetEnd struct {
	LocalPort, RemotePort int
	// Model is "e1000" (default) or "virtio-net-pci".
	Model string
	// MAC is the NIC's address; empty lets QEMU choose.
	MAC string
}

// ForwardEnd forwards 127.0.0.1:HostPort on the host to GuestPort of the
// guest, through QEMU's user-mode network (e.g. to a SCSI target the guest
// runs).
type ForwardEnd struct {
	HostPort, GuestPort int
}

// ForwardAddr is the guest's eth0 address under a ForwardEnd.
const ForwardAddr = "10.0.2.15/24"

// DiskEnd is the shared LUN seen through QEMU's iSCSI driver as scsi-block.
type DiskEnd struct {
	Portal    string // "127.0.0.1:port"
	TargetIQN string
	LUN       int
	Initiator string
}

// Device and chardev ids the lab addresses through QMP.
const (
	serialID = "hb"
	nicID    = "nic0"
)

// QMPPath, CommandPath and ConsolePath name the files of a node under Dir.
func (s *NodeSpec) QMPPath() string     { return filepath.Join(s.Dir, s.Name+".qmp") }
func (s *NodeSpec) CommandPath() string { return filepath.Join(s.Dir, s.Name+".cmd") }
func (s *NodeSpec) ConsolePath() string { return filepath.Join(s.Dir, s.Name+".console") }

// ErrSpec is returned for an invalid NodeSpec.
var ErrSpec = errors.New("lab: invalid node spec")

// Args builds QEMU's arguments (without the program name): TCG only, one
// vCPU, no display, console on stdio, QMP and the command channel on unix
// sockets under Dir.
func (s *NodeSpec) Args() ([]string, error) {
	switch {
	case s.Name == "" || strings.ContainsAny(s.Name, " ,=/"):
		return nil, fmt.Errorf("%w: name %q", ErrSpec, s.Name)
	case s.Kernel == "" || s.Initrd == "" || s.Dir == "":
		return nil, fmt.Errorf("%w: node %s needs kernel, initrd and dir", ErrSpec, s.Name)
	case strings.Contains(s.Dir, ","):
		return nil, fmt.Errorf("%w: dir %q contains a comma", ErrSpec, s.Dir)
	}
	mem := s.MemoryMiB
	if mem == 0 {
		mem = 256
	}
	appendLine := "console=ttyS0 quiet panic=-1 lab.name=" + s.Name
	if s.Addr != "" {
		appendLine += " lab.ip=" + s.Addr
	}
	if s.Disk != nil || len(s.Disks) > 0 {
		appendLine += " lab.disk=1"
	}
	a := []string{
		"-accel", "tcg", "-cpu", "max", "-smp", "1", "-m", strconv.Itoa(mem),
		"-nodefaults", "-display", "none", "-monitor", "none", "-no-reboot",
		"-name", s.Name,
		"-qmp", "unix:" + s.QMPPath() + ",server=on,wait=off",
		"-serial", "stdio",
		"-kernel", s.Kernel, "-initrd", s.Initrd, "-append", appendLine,
	}
	if e := s.Serial; e != nil {
		cd := fmt.Sprintf("socket,id=%s,host=127.0.0.1,port=%d", serialID, e.Port)
		if e.Server {
			cd += ",server=on,wait=off"
		} else {
			cd += ",reconnect=1"
		}
		a = append(a, "-chardev", cd, "-serial", "chardev:"+serialID)
	} else {
		a = append(a, "-serial", "null")
	}
	if e := s.Net; e != nil {
		model := e.Model
		if model == "" {
			model = "e1000"
		}
		if model != "e1000" && model != "virtio-net-pci" {
			return nil, fmt.Errorf("%w: NIC model %q (want e1000 or virtio-net-pci)", ErrSpec, model)
		}
		a = append(a, "-netdev", fmt.Sprintf("dgram,id=n0,local.type=inet,local.host=127.0.0.1,local.port=%d,remote.type=inet,remote.host=127.0.0.1,remote.port=%d", e.LocalPort, e.RemotePort))
		dev := fmt.Sprintf("%s,netdev=n0,id=%s,romfile=", model, nicID)
		if e.MAC != "" {
			dev += ",mac=" + e.MAC
		}
		a = append(a, "-device", dev)
	}
	if e := s.Forward; e != nil {
		if s.Net != nil {
			return nil, fmt.Errorf("%w: node %s has both a heartbeat link and a forward on eth0", ErrSpec, s.Name)
		}
		a = append(a, "-netdev", fmt.Sprintf("user,id=n0,net=10.0.2.0/24,hostfwd=tcp:127.0.0.1:%d-:%d", e.HostPort, e.GuestPort),
			"-device", fmt.Sprintf("e1000,netdev=n0,id=%s,romfile=", nicID))
	}
	var disks []DiskEnd
	if s.Disk != nil {
		disks = append(disks, *s.Disk)
	}
	disks = append(disks, s.Disks...)
	for i, d := range disks {
		if d.Portal == "" || d.TargetIQN == "" || d.Initiator == "" || strings.ContainsAny(d.Portal+d.TargetIQN+d.Initiator, ", ") {
			return nil, fmt.Errorf("%w: disk needs portal, target and initiator names without commas", ErrSpec)
		}
		a = append(a, "-drive", fmt.Sprintf("driver=iscsi,transport=tcp,portal=%s,target=%s,lun=%d,initiator-name=%s,if=none,id=d%d,cache.direct=on", d.Portal, d.TargetIQN, d.LUN, d.Initiator, i))
		if i == 0 {
			a = append(a, "-device", "virtio-scsi-pci,id=scsi0")
		}
		dev := fmt.Sprintf("scsi-block,drive=d%d,bus=scsi0.0", i)
		if s.Disk == nil || i > 0 {
			// The guest finds each of Disks at target id i (H:C:i:0).
			dev += fmt.Sprintf(",scsi-id=%d,lun=0", i)
		}
		a = append(a, "-device", dev)
	}
	a = append(a,
		"-chardev", "socket,id=cmd,path="+s.CommandPath()+",server=on,wait=off",
		"-device", "virtio-serial-pci,id=vser0",
		"-device", "virtserialport,chardev=cmd,name="+CommandPort)
	return a, nil
}
