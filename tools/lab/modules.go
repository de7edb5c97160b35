package lab

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Module is what the lab needs of a kernel module's .modinfo section.
type Module struct {
	Name    string
	Depends []string
}

// ErrModinfo is returned for a .modinfo section that cannot be parsed.
var ErrModinfo = errors.New("lab: malformed modinfo")

// ParseModinfo decodes the contents of a module's .modinfo ELF section: NUL
// separated key=value strings. It returns the module name and dependencies
// (names as written, with '-' turned into '_' as the kernel does).
func ParseModinfo(section []byte) (Module, error) {
	var m Module
	seenDeps := false
	for _, f := range bytes.Split(section, []byte{0}) {
		if len(f) == 0 {
			continue
		}
		k, v, ok := bytes.Cut(f, []byte{'='})
		if !ok {
			return Module{}, fmt.Errorf("%w: field %q has no '='", ErrModinfo, truncate(f, 40))
		}
		switch string(k) {
		case "name":
			m.Name = normModName(string(v))
		case "depends":
			if seenDeps {
				return Module{}, fmt.Errorf("%w: two depends fields", ErrModinfo)
			}
			seenDeps = true
			for _, d := range strings.Split(string(v), ",") {
				if d = strings.TrimSpace(d); d != "" {
					m.Depends = append(m.Depends, normModName(d))
				}
			}
		}
	}
	if m.Name == "" {
		return Module{}, fmt.Errorf("%w: no name field", ErrModinfo)
	}
	return m, nil
}

func normModName(s string) string { return strings.ReplaceAll(s, "-", "_") }

// ModuleOrder returns wanted and everything they depend on, each after its
// dependencies (the order to load them in). all maps module names to their
// Module. Ties are broken by name, so the order is deterministic.
func ModuleOrder(all map[string]Module, wanted []string) ([]string, error) {
	const (
		unseen = iota
		visiting
		done
	)
	state := map[string]int{}
	var out []string
	var visit func(name string, path []string) error
	visit = func(name string, path []string) error {
		name = normModName(name)
		switch state[name] {
		case done:
			return nil
		case visiting:
			return fmt.Errorf("lab: module dependency cycle: %s", strings.Join(append(path, name), " -> "))
		}
		m, ok := all[name]
		if !ok {
			if len(path) == 0 {
				return fmt.Errorf("lab: module %s not found", name)
			}
			return fmt.Errorf("lab: module %s (needed by %s) not found", name, path[len(path)-1])
		}
		state[name] = visiting
		deps := append([]string(nil), m.Depends...)
		sort.Strings(deps)
		for _, d := range deps {
			if err := visit(d, append(path, name)); err != nil {
				return err
			}
		}
		state[name] = done
		out = append(out, name)
		return nil
	}
	for _, w := range wanted {
		if err := visit(w, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// xzMagic starts an xz stream.
const xzMagic = "\xFD7zXZ\x00"

// FindXZ returns the offset of the first xz stream in a bzImage (vmlinuz), or
// -1 when there is none.
func FindXZ(b []byte) int { return bytes.Index(b, []byte(xzMagic)) }
