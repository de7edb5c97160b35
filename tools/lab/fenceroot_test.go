package lab

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseLdd(t *testing.T) {
	tests := []struct {
		name          string
		out           string
		libs, missing []string
	}{
		{"sg_persist", `	linux-vdso.so.1 (0x00007f1ca4efd000)
	libsgutils2-1.46.so.2 => /lib/x86_64-linux-gnu/libsgutils2-1.46.so.2 (0x00007f1ca4e9d000)
	libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f1ca4cbb000)
	/lib64/ld-linux-x86-64.so.2 (0x00007f1ca4eff000)
`, []string{"/lib/x86_64-linux-gnu/libsgutils2-1.46.so.2", "/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"}, nil},
		{"missing and repeated", `	libfoo.so.1 => not found
	libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x1)
	libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x1)
`, []string{"/lib/x86_64-linux-gnu/libc.so.6"}, []string{"libfoo.so.1"}},
		{"static", "\tstatically linked\n", nil, nil},
		{"empty", "", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			libs, missing := ParseLdd(tt.out)
			if diff := cmp.Diff(tt.libs, libs); diff != "" {
				t.Errorf("libs (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.missing, missing); diff != "" {
				t.Errorf("missing (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFenceAgentsPackagesNamed(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range FenceAgentsPackages() {
		if p == "" || seen[p] {
			t.Errorf("package %q empty or repeated", p)
		}
		seen[p] = true
	}
	for _, want := range []string{"fence-agents", "sg3-utils", "python3.11-minimal"} {
		if !seen[want] {
			t.Errorf("FenceAgentsPackages lacks %s", want)
		}
	}
}
