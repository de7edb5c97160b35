package raidcli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hakit/hakit/raidctl"
	"github.com/hakit/hakit/raidctl/raidctltest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the command output")

const fx = "../../fixtures/raid/"

func TestRunGolden(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr error
	}{
		{"show-arcconf-86", []string{"show", "--file", fx + "arcconf/check_raid__arcconf__86__arcconf-getconfig.out"}, nil},
		{"show-ipssend", []string{"show", "--vendor", "ipssend", "--file", fx + "ipssend/synthetic__getconfig-1-AL-cluster-A.txt"}, nil},
		{"show-mdstat-json", []string{"show", "--json", "--file", fx + "mdadm/pymdstat__mdstat.05.txt"}, nil},
		{"validate-ipssend-pair", []string{"validate", "--file-a", fx + "ipssend/synthetic__getconfig-1-AL-cluster-A.txt",
			"--file-b", fx + "ipssend/synthetic__getconfig-1-AL-cluster-B.txt"}, ErrPairUnchecked},
		{"validate-arcconf-same-ids", []string{"validate", "--vendor", "arcconf", "--file-a", fx + "arcconf/check_raid__arcconf__86__arcconf-getconfig.out",
			"--file-b", fx + "arcconf/check_raid__arcconf__86__arcconf-getconfig.out"}, ErrPairInvalid},
		{"validate-storcli-json", []string{"validate", "--json", "--controller-a", "1", "--controller-b", "0",
			"--file-a", fx + "storcli/puppet-storcli__storcli_call_show.json",
			"--file-b", fx + "storcli/synthetic__storcli_-cALL_show_all_ha-active.json"}, ErrPairUnchecked},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := Run(t.Context(), tc.args, &out, &errOut)
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("Run error = %v, want %v (stderr %q)", err, tc.wantErr, errOut.String())
			}
			if strings.Contains(tc.name, "json") && !json.Valid(out.Bytes()) {
				t.Errorf("--json output is not JSON:\n%s", out.String())
			}
			path := filepath.Join("testdata", tc.name+".golden")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if diff := cmp.Diff(string(want), out.String()); diff != "" {
				t.Errorf("%s mismatch (-golden +got):\n%s", path, diff)
			}
		})
	}
}

func TestRunErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no command", nil, "missing command"},
		{"unknown command", []string{"frob"}, `unknown command "frob"`},
		{"validate without node B", []string{"validate", "--file-a", "x"}, "--file-b is required"},
		{"unknown vendor", []string{"show", "--vendor", "hpacucli", "--file", "x"}, `unknown tool "hpacucli"`},
		{"live without a vendor", []string{"show"}, "name the tool with --vendor"},
		{"live storcli text", []string{"show", "--vendor", "storcli-text"}, "saved files"},
		{"bad flag", []string{"show", "--frob"}, "flag provided but not defined"},
		{"stray argument", []string{"show", "--file", "x", "extra"}, "takes no arguments, only flags"},
		{"a capture as an argument, flags after it", []string{"validate", "a.txt", "--file-b", "b.txt"}, "give the captures as --file-a PATH --file-b PATH"},
		{"several controllers", []string{"validate", "--file-a", fx + "storcli/puppet-storcli__storcli_call_show.json",
			"--file-b", fx + "storcli/puppet-storcli__storcli_call_show.json"}, "name the one on the shared enclosure"},
		{"truncated capture", []string{"show", "--file", fx + "megacli/check_raid__megacli__issue65__ldinfo2.txt", "--vendor", "megacli"},
			"megacli output, line 17: output truncated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := Run(t.Context(), tc.args, &out, &errOut)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run(%q) error = %v, want it to contain %q", tc.args, err, tc.want)
			}
		})
	}
}

func TestRunHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"show", "--help"}, {"validate", "-h"}} {
		var out, errOut bytes.Buffer
		if err := Run(t.Context(), args, &out, &errOut); err != nil {
			t.Errorf("Run(%q) = %v, want nil", args, err)
		}
		text := out.String() + errOut.String()
		for _, w := range []string{"Usage: raid", "--"} {
			if !strings.Contains(text, w) {
				t.Errorf("help for %q lacks %q:\n%s", args, w, text)
			}
		}
	}
	var out, errOut bytes.Buffer
	_ = Run(t.Context(), []string{"validate", "-h"}, &out, &errOut)
	for _, w := range []string{"partner name", "initiator IDs", "merge", "write-through", "unknown", "-file-b", "-json", "Examples:"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("validate help (stdout) lacks %q", w)
		}
	}
	if errOut.Len() > 0 {
		t.Errorf("validate help wrote to stderr: %q", errOut.String())
	}
}

// TestRunLive reads node A through a scripted vendor CLI.
func TestRunLive(t *testing.T) {
	a, err := os.ReadFile(fx + "ipssend/synthetic__getconfig-1-AL-cluster-A.txt")
	if err != nil {
		t.Fatal(err)
	}
	r := &raidctltest.Runner{TB: t, Installed: []string{"ipssend"}, Replies: map[string]raidctltest.Reply{
		"ipssend GETCONFIG 1 AL": {Stdout: a},
	}}
	c := &Command{Runner: r}
	var out, errOut bytes.Buffer
	err = c.Run(t.Context(), []string{"validate", "--vendor", "ipssend", "--file-b", fx + "ipssend/synthetic__getconfig-1-AL-cluster-B.txt"}, &out, &errOut)
	if !errors.Is(err, ErrPairUnchecked) {
		t.Fatalf("live validate: %v", err)
	}
	if !strings.Contains(out.String(), "node A (live ipssend)") || strings.Contains(out.String(), "ERROR") {
		t.Errorf("live validate output:\n%s", out.String())
	}
	// Nothing installed: the error names what was looked for.
	c = &Command{Runner: &raidctltest.Runner{TB: t}}
	err = c.Run(t.Context(), []string{"show", "--vendor", "storcli"}, &out, &errOut)
	if !errors.Is(err, raidctl.ErrNotInstalled) || !strings.Contains(err.Error(), "storcli64, storcli, perccli64") {
		t.Errorf("show without storcli: %v", err)
	}
}

// show prints the arrays and the logical devices an arcconf GETCONFIG AR
// capture lists only inside its array sections.
func TestShowArcconfArrays(t *testing.T) {
	var out, errb bytes.Buffer
	if err := Run(context.Background(), []string{"show", "--vendor", "arcconf", "--file", "../../fixtures/raid/arcconf/synthetic__arcconf31000__getconfig-AR.txt"}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"arrays:", "Connector:0,Device:0", "RAID6-160T DATA"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("show output lacks %q:\n%s", want, out.String())
		}
	}
}
