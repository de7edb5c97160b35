package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

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
)

// lioTargets are the loopback target WWNs and their initiator (nexus) WWNs.
func lioTargets() [][2]string {
	return [][2]string{
		{"naa.5001405000000a01", "naa.5001405000000b01"},
		{"naa.5001405000000a02", "naa.5001405000000b02"},
	}
}

// lio setup: builds the configuration and prints the two sg paths, one a
// line, in target order.
func lio(ctx context.Context, args []string, w, _ io.Writer) error {
	if len(args) != 1 || args[0] != "setup" {
		return &exitError{2, errors.New("usage: hakit lio setup")}
	}
	if _, err := os.Stat(filepath.Join(configfs, "target")); err != nil {
		if err := unix.Mount("configfs", configfs, "configfs", 0, ""); err != nil && !errors.Is(err, unix.EBUSY) {
			return fmt.Errorf("mount configfs: %w", err)
		}
	}
	t := filepath.Join(configfs, "target")
	steps := []struct{ mkdir, file, value, link string }{
		// LIO keeps PR metadata (APTPL) in <dbroot>/pr/aptpl_<unit serial>:
		// without the directory or a unit serial every PR OUT fails with
		// LOGICAL UNIT COMMUNICATION FAILURE.
		{mkdir: filepath.Join(lioDBRoot, "pr")},
		{file: filepath.Join(t, "dbroot"), value: lioDBRoot},
		{mkdir: filepath.Join(t, lioDev)},
		{file: filepath.Join(t, lioDev, "control"), value: "rd_pages=8192"},
		{file: filepath.Join(t, lioDev, "enable"), value: "1"},
		{file: filepath.Join(t, lioDev, "wwn", "vpd_unit_serial"), value: "6001405a1b2c3d4e5f60718293a4b5c6"},
	}
	for _, tg := range lioTargets() {
		// The nexus (initiator port) first: tcm_loop scans a LUN as soon as
		// it is linked, and the scan fails without a nexus.
		tpg := filepath.Join(t, "loopback", tg[0], "tpgt_1")
		lun := filepath.Join(tpg, "lun", "lun_0")
		steps = append(steps,
			struct{ mkdir, file, value, link string }{mkdir: tpg},
			struct{ mkdir, file, value, link string }{file: filepath.Join(tpg, "nexus"), value: tg[1]},
			struct{ mkdir, file, value, link string }{mkdir: lun},
			struct{ mkdir, file, value, link string }{file: filepath.Join(lun, "lab"), link: filepath.Join(t, lioDev)},
		)
	}
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
