package main

import (
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func names(ss []scenario) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.name)
	}
	return out
}

func TestPick(t *testing.T) {
	tests := []struct {
		sel     string
		want    []string
		wantErr bool
	}{
		{"all", []string{"identify", "persistent", "scsi2", "serial", "nic", "freeze", "lio", "agent"}, false},
		{"", []string{"identify", "persistent", "scsi2", "serial", "nic", "freeze", "lio", "agent"}, false},
		{"ci", []string{"identify", "persistent", "serial", "nic", "agent"}, false},
		{"nic,identify", []string{"nic", "identify"}, false},
		{"identify,bogus", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.sel, func(t *testing.T) {
			got, err := pick(tt.sel)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err %v, wantErr %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, names(got)); diff != "" {
				t.Errorf("pick(%q) (-want +got):\n%s", tt.sel, diff)
			}
		})
	}
}

func TestParseFlags(t *testing.T) {
	if _, err := parse([]string{"extra"}, io.Discard); err == nil {
		t.Error("a stray argument was accepted")
	}
	o, err := parse([]string{"-scenarios", "ci", "-nic", "virtio-net-pci", "-cache", "/c"}, io.Discard)
	if err != nil || o.scenarios != "ci" || o.nic != "virtio-net-pci" || o.cache != "/c" {
		t.Errorf("parse: %+v, %v", o, err)
	}
}

func TestCountLines(t *testing.T) {
	log := "eth0 present: admin up carrier down\nx eth0 changed: carrier down->up\ny eth0 changed: carrier up->down\nz eth0 changed: carrier down->up\n"
	if got := countLines(log, "carrier down->up"); got != 2 {
		t.Errorf("countLines = %d, want 2", got)
	}
}
