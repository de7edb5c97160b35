// Command mangen writes the man pages of hwagent and hwcheck (hwagent.1,
// hwcheck.1) from the commands' own --help, so they list the same
// commands, flags, examples and exit statuses:
//
//	go run ./tools/mangen -o dist/man
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/hakit/hakit/agent/cli"
	"github.com/hakit/hakit/check"
	"github.com/hakit/hakit/internal/version"
)

func main() {
	out := flag.String("o", ".", "folder to write hwagent.1 and hwcheck.1 into")
	flag.Parse()
	if err := write(context.Background(), *out); err != nil {
		fmt.Fprintln(os.Stderr, "mangen:", err)
		os.Exit(1)
	}
}

func write(ctx context.Context, dir string) error {
	pages, err := cli.Pages(ctx)
	if err != nil {
		return err
	}
	var hwagent bytes.Buffer
	header(&hwagent, "hwagent", "the node-local agent of a hakit pair and its field tools")
	section(&hwagent, "SYNOPSIS", "hwagent <command> [flags]\nhwagent --version")
	for _, p := range pages {
		title := "hwagent " + p.Name
		if p.Name == "" {
			section(&hwagent, "DESCRIPTION", p.Help)
			hwagent.WriteString(".SH COMMANDS\n")
			continue
		}
		fmt.Fprintf(&hwagent, ".SS %s\n", roffText(strings.TrimSpace(title)))
		verbatim(&hwagent, p.Help)
	}
	section(&hwagent, "SEE ALSO", "hwcheck(1), fence_hwagent(8); docs/EXIT-CODES.md, docs/JSON.md, docs/FIELD-GUIDE.md")
	var help bytes.Buffer
	if code := check.Main(ctx, []string{"--help"}, &help, io.Discard); code != 0 {
		return fmt.Errorf("hwcheck --help: exit %d", code)
	}
	var hwcheck bytes.Buffer
	header(&hwcheck, "hwcheck", "install-time diagnostics of a hakit pair")
	section(&hwcheck, "SYNOPSIS", "hwcheck [flags]\nhwcheck --version")
	section(&hwcheck, "DESCRIPTION", help.String())
	section(&hwcheck, "SEE ALSO", "hwagent(1)")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, b := range map[string][]byte{"hwagent.1": hwagent.Bytes(), "hwcheck.1": hwcheck.Bytes()} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func header(w *bytes.Buffer, name, what string) {
	fmt.Fprintf(w, ".TH %s 1 \"\" \"hakit %s\" \"hakit\"\n.SH NAME\n%s \\- %s\n", strings.ToUpper(name), roffText(version.Commit()), name, roffText(what))
}

func section(w *bytes.Buffer, title, text string) {
	fmt.Fprintf(w, ".SH %s\n", title)
	verbatim(w, text)
}

// verbatim writes text as is (.nf), escaped for roff.
func verbatim(w *bytes.Buffer, text string) {
	w.WriteString(".nf\n")
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		w.WriteString(roffLine(l) + "\n")
	}
	w.WriteString(".fi\n")
}

// roffText escapes backslashes and dashes.
func roffText(s string) string {
	return strings.NewReplacer(`\`, `\e`, "-", `\-`).Replace(s)
}

// roffLine is roffText, with a line starting with a control character
// ('.' or '\”) protected.
func roffLine(s string) string {
	s = roffText(s)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}
