package cmd_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// pkgInfo is one package of the module: its direct imports and every
// package it depends on, module paths without the module prefix.
type pkgInfo struct {
	imports, deps []string
}

const module = "github.com/hakit/hakit/"

func listPackages(t *testing.T) map[string]pkgInfo {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}|{{join .Imports \" \"}}|{{join .Deps \" \"}}", "../...").Output()
	if err != nil {
		t.Fatal(err)
	}
	trim := func(s string) []string {
		f := strings.Fields(s)
		for i := range f {
			f[i] = strings.TrimPrefix(f[i], module)
		}
		return f
	}
	pkgs := map[string]pkgInfo{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "|")
		pkgs[strings.TrimPrefix(f[0], module)] = pkgInfo{imports: trim(f[1]), deps: trim(f[2])}
	}
	return pkgs
}

// under reports whether pkg is root or below it.
func under(pkg string, roots ...string) bool {
	for _, r := range roots {
		if pkg == r || strings.HasPrefix(pkg, r+"/") {
			return true
		}
	}
	return false
}

// The import rules of docs/ARCHITECTURE.md: imports go down the layers
// only, device families know neither the agent nor hwcheck nor each other
// (but for the documented blockio -> scsi and sbd -> blockio, scsi), and
// the pure packages do no I/O of their own (they import no os, os/exec,
// syscall, net, unsafe or x/sys/unix, and only pure packages of ours).
func TestImportRules(t *testing.T) {
	pkgs := listPackages(t)
	families := []string{"scsi", "serialhb", "nic", "raidctl", "blockio", "sbd"}
	// Which other families each family may use.
	mayUse := map[string][]string{"blockio": {"scsi"}, "sbd": {"blockio", "scsi"}}
	frontEnds := []string{"agent/cli", "agent/fence", "agent/ocf", "check"}
	pure := []string{"scsi", "internal/cliflag", "internal/exitcode", "internal/jsonout", "internal/version"}
	ioImports := []string{"os", "os/exec", "syscall", "net", "unsafe", "golang.org/x/sys/unix"}

	type rule struct {
		what  string
		match func(pkg string) bool
		bad   func(dep string) bool
	}
	rules := []rule{
		{"a device family imports no agent, hwcheck or command", func(p string) bool { return under(p, families...) },
			func(d string) bool { return under(d, "agent", "check", "cmd") }},
		{"the agent library imports none of its front ends nor its wiring", func(p string) bool { return p == "agent" || p == "agent/agenttest" },
			func(d string) bool { return under(d, "agent/hw", "agent/cli", "agent/fence", "agent/ocf", "check") }},
		{"the agent library and the OCF agents link no SG_IO (device strings through scsi/opener/devname)", func(p string) bool { return p == "agent" || p == "agent/agenttest" || p == "agent/ocf" },
			func(d string) bool { return d == "scsi/opener" || under(d, "scsi/sgio") }},
		{"the wiring (agent/hw) imports no front end", func(p string) bool { return p == "agent/hw" },
			func(d string) bool { return under(d, frontEnds...) }},
		{"hwcheck reaches the agent through its API only, and opens disks without the field commands", func(p string) bool { return p == "check" },
			func(d string) bool {
				return under(d, "agent/hw", "agent/cli", "agent/fence", "agent/ocf", "scsi/diskcli", "serialhb/hbcli", "nic/niccli", "raidctl/raidcli", "sbd/sbdcli")
			}},
		{"the OCF agents use the agent's API only", func(p string) bool { return p == "agent/ocf" },
			func(d string) bool { return under(d, "agent/hw", "agent/cli", "agent/fence", "check") }},
		{"the fence agent is no hwagent command line", func(p string) bool { return p == "agent/fence" },
			func(d string) bool { return under(d, "agent/cli", "agent/ocf", "check") }},
	}
	for _, f := range families {
		allowed := append([]string{f}, mayUse[f]...)
		rules = append(rules, rule{"device family " + f + " uses only " + strings.Join(allowed, ", ") + " of the families",
			func(p string) bool { return under(p, f) },
			func(d string) bool { return under(d, families...) && !under(d, allowed...) }})
	}
	checked := map[string]bool{}
	for pkg, info := range pkgs {
		if under(pkg, "tools", "internal/rig", "acceptance") {
			continue
		}
		for _, r := range rules {
			if !r.match(pkg) {
				continue
			}
			checked[r.what] = true
			for _, d := range info.deps {
				if r.bad(d) {
					t.Errorf("%s: %s imports %s", r.what, pkg, d)
				}
			}
		}
		if slices.Contains(pure, pkg) {
			checked["pure"] = true
			for _, d := range info.imports {
				_, ours := pkgs[d]
				if slices.Contains(ioImports, d) || (ours && !slices.Contains(pure, d)) {
					t.Errorf("pure package %s imports %s", pkg, d)
				}
			}
		}
	}
	for _, r := range rules {
		if !checked[r.what] {
			t.Errorf("rule %q matched no package: the listing or the rule is wrong", r.what)
		}
	}
	for _, p := range pure {
		if _, ok := pkgs[p]; !ok {
			t.Errorf("pure package %s not in the module", p)
		}
	}
}
