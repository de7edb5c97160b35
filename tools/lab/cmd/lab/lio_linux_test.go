package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFields(t *testing.T) {
	tests := []struct {
		name, s, key string
		want         []string
	}{
		{"fullstatus", "generation=0x3 registrations=2\nkey=0xa2 holder=true type=5 rtpi=1 initiator=iqn.x:a,i,0x1\nkey=0xb2 holder=false type=5 rtpi=1 initiator=iqn.x:b,i,0x2\n",
			"initiator=", []string{"iqn.x:a,i,0x1", "iqn.x:b,i,0x2"}},
		{"none", "generation=0x1 registrations=0\n", "initiator=", nil},
		{"empty", "", "key=", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, fields(tt.s, tt.key)); diff != "" {
				t.Errorf("fields(%q) (-want +got):\n%s", tt.key, diff)
			}
		})
	}
}

func TestAfterLast(t *testing.T) {
	tests := []struct{ s, sep, want string }{
		{"dev: TEST UNIT READY: CHECK CONDITION, UNIT ATTENTION 2a/05: registrations preempted", "CHECK CONDITION, ", "UNIT ATTENTION 2a/05: registrations preempted"},
		{"no separator", "CHECK CONDITION, ", "no separator"},
		{"a, b, c", ", ", "c"},
	}
	for _, tt := range tests {
		t.Run(tt.s, func(t *testing.T) {
			if got := afterLast(tt.s, tt.sep); got != tt.want {
				t.Errorf("afterLast(%q, %q) = %q, want %q", tt.s, tt.sep, got, tt.want)
			}
		})
	}
}
