// Package lab boots small virtual machines under QEMU, wired like a real
// hot-standby pair, so that hakit runs against real kernel drivers: SG_IO
// through the guest kernel's SCSI stack onto a shared iSCSI LUN (tgtd on the
// host), a 16550 UART crossed over to the peer's, and a NIC that loses
// carrier.
//
// The parts are fetched once and cached (see Parts): QEMU from apt, the
// Debian kernel package (its vmlinux is booted through the PVH entry point),
// u-root through the Go module proxy, and an initramfs holding hakit's guest
// binaries, the kernel modules and a small init. The initramfs is rebuilt only
// when its inputs change (a content hash names it).
//
// Each node runs under TCG (never KVM), with 1 vCPU and 256 MiB. Per pair:
//   - ttyS0 is the console, captured to a log; the init prints ReadyMarker;
//   - ttyS1 is the heartbeat cable: a socket chardev, server on A, reconnect
//     on B; PullCable switches it to the null backend through QMP;
//   - eth0 is the heartbeat link, a -netdev dgram pair; SetLink drops carrier
//     at one end;
//   - the shared disk is scsi-block over QEMU's iSCSI driver, one initiator
//     name per node, so reservations are real;
//   - a virtio-serial port carries the command channel (see Request): the
//     guest init runs each command and answers with its output and exit code.
//
// PartsConfig.FenceAgents builds a variant of the initramfs that also
// carries fence-agents' fence_scsi with Python and sg3-utils, unpacked from
// the Debian packages, and the host's copies of the libraries they link (as
// ldd resolves them): about 100 MB against 27 MB for the plain one (u-root
// adds its own copies of those libraries under /lib), 30-140 s to build,
// 7-22 s to boot with 768 MiB on 2 loaded cores. make compare's fencing row
// boots it twice: once as a target (LIO's iSCSI fabric, reached through
// Config.Forward) and once as both nodes (Config.Disks: every LUN once per
// initiator name).
//
// The pure parts (QMP codec, command-channel codec, modinfo parser, module
// order, QEMU argument builder) have no I/O and are unit tested; booting VMs
// happens only in the lab command (make lab) or under HAKIT_LAB=1.
package lab
