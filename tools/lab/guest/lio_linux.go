package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// LIO (the kernel's SCSI target) configured through configfs: one RAM
// backstore exported by tcm_loop through two loopback targets, so the guest
// sees the same LUN through two initiator ports (two I_T nexuses, two
// /dev/sg devices), with LIO's full SPC-4 persistent reservations.
const (
	configfs  = "/sys/kernel/config"
	lioDBRoot = "/tmp/lio-db"
	lioDev    = "core/rd_mcp_0/lab"
	// lioISCSIDev is the backstore of the iSCSI target: a LUN of its own,
	// so its reservations do not mix with the loopback LUN's.
	lioISCSIDev = "core/rd_mcp_1/iscsi"
	// lioISCSIDev1 backs LUN 1 of the same target (8 MiB: the guests are
	// small), for the agent's two-LUNs-one-session test.
	lioISCSIDev1 = "core/rd_mcp_1/iscsi1"
	// lioPortal is where the iSCSI target listens, inside the guest.
	lioPortal = "127.0.0.1:3260"
)

// lioTargets are the loopback target WWNs and their initiator (nexus) WWNs.
func lioTargets() [][2]string {
	return [][2]string{
		{"naa.5001405000000a01", "naa.5001405000000b01"},
		{"naa.5001405000000a02", "naa.5001405000000b02"},
	}
}

// cfStep is one configfs change: a directory, an attribute value or a
// symbolic link (file -> link).
type cfStep struct{ mkdir, file, value, link string }

// apply makes the changes in order; what already exists is kept.
func apply(steps []cfStep) error {
	for _, s := range steps {
		var err error
		switch {
		case s.mkdir != "":
			err = os.MkdirAll(s.mkdir, 0o755)
		case s.link != "":
			err = os.Symlink(s.link, s.file)
		default:
			err = os.WriteFile(s.file, []byte(s.value+"\n"), 0o644)
		}
		if err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("lio: %w", err)
		}
	}
	return nil
}

// mountConfigfs mounts configfs unless it is there.
func mountConfigfs() error {
	if _, err := os.Stat(filepath.Join(configfs, "target")); err == nil {
		return nil
	}
	if err := unix.Mount("configfs", configfs, "configfs", 0, ""); err != nil && !errors.Is(err, unix.EBUSY) {
		return fmt.Errorf("mount configfs: %w", err)
	}
	return nil
}

// ramBackstore is a RAM disk backstore named dev (core/rd_mcp_N/NAME) with
// a unit serial. LIO keeps PR metadata (APTPL) in <dbroot>/pr/aptpl_<unit
// serial>: without the directory or a unit serial every PR OUT fails with
// LOGICAL UNIT COMMUNICATION FAILURE.
// The database root cannot change once a device exists: it is set only
// when it differs.
func ramBackstore(t, dev, serial string, pages int) []cfStep {
	steps := []cfStep{{mkdir: filepath.Join(lioDBRoot, "pr")}}
	if b, err := os.ReadFile(filepath.Join(t, "dbroot")); err != nil || strings.TrimSpace(string(b)) != lioDBRoot {
		steps = append(steps, cfStep{file: filepath.Join(t, "dbroot"), value: lioDBRoot})
	}
	return append(steps, []cfStep{
		{mkdir: filepath.Join(t, dev)},
		{file: filepath.Join(t, dev, "control"), value: fmt.Sprintf("rd_pages=%d", pages)},
		{file: filepath.Join(t, dev, "enable"), value: "1"},
		{file: filepath.Join(t, dev, "wwn", "vpd_unit_serial"), value: serial},
	}...)
}

