package raidctl

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The tool table drives Parse, Binaries, NewExec and the configuration's
// tool names: each row must be usable through all of them.
func TestToolTable(t *testing.T) {
	for _, s := range toolTable() {
		if s.parse == nil && s.tool != ToolSysfsMD {
			t.Errorf("%s: no parser", s.tool)
		}
		if s.parse != nil {
			if _, err := Parse(s.tool, nil); err == nil {
				t.Errorf("%s: empty input accepted", s.tool)
			}
		}
		_, err := NewExec(ExecConfig{Tool: s.tool})
		if live := len(s.binaries) > 0; live != (err == nil) {
			t.Errorf("%s: NewExec error %v, live %v", s.tool, err, live)
		}
		if s.config != "" && len(s.binaries) == 0 {
			t.Errorf("%s: configurable as %q but cannot run live", s.tool, s.config)
		}
	}
	want := []string{"storcli", "megacli", "arcconf", "ipssend", "md", "sas2ircu", "ssacli"}
	if got := ConfigToolNames(); !slices.Equal(got, want) {
		t.Errorf("ConfigToolNames() = %q, want %q", got, want)
	}
	for name, want := range map[string]Tool{"md": ToolMdadm, "ssacli": ToolSsacli, "storcli": ToolStorcli} {
		if got, ok := ConfigTool(name); !ok || got != want {
			t.Errorf("ConfigTool(%q) = %q, %v; want %q", name, got, ok, want)
		}
	}
	if _, ok := ConfigTool("storcli-text"); ok {
		t.Error("a file-only tool has a configuration name")
	}
	if IsConfigToolName("hpacucli") || !IsConfigToolName("sas2ircu") {
		t.Error("IsConfigToolName wrong")
	}
	if !slices.Equal(Binaries(ToolStorcliText), Binaries(ToolStorcli)) {
		t.Error("storcli text and JSON come from the same binaries")
	}
}

// Every parser of the tool table has a real capture behind it: a fixture
// that parses, its golden file, a truncation case and a fuzz target; every
// signature is the one Detect finds on such a capture.
func TestToolTableCoverage(t *testing.T) {
	targets := fuzzTargets(t)
	for _, s := range toolTable() {
		if s.parse == nil {
			continue
		}
		var golden, truncation, detected int
		for _, tc := range goldenCases {
			if tc.tool != s.tool || tc.wantErr != nil {
				continue
			}
			if _, err := os.Stat(goldenPath(tc.file)); err == nil {
				golden++
			}
			if got, ok := Detect(readFixture(t, tc.file)); ok && got == s.tool {
				detected++
			}
		}
		for _, tc := range truncationCases() {
			if tc.tool == s.tool {
				truncation++
			}
		}
		if golden == 0 {
			t.Errorf("%s: no fixture that parses with a golden file in goldenCases", s.tool)
		}
		if truncation == 0 {
			t.Errorf("%s: no truncation case", s.tool)
		}
		if s.detect == nil || detected == 0 {
			t.Errorf("%s: no signature that Detect finds on its fixtures", s.tool)
		}
		if !targets[s.tool] {
			t.Errorf("%s: no fuzz target calling fuzzParser(f, %s) in fuzz_test.go", s.tool, s.tool)
		}
		if s.help == "" {
			t.Errorf("%s: no help line", s.tool)
		}
	}
}

// fuzzTargets reads fuzz_test.go for the Fuzz functions that call
// fuzzParser(f, ToolX), and returns the tools they fuzz.
func fuzzTargets(t *testing.T) map[Tool]bool {
	t.Helper()
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "fuzz_test.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Tool{}
	for _, s := range toolTable() {
		byName[toolConstName(t, s.tool)] = s.tool
	}
	out := map[Tool]bool{}
	for _, d := range file.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || !strings.HasPrefix(fd.Name.Name, "Fuzz") {
			continue
		}
		ast.Inspect(fd, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) != 2 {
				return true
			}
			if fn, ok := call.Fun.(*ast.Ident); ok && fn.Name == "fuzzParser" {
				if id, ok := call.Args[1].(*ast.Ident); ok {
					if tool, ok := byName[id.Name]; ok {
						out[tool] = true
					}
				}
			}
			return true
		})
	}
	return out
}

// toolConstName finds the name of the Tool constant whose value is tool,
// from the package's source files.
func toolConstName(t *testing.T, tool Tool) string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, sp := range gd.Specs {
				vs := sp.(*ast.ValueSpec)
				for i, v := range vs.Values {
					if lit, ok := v.(*ast.BasicLit); ok && lit.Value == strconv.Quote(string(tool)) {
						return vs.Names[i].Name
					}
				}
			}
		}
	}
	t.Fatalf("no Tool constant with value %q", tool)
	return ""
}
