package lab

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseModinfo(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Module
		wantErr bool
	}{
		{"virtio_scsi", "license=GPL\x00depends=scsi_mod,virtio_ring,virtio\x00retpoline=Y\x00intree=Y\x00name=virtio_scsi\x00vermagic=6.1.0-56-amd64 SMP\x00",
			Module{Name: "virtio_scsi", Depends: []string{"scsi_mod", "virtio_ring", "virtio"}}, false},
		{"no deps", "depends=\x00name=e1000\x00", Module{Name: "e1000"}, false},
		{"dash names", "\x00\x00name=sd-mod\x00depends=scsi_mod,t10-pi\x00", Module{Name: "sd_mod", Depends: []string{"scsi_mod", "t10_pi"}}, false},
		{"no name", "depends=a\x00", Module{}, true},
		{"field without =", "name=a\x00garbage\x00", Module{}, true},
		{"two depends", "name=a\x00depends=b\x00depends=c\x00", Module{}, true},
		{"empty", "", Module{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseModinfo([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrModinfo) {
				t.Errorf("err %v does not wrap ErrModinfo", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseModinfo (-want +got):\n%s", diff)
			}
		})
	}
}

func TestModuleOrder(t *testing.T) {
	all := map[string]Module{}
	for _, m := range []Module{
		{Name: "virtio_pci", Depends: []string{"virtio_pci_modern_dev", "virtio", "virtio_ring"}},
		{Name: "virtio_pci_modern_dev"},
		{Name: "virtio"},
		{Name: "virtio_ring"},
		{Name: "virtio_scsi", Depends: []string{"scsi_mod", "virtio_ring", "virtio"}},
		{Name: "scsi_mod", Depends: []string{"scsi_common"}},
		{Name: "scsi_common"},
		{Name: "sg", Depends: []string{"scsi_mod", "scsi_common"}},
		{Name: "cyc_a", Depends: []string{"cyc_b"}},
		{Name: "cyc_b", Depends: []string{"cyc_a"}},
		{Name: "broken", Depends: []string{"absent"}},
	} {
		all[m.Name] = m
	}
	tests := []struct {
		name    string
		wanted  []string
		want    []string
		wantErr string
	}{
		{"virtio stack", []string{"virtio_pci", "virtio_scsi", "sg"},
			[]string{"virtio", "virtio_pci_modern_dev", "virtio_ring", "virtio_pci", "scsi_common", "scsi_mod", "virtio_scsi", "sg"}, ""},
		{"dash in wanted", []string{"scsi-mod"}, []string{"scsi_common", "scsi_mod"}, ""},
		{"cycle", []string{"cyc_a"}, nil, "cycle: cyc_a -> cyc_b -> cyc_a"},
		{"missing dependency", []string{"broken"}, nil, "absent (needed by broken)"},
		{"missing module", []string{"nope"}, nil, "module nope not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ModuleOrder(all, tt.wanted)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ModuleOrder (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFindXZ(t *testing.T) {
	img := append([]byte("MZ\x00bzImage header"), append([]byte(xzMagic), "payload"...)...)
	if got := FindXZ(img); got != 17 {
		t.Errorf("FindXZ = %d, want 17", got)
	}
	if got := FindXZ([]byte("no xz here\xfd7zXZ")); got != -1 {
		t.Errorf("FindXZ without the full magic = %d, want -1", got)
	}
}

func TestParseAptDepends(t *testing.T) {
	tests := []struct {
		name, in, want string
		wantErr        bool
	}{
		{"bookworm", "linux-image-amd64\n  Depends: linux-image-6.1.0-56-amd64\n", "linux-image-6.1.0-56-amd64", false},
		{"virtual", "linux-image-amd64\n  Depends: <linux-image-6.1.0-9-amd64>\n", "linux-image-6.1.0-9-amd64", false},
		{"no depends", "linux-image-amd64\n", "", true},
		{"garbage", "  Depends: a b\n", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAptDepends(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("ParseAptDepends = %q, %v; want %q, err %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func FuzzParseModinfo(f *testing.F) {
	for _, s := range []string{"name=a\x00depends=b,c\x00", "depends=\x00name=e1000\x00", "x", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseModinfo(b)
		if err != nil {
			return
		}
		if m.Name == "" {
			t.Fatal("module without a name")
		}
		for _, d := range m.Depends {
			if d == "" || strings.Contains(d, ",") {
				t.Fatalf("bad dependency %q", d)
			}
		}
	})
}
