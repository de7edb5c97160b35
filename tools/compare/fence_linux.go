//go:build linux

package main

import (
	"context"
	"path/filepath"

	"github.com/hakit/hakit/tools/compare/report"
)

// fenceRow is row 3. fence_scsi drives a kernel SCSI device through
// sg_persist, so it cannot run on hakit's userspace iSCSI initiator; the
// row needs a machine (or the QEMU lab's guest) with a kernel SCSI device
// on the shared LUN and python3, sg3-utils and fence-agents. Not built yet:
// it reports what this machine lacks.
func fenceRow(ctx context.Context, e *env) (report.Row, error) {
	row := report.Row{ID: "3", Title: "Fencing on one SCSI device with the same keys (off and on; 1, 8 and 16 LUNs)", Peer: "fence_scsi (fence-agents 4.12.1)",
		HakitConfig: "fence_hwagent (planned)",
		PeerConfig:  "fence_scsi with sg_persist (planned)",
	}
	hosts, _ := filepath.Glob("/sys/class/scsi_host/*")
	disks, _ := filepath.Glob("/sys/block/sd*")
	switch {
	case len(hosts) == 0:
		row.Missing = "this machine's kernel has no SCSI host (/sys/class/scsi_host is empty: no scsi_debug, no iscsi_tcp, no loadable modules), and fence_scsi needs a kernel SCSI device for sg_persist; the row needs the QEMU lab guest with python3, sg3-utils and fence-agents unpacked into its initramfs, which is not built yet"
	case len(disks) == 0:
		row.Missing = "no kernel SCSI disk (/sys/block/sd*) to run fence_scsi on; the row needs the QEMU lab guest with python3, sg3-utils and fence-agents unpacked into its initramfs, which is not built yet"
	default:
		row.Missing = "a kernel SCSI disk exists here, but the fencing row is not built yet (it needs the shared LUN seen by two initiators with fence_scsi's keys)"
	}
	return row, nil
}
