package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"

	"github.com/hakit/hakit/internal/exitcode"
	"github.com/hakit/hakit/scsi/diskcli"
)

// Page is one hwagent command's help as its --help prints it, and the
// flags that help lists: shell completion and the man pages are made
// from these, so they follow the flag definitions.
type Page struct {
	// Name is the command line after "hwagent" ("" for hwagent itself,
	// "disk keys").
	Name  string
	Help  string
	Flags []string // with their dashes: --json
}

// groups are the field tools with subcommands of their own.
func groups() map[string][]string {
	return map[string][]string{
		"disk":      diskcli.CommandNames(),
		"hb":        {"run", "status", "cabletest", "ports"},
		"nic":       {"status", "watch", "probe", "inventory"},
		"raid-tool": {"show", "validate"},
	}
}

// sortedKeys are the field tools of groups, sorted.
func sortedKeys(g map[string][]string) []string {
	keys := make([]string, 0, len(g))
	for k := range g {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

var flagLine = regexp.MustCompile(`(?m)^  -([A-Za-z0-9][A-Za-z0-9_-]*)`)

// Pages runs every command's --help in this process and returns the
// pages in order: hwagent, its own commands, then each field tool's.
func Pages(ctx context.Context) ([]Page, error) {
	names := []string{"", "run", "check-config", "capture", "compare"}
	names = append(names, exitcode.ClientCommands()...)
	g := groups()
	for _, t := range sortedKeys(g) {
		names = append(names, t)
		for _, sub := range g[t] {
			names = append(names, t+" "+sub)
		}
	}
	names = append(names, "sbd")
	var pages []Page
	for _, n := range names {
		var out bytes.Buffer
		args := append(strings.Fields(n), "--help")
		if err := Run(ctx, args, &out, io.Discard); ExitCode(err) != 0 {
			return nil, fmt.Errorf("hwagent %s --help: %w", n, err)
		}
		p := Page{Name: n, Help: out.String()}
		for _, m := range flagLine.FindAllStringSubmatch(p.Help, -1) {
			p.Flags = append(p.Flags, "--"+m[1])
		}
		pages = append(pages, p)
	}
	return pages, nil
}

// BashCompletion is hwagent's bash completion script, made from Pages.
func BashCompletion(pages []Page) string {
	var b strings.Builder
	b.WriteString("# bash completion for hwagent (hwagent completion bash > /etc/bash_completion.d/hwagent)\n")
	b.WriteString("_hwagent() {\n\tlocal cur=\"${COMP_WORDS[COMP_CWORD]}\" cmd=\"${COMP_WORDS[1]}\" key flags\n")
	var top []string
	for _, p := range pages {
		if p.Name != "" && !strings.Contains(p.Name, " ") {
			top = append(top, p.Name)
		}
	}
	top = append(top, "completion")
	fmt.Fprintf(&b, "\tif [ \"$COMP_CWORD\" -eq 1 ]; then\n\t\tCOMPREPLY=($(compgen -W %q -- \"$cur\"))\n\t\treturn\n\tfi\n", strings.Join(top, " "))
	b.WriteString("\tkey=\"$cmd\"\n\tcase \"$cmd\" in\n")
	g := groups()
	for _, t := range sortedKeys(g) {
		fmt.Fprintf(&b, "\t%s)\n\t\tif [ \"$COMP_CWORD\" -eq 2 ]; then\n\t\t\tCOMPREPLY=($(compgen -W %q -- \"$cur\"))\n\t\t\treturn\n\t\tfi\n\t\tkey=\"$cmd ${COMP_WORDS[2]}\" ;;\n", t, strings.Join(g[t], " "))
	}
	b.WriteString("\tcompletion) COMPREPLY=($(compgen -W \"bash\" -- \"$cur\")); return ;;\n\tesac\n\tcase \"$key\" in\n")
	for _, p := range pages {
		if p.Name == "" {
			continue
		}
		fmt.Fprintf(&b, "\t%q) flags=%q ;;\n", p.Name, strings.Join(p.Flags, " "))
	}
	b.WriteString("\tesac\n\tif [[ \"$cur\" == -* ]]; then\n\t\tCOMPREPLY=($(compgen -W \"$flags\" -- \"$cur\"))\n\telse\n\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n\tfi\n}\ncomplete -F _hwagent hwagent\n")
	return b.String()
}

func cmdCompletion(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 1 && (args[0] == "--help" || args[0] == "-h") {
		fmt.Fprint(stdout, "Usage: hwagent completion bash\n\nPrints the bash completion script of hwagent, made from every command's flags.\n\nExamples:\n  hwagent completion bash > /etc/bash_completion.d/hwagent\n  source <(hwagent completion bash)\n")
		return nil
	}
	if len(args) != 1 || args[0] != "bash" {
		return fmt.Errorf("%w: completion takes one argument: bash", ErrUsage)
	}
	pages, err := Pages(ctx)
	if err != nil {
		return err
	}
	_, err = fmt.Fprint(stdout, BashCompletion(pages))
	return err
}
