package agent

import (
	"errors"
	"testing"
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

func TestFormatLabels(t *testing.T) {
	if got := FormatLabels(map[string]string{"z": "1", "device": "iscsi://h/\"q\"\n"}); got != `{device="iscsi://h/\"q\"\n",z="1"}` {
		t.Errorf("got %s", got)
	}
}
