package iscsi

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want URL
		str  string
	}{
		{"iscsi://127.0.0.1/iqn.2024-01.test.ha:shared/1", URL{Host: "127.0.0.1", Port: 3260, Target: "iqn.2024-01.test.ha:shared", LUN: 1}, ""},
		{"iscsi://127.0.0.1:3261/iqn.2024-01.test.ha:shared/0", URL{Host: "127.0.0.1", Port: 3261, Target: "iqn.2024-01.test.ha:shared"}, ""},
		{"iscsi://[::1]:3262/iqn.x:y/16383", URL{Host: "::1", Port: 3262, Target: "iqn.x:y", LUN: 16383}, ""},
		{"iscsi://[fe80::1]/iqn.x:y/2", URL{Host: "fe80::1", Port: 3260, Target: "iqn.x:y", LUN: 2}, ""},
		{"iscsi://nas.example/eui.0123456789abcdef/3", URL{Host: "nas.example", Port: 3260, Target: "eui.0123456789abcdef", LUN: 3}, ""},
		{"iscsi://alice@h/iqn.x:y/1", URL{User: "alice", Host: "h", Port: 3260, Target: "iqn.x:y", LUN: 1}, ""},
		{"iscsi://alice%s3cr%t@h:1/iqn.x:y/1", URL{User: "alice", Password: "s3cr%t", Host: "h", Port: 1, Target: "iqn.x:y", LUN: 1}, "iscsi://alice%***@h:1/iqn.x:y/1"},
		{"iscsi://a%p@ss@h/iqn.x:y/1", URL{User: "a", Password: "p@ss", Host: "h", Port: 3260, Target: "iqn.x:y", LUN: 1}, "iscsi://a%***@h:3260/iqn.x:y/1"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseURL(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Error(diff)
			}
			if tc.str != "" && got.String() != tc.str {
				t.Errorf("String() = %q, want %q", got.String(), tc.str)
			}
			if tc.want.Password == "" {
				again, err := ParseURL(got.String())
				if err != nil || again != got {
					t.Errorf("String() %q does not parse back: %v %+v", got.String(), err, again)
				}
			}
		})
	}
}

func TestParseURLErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "scheme must be iscsi://"},
		{"http://h/iqn.x:y/1", "scheme must be iscsi://"},
		{"iscsi://h", "no /target-iqn/lun"},
		{"iscsi:///iqn.x:y/1", "empty host"},
		{"iscsi://@h/iqn.x:y/1", "empty user name"},
		{"iscsi://u%@h/iqn.x:y/1", "empty password"},
		{"iscsi://u%pw@/iqn.x:y/1", "empty host"},
		{"iscsi://h:0/iqn.x:y/1", `invalid port "0"`},
		{"iscsi://h:65536/iqn.x:y/1", `invalid port "65536"`},
		{"iscsi://h:+5/iqn.x:y/1", `invalid port "+5"`},
		{"iscsi://h:/iqn.x:y/1", `invalid port ""`},
		{"iscsi://::1/iqn.x:y/1", "IPv6 address must be bracketed"},
		{"iscsi://[::1/iqn.x:y/1", "unclosed ["},
		{"iscsi://[::1]x/iqn.x:y/1", `unexpected "x" after ]`},
		{"iscsi://[1.2.3.4]/iqn.x:y/1", "is not an IPv6 address"},
		{"iscsi://h/iqn.x:y", "no /lun"},
		{"iscsi://h//1", "empty target name"},
		{"iscsi://h/target/1", "does not start with iqn."},
		{"iscsi://h/iqn.x:y/", "empty LUN"},
		{"iscsi://h/iqn.x:y/-1", "not a decimal number"},
		{"iscsi://h/iqn.x:y/1/", "not a decimal number"},
		{"iscsi://h/iqn.x:y/0x1", "not a decimal number"},
		{"iscsi://h/iqn.x:y/16384", "out of range"},
		{"iscsi://h/iqn.x:y/99999999999999999999", "out of range"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			_, err := ParseURL(tc.in)
			var ue *URLError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want a URLError containing %q", err, tc.want)
			}
		})
	}
	_, err := ParseURL("iscsi://u%topsecret@h/iqn.x:y/x")
	if err == nil || strings.Contains(err.Error(), "topsecret") || !strings.Contains(err.Error(), "u%***@h") {
		t.Errorf("error leaks or loses the URL: %v", err)
	}
}
