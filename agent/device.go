package agent

import (
	"fmt"
	"io/fs"
	"strings"

	"github.com/hakit/hakit/scsi/iscsi"
	"github.com/hakit/hakit/scsi/opener/devname"
)

// ShownDevice is the form of a configured device that may be shown: in
// logs, errors, status, events and metric labels. An iscsi:// URL has its
// CHAP password replaced by ***; a device path is unchanged.
func ShownDevice(device string) string { return iscsi.MaskURL(device) }

// Warnings are the findings of a valid configuration that an operator
// should fix: today, CHAP passwords written into a disk URL, where whoever
// can read the configuration file reads them too; with a file that group
// or others may read (LoadConfig knows its mode), the warning says so.
func (c *Config) Warnings() []string {
	var w []string
	for i, d := range c.Disks {
		if u, err := iscsi.ParseURL(d.Device); err == nil && u.Password != "" {
			w = append(w, fmt.Sprintf("disks[%d].device %s: the CHAP password in the URL is readable by whoever can read the configuration file%s; move it to a secret file readable by root only (chap_user, chap_secret_file)", i, u, exposure(c.SourceMode)))
		}
	}
	return w
}

// exposure says who besides the owner may read a file of mode m, or "".
func exposure(m fs.FileMode) string {
	switch {
	case m&0o004 != 0:
		return fmt.Sprintf(", and this file (mode %04o) is readable by every local user: chmod 0600 it now", m)
	case m&0o040 != 0:
		return fmt.Sprintf(", and this file (mode %04o) is readable by its group: chmod 0600 it", m)
	}
	return ""
}

// checkCHAP checks a disk's CHAP settings; it returns the field at fault
// and what is wrong, or "" when they are fine. Secret files are read when
// the agent starts, not here.
func checkCHAP(d DiskConfig) (field, msg string) {
	iscsiDisk := devname.IsISCSI(d.Device)
	var urlUser bool
	if u, err := iscsi.ParseURL(d.Device); err == nil {
		urlUser = u.User != ""
	}
	switch {
	case !iscsiDisk && (d.CHAPUser != "" || d.CHAPSecretFile != "" || d.TargetCHAPUser != "" || d.TargetCHAPSecretFile != ""):
		return "chap_user", "CHAP applies to iscsi:// disks only"
	case d.CHAPUser != "" && urlUser:
		return "chap_user", "the device URL names a CHAP user too: keep one (chap_user with chap_secret_file)"
	case d.CHAPUser != "" && d.CHAPSecretFile == "":
		return "chap_secret_file", "missing: chap_user needs the file that holds its secret"
	case d.CHAPSecretFile != "" && d.CHAPUser == "":
		return "chap_user", "missing: chap_secret_file needs the CHAP user name"
	case d.TargetCHAPUser != "" && d.TargetCHAPSecretFile == "":
		return "target_chap_secret_file", "missing: target_chap_user needs the file that holds the target's secret"
	case d.TargetCHAPSecretFile != "" && d.CHAPUser == "" && !urlUser:
		return "chap_user", "missing: mutual CHAP (target_chap_secret_file) needs this initiator's CHAP user and secret too"
	case d.CHAPSecretFile != "" && d.CHAPSecretFile == d.TargetCHAPSecretFile:
		return "target_chap_secret_file", "same file as chap_secret_file: the target's secret must differ from the initiator's (RFC 7143)"
	}
	return "", ""
}

// DeviceErr names the device in err unless err's text names it already
// (the disk layer's errors do): "dev: dev: acquire: ..." says it twice.
func DeviceErr(device string, err error) error {
	if err == nil || strings.Contains(err.Error(), device) {
		return err
	}
	return fmt.Errorf("%s: %w", device, err)
}
