package agent

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAccessCheck(t *testing.T) {
	grp := Access{GID: 900, HasGroup: true, Group: "hakit"}
	for _, tt := range []struct {
		name string
		a    Access
		c    Cred
		ok   bool
	}{
		{"root", grp, Cred{UID: 0, GID: 0}, true},
		{"root without group", Access{}, Cred{UID: 0}, true},
		{"primary group", grp, Cred{UID: 1000, GID: 900}, true},
		{"supplementary group", grp, Cred{UID: 1000, GID: 1000, Groups: []uint32{27, 900}}, true},
		{"other user", grp, Cred{UID: 1000, GID: 1000, Groups: []uint32{27}}, false},
		{"nobody, no group configured", Access{}, Cred{UID: 65534, GID: 900}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.a.Check(tt.c)
			if (err == nil) != tt.ok {
				t.Fatalf("Check = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrPermission) {
				t.Errorf("%v does not wrap ErrPermission", err)
			}
		})
	}
}

func TestParseGroups(t *testing.T) {
	got := parseGroups("Name:\tx\nUid:\t0\t0\t0\t0\nGroups:\t4 24 27 \nNgid:\t0\n")
	if diff := cmp.Diff([]uint32{4, 24, 27}, got); diff != "" {
		t.Error(diff)
	}
	if got := parseGroups("Groups:\n"); len(got) != 0 {
		t.Errorf("empty groups = %v", got)
	}
}

func TestFormatLabels(t *testing.T) {
	if got := FormatLabels(map[string]string{"z": "1", "device": "iscsi://h/\"q\"\n"}); got != `{device="iscsi://h/\"q\"\n",z="1"}` {
		t.Errorf("got %s", got)
	}
}
