package lab

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func TestNodeSpecArgsGolden(t *testing.T) {
	tests := []struct {
		name string
		spec NodeSpec
	}{
		{"pair-a", NodeSpec{Name: "a", Kernel: "/c/vmlinux", Initrd: "/c/initramfs.cpio", Dir: "/tmp/lab", Addr: "10.99.0.1/24",
			Serial: &SerialEnd{Port: 4000, Server: true},
			Net:    &NetEnd{LocalPort: 5001, RemotePort: 5002, MAC: "52:54:00:99:00:01"},
			Disk:   &DiskEnd{Portal: "127.0.0.1:3260", TargetIQN: "iqn.2026-11.io.hakit.rig:disk-1-1", LUN: 1, Initiator: "iqn.2026-11.io.hakit.lab:node-a"}}},
		{"pair-b", NodeSpec{Name: "b", Kernel: "/c/vmlinux", Initrd: "/c/initramfs.cpio", Dir: "/tmp/lab", Addr: "10.99.0.2/24", MemoryMiB: 512,
			Serial: &SerialEnd{Port: 4000},
			Net:    &NetEnd{LocalPort: 5002, RemotePort: 5001, Model: "virtio-net-pci"},
			Disk:   &DiskEnd{Portal: "127.0.0.1:3260", TargetIQN: "iqn.2026-11.io.hakit.rig:disk-1-1", LUN: 1, Initiator: "iqn.2026-11.io.hakit.lab:node-b"}}},
		{"bare", NodeSpec{Name: "c", Kernel: "/k", Initrd: "/i", Dir: "/d"}},
		{"forward", NodeSpec{Name: "a", Kernel: "/k", Initrd: "/i", Dir: "/d", Addr: ForwardAddr, MemoryMiB: 768,
			Forward: &ForwardEnd{HostPort: 40123, GuestPort: 3260}}},
		{"disks", NodeSpec{Name: "a", Kernel: "/k", Initrd: "/i", Dir: "/d", Disks: []DiskEnd{
			{Portal: "127.0.0.1:40123", TargetIQN: "iqn.2026-12.io.hakit.compare:fence", LUN: 0, Initiator: "iqn.2026-12.io.hakit.compare:node-a"},
			{Portal: "127.0.0.1:40123", TargetIQN: "iqn.2026-12.io.hakit.compare:fence", LUN: 0, Initiator: "iqn.2026-12.io.hakit.compare:node-b"},
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args, err := tt.spec.Args()
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(args, "\n") + "\n"
			golden := filepath.Join("testdata", tt.name+".args.golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("QEMU args (-golden +got):\n%s", diff)
			}
			for _, must := range []string{"tcg", "-nodefaults"} {
				if !strings.Contains(got, must) {
					t.Errorf("args lack %q", must)
				}
			}
			if strings.Contains(got, "kvm") {
				t.Error("args mention kvm: the lab runs under TCG only")
			}
		})
	}
}

func TestNodeSpecArgsInvalid(t *testing.T) {
	ok := NodeSpec{Name: "a", Kernel: "/k", Initrd: "/i", Dir: "/d"}
	tests := []struct {
		name string
		mod  func(*NodeSpec)
	}{
		{"no name", func(s *NodeSpec) { s.Name = "" }},
		{"name with comma", func(s *NodeSpec) { s.Name = "a,b" }},
		{"no kernel", func(s *NodeSpec) { s.Kernel = "" }},
		{"dir with comma", func(s *NodeSpec) { s.Dir = "/tmp/a,b" }},
		{"bad NIC", func(s *NodeSpec) { s.Net = &NetEnd{Model: "rtl8139"} }},
		{"disk without initiator", func(s *NodeSpec) { s.Disk = &DiskEnd{Portal: "127.0.0.1:1", TargetIQN: "iqn.x"} }},
		{"disk name with comma", func(s *NodeSpec) { s.Disk = &DiskEnd{Portal: "127.0.0.1:1", TargetIQN: "iqn.x,y", Initiator: "i"} }},
		{"forward beside a heartbeat link", func(s *NodeSpec) {
			s.Net, s.Forward = &NetEnd{LocalPort: 1, RemotePort: 2}, &ForwardEnd{HostPort: 3, GuestPort: 3260}
		}},
		{"one of disks without initiator", func(s *NodeSpec) { s.Disks = []DiskEnd{{Portal: "127.0.0.1:1", TargetIQN: "iqn.x"}} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ok
			tt.mod(&s)
			if _, err := s.Args(); !errors.Is(err, ErrSpec) {
				t.Errorf("err %v, want ErrSpec", err)
			}
		})
	}
}