// lio: hakit lio setup | hakit lio iscsi TARGET-IQN INITIATOR... | hakit lio iscsi-luns TARGET-IQN N ADDR:PORT INITIATOR...
func lio(ctx context.Context, args []string, w, _ io.Writer) error {
	switch {
	case len(args) == 1 && args[0] == "setup":
		return lioLoop(ctx, w)
	case len(args) >= 3 && args[0] == "iscsi":
		return lioISCSI(ctx, args[1], args[2:], w)
	case len(args) >= 5 && args[0] == "iscsi-luns":
		n, err := strconv.Atoi(args[2])
		if err != nil || n < 1 || n > 64 {
			return &exitError{2, fmt.Errorf("lio iscsi-luns: %q: want 1 to 64", args[2])}
		}
		return lioISCSILUNs(ctx, args[1], n, args[3], args[4:], w)
	}
	return &exitError{2, errors.New("usage: hakit lio setup | hakit lio iscsi TARGET-IQN INITIATOR [INITIATOR ...] | hakit lio iscsi-luns TARGET-IQN N ADDR:PORT INITIATOR [INITIATOR ...]")}
}

// lioLoop (lio setup) builds the tcm_loop configuration and prints the two
// sg paths, one a line, in target order.
func lioLoop(ctx context.Context, w io.Writer) error {
	if err := mountConfigfs(); err != nil {
		return err
	}
	t := filepath.Join(configfs, "target")
	steps := ramBackstore(t, lioDev, "6001405a1b2c3d4e5f60718293a4b5c6", 8192)
	for _, tg := range lioTargets() {
		// The nexus (initiator port) first: tcm_loop scans a LUN as soon as
		// it is linked, and the scan fails without a nexus.
		tpg := filepath.Join(t, "loopback", tg[0], "tpgt_1")
		lun := filepath.Join(tpg, "lun", "lun_0")
		steps = append(steps,
			cfStep{mkdir: tpg},
			cfStep{file: filepath.Join(tpg, "nexus"), value: tg[1]},
			cfStep{mkdir: lun},
			cfStep{file: filepath.Join(lun, "lab"), link: filepath.Join(t, lioDev)},
		)
	}
	if err := apply(steps); err != nil {
		return err
	}
	// Wait for the two LIO LUNs to show up as sg devices.
	deadline := time.Now().Add(15 * time.Second)
	for {
		paths := lioSG()
		if len(paths) == len(lioTargets()) {
			fmt.Fprintln(w, strings.Join(paths, "\n"))
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			all, _ := filepath.Glob("/sys/class/scsi_generic/*/device/vendor")
			var seen []string
			for _, m := range all {
				b, _ := os.ReadFile(m)
				seen = append(seen, m+"="+strings.TrimSpace(string(b)))
			}
			return fmt.Errorf("lio: want %d sg devices of LIO, found %v (all: %v)", len(lioTargets()), paths, seen)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// lioSG lists the sg devices whose vendor is LIO-ORG.
func lioSG() []string {
	var out []string
	matches, _ := filepath.Glob("/sys/class/scsi_generic/sg*/device/vendor")
	for _, m := range matches {
		b, err := os.ReadFile(m)
		if err == nil && strings.TrimSpace(string(b)) == "LIO-ORG" {
			out = append(out, "/dev/"+filepath.Base(filepath.Dir(filepath.Dir(m))))
		}
	}
	sort.Strings(out)
	return out
}

// lioISCSI (lio iscsi) exports two RAM LUNs through LIO's iSCSI fabric on
// lioPortal, as LUNs 0 and 1 of target iqn, to the initiators named (one
// ACL each, no authentication), then prints LUN 0's iscsi:// URL.
func lioISCSI(ctx context.Context, iqn string, initiators []string, w io.Writer) error {
	if err := mountConfigfs(); err != nil {
		return err
	}
	// The portal is on the loopback interface, down until someone raises it.
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("lio: lo: %w", err)
	}
	if err := netlink.LinkSetUp(lo); err != nil {
		return fmt.Errorf("lio: lo up: %w", err)
	}
	t := filepath.Join(configfs, "target")
	tpg := filepath.Join(t, "iscsi", iqn, "tpgt_1")
	lun0, lun1 := filepath.Join(tpg, "lun", "lun_0"), filepath.Join(tpg, "lun", "lun_1")
	steps := append(ramBackstore(t, lioISCSIDev, "6001405f0e1d2c3b4a5968778695a4b3", 8192), ramBackstore(t, lioISCSIDev1, "6001405f0e1d2c3b4a5968778695a4b4", 2048)...)
	steps = append(steps,
		cfStep{mkdir: lun0},
		cfStep{file: filepath.Join(lun0, "lab"), link: filepath.Join(t, lioISCSIDev)},
		cfStep{mkdir: lun1},
		cfStep{file: filepath.Join(lun1, "lab"), link: filepath.Join(t, lioISCSIDev1)},
		cfStep{mkdir: filepath.Join(tpg, "np", lioPortal)},
		cfStep{file: filepath.Join(tpg, "attrib", "authentication"), value: "0"},
		cfStep{file: filepath.Join(tpg, "attrib", "generate_node_acls"), value: "0"},
	)
	for _, in := range initiators {
		for i, lun := range []string{lun0, lun1} {
			acl := filepath.Join(tpg, "acls", in, fmt.Sprintf("lun_%d", i))
			steps = append(steps,
				cfStep{mkdir: acl},
				cfStep{file: filepath.Join(acl, "lab"), link: lun},
			)
		}
	}
	steps = append(steps, cfStep{file: filepath.Join(tpg, "enable"), value: "1"})
	if err := apply(steps); err != nil {
		return err
	}
	return waitPortal(ctx, lioPortal, iqn, w)
}

// lioISCSILUNs (lio iscsi-luns) exports N small RAM LUNs (0 to N-1)
// through LIO's iSCSI fabric on portal (an address of this guest, e.g. its
// eth0 under QEMU's user network, so that other guests reach it through the
// host), to the initiators named, one ACL each, no authentication. LIO's
// iSCSI fabric has full SPC-4 persistent reservations, PREEMPT AND ABORT
// included (tcm_loop hangs on it, and tgtd refuses it).
func lioISCSILUNs(ctx context.Context, iqn string, n int, portal string, initiators []string, w io.Writer) error {
	if err := mountConfigfs(); err != nil {
		return err
	}
	t := filepath.Join(configfs, "target")
	tpg := filepath.Join(t, "iscsi", iqn, "tpgt_1")
	for i := 0; i < n; i++ {
		if err := apply(ramBackstore(t, fmt.Sprintf("core/rd_mcp_3/lun%d", i), fmt.Sprintf("6001405c0ffee%03d", i), 256)); err != nil {
			return err
		}
	}
	var steps []cfStep
	for i := 0; i < n; i++ {
		lun := filepath.Join(tpg, "lun", fmt.Sprintf("lun_%d", i))
		steps = append(steps, cfStep{mkdir: lun}, cfStep{file: filepath.Join(lun, "lab"), link: filepath.Join(t, fmt.Sprintf("core/rd_mcp_3/lun%d", i))})
	}
	steps = append(steps,
		cfStep{mkdir: filepath.Join(tpg, "np", portal)},
		cfStep{file: filepath.Join(tpg, "attrib", "authentication"), value: "0"},
		cfStep{file: filepath.Join(tpg, "attrib", "generate_node_acls"), value: "0"},
	)
	for _, in := range initiators {
		for i := 0; i < n; i++ {
			acl := filepath.Join(tpg, "acls", in, fmt.Sprintf("lun_%d", i))
			steps = append(steps, cfStep{mkdir: acl}, cfStep{file: filepath.Join(acl, "lab"), link: filepath.Join(tpg, "lun", fmt.Sprintf("lun_%d", i))})
		}
	}
	steps = append(steps, cfStep{file: filepath.Join(tpg, "enable"), value: "1"})
	if err := apply(steps); err != nil {
		return err
	}
	return waitPortal(ctx, portal, iqn, w)
}

// waitPortal waits for LIO's iSCSI portal to accept connections, then
// prints the URL of LUN 0 of target iqn.
func waitPortal(ctx context.Context, portal, iqn string, w io.Writer) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", portal)
		if err == nil {
			c.Close()
			fmt.Fprintf(w, "iscsi://%s/%s/0\n", portal, iqn)
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("lio: iSCSI portal %s: %w", portal, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
