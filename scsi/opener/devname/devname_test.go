package devname

import (
	"errors"
	"strings"
	"testing"
)

func TestKindOf(t *testing.T) {
	for dev, want := range map[string]Kind{
		"iscsi://127.0.0.1:3260/iqn.2026-11.io.hakit:lun/0": KindISCSI,
		"iscsi://chap:secret@10.0.0.1/iqn.x/1":              KindISCSI,
		"/dev/sdb":                                          KindSGIO,
		"/dev/sg3":                                          KindSGIO,
		"/var/lib/sbd.img":                                  KindSGIO,
		"sdb":                                               KindUnknown,
		"":                                                  KindUnknown,
		"ISCSI://x":                                         KindUnknown,
	} {
		if got := KindOf(dev); got != want {
			t.Errorf("KindOf(%q) = %v, want %v", dev, got, want)
		}
		if IsISCSI(dev) != (want == KindISCSI) {
			t.Errorf("IsISCSI(%q) = %v", dev, IsISCSI(dev))
		}
	}
}

func TestCheckDisk(t *testing.T) {
	for _, tc := range []struct {
		dev, err string // err: "" for none, else a part of the message
		bad      bool   // wraps ErrBadDevice
	}{
		{"/dev/sdb", "", false},
		{"/dev/sg3", "", false},
		{"iscsi://127.0.0.1:3260/iqn.2026-11.io.hakit:lun/0", "", false},
		{"", "missing: want /dev/sdX", true},
		{"sdb", `"sdb": want /dev/sdX, /dev/sgN or iscsi://`, true},
		{"/var/lib/disk.img", "want /dev/sdX", true},
		{"iscsi://h/iqn.x", "target-iqn/lun", false},
		{"iscsi://u%secret@h/iqn.x", "target-iqn/lun", false},
	} {
		err := CheckDisk(tc.dev)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("CheckDisk(%q) = %v", tc.dev, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("CheckDisk(%q) = %v, want %q", tc.dev, err, tc.err)
		case err != nil && errors.Is(err, ErrBadDevice) != tc.bad:
			t.Errorf("CheckDisk(%q) = %v: ErrBadDevice %v, want %v", tc.dev, err, !tc.bad, tc.bad)
		case err != nil && strings.Contains(err.Error(), "secret"):
			t.Errorf("CheckDisk(%q) shows the password: %v", tc.dev, err)
		}
	}
}
