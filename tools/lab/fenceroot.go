package lab

import (
	"bufio"
	"strings"
)

// FenceAgentsPackages are the Debian packages unpacked into the fence_scsi
// variant of the initramfs (PartsConfig.FenceAgents): Python (the
// interpreter and its standard library), fence-agents (fence_scsi and
// fencing.py), the Python modules fencing.py imports (pexpect with
// ptyprocess, pycurl) and sg3-utils with its library. The shared libraries
// they link (libc, libssl, libcurl...) are taken from the host, as its
// dynamic loader resolves them (ParseLdd), so the host needs the same
// packages installed.
func FenceAgentsPackages() []string {
	return []string{
		"python3.11-minimal", "libpython3.11-minimal", "libpython3.11-stdlib",
		"python3-pexpect", "python3-ptyprocess", "python3-pycurl",
		"fence-agents", "sg3-utils", "libsgutils2-1.46-2",
	}
}

// fencePrune are the directories of the unpacked packages left out of the
// guest: documentation, and the parts of the Python standard library no
// fence agent imports.
func fencePrune() []string {
	return []string{
		"usr/share/doc", "usr/share/man", "usr/share/lintian", "usr/share/locale",
		"usr/share/pixmaps", "usr/share/applications", "usr/share/binfmts",
		"usr/lib/python3.11/test", "usr/lib/python3.11/idlelib", "usr/lib/python3.11/tkinter",
		"usr/lib/python3.11/turtledemo", "usr/lib/python3.11/ensurepip", "usr/lib/python3.11/lib2to3",
		"usr/lib/python3.11/pydoc_data", "usr/lib/python3.11/unittest", "usr/lib/python3.11/distutils",
	}
}

// ParseLdd returns the absolute paths of the libraries in ldd's output
// ("libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)", and the loader
// "/lib64/ld-linux-x86-64.so.2 (0x...)"), in order, without duplicates.
// linux-vdso has no file and is skipped. A library ldd did not find ("=>
// not found") is returned in missing.
func ParseLdd(out string) (libs, missing []string) {
	seen := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		name, target, arrow := strings.Cut(line, "=>")
		var path string
		if arrow {
			t := strings.TrimSpace(target)
			if strings.HasPrefix(t, "not found") {
				missing = append(missing, strings.TrimSpace(name))
				continue
			}
			path, _, _ = strings.Cut(t, " ")
		} else {
			path, _, _ = strings.Cut(line, " ")
		}
		if !strings.HasPrefix(path, "/") || seen[path] {
			continue
		}
		seen[path] = true
		libs = append(libs, path)
	}
	return libs, missing
}
