package raidctl

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hakit/hakit/raidctl/raidctltest"
)

func TestExecNotInstalled(t *testing.T) {
	tests := []struct {
		tool Tool
		want string
	}{
		{ToolStorcli, "storcli64, storcli, perccli64, perccli"},
		{ToolMegaCLI, "MegaCli64, MegaCli, megacli"},
		{ToolArcconf, "arcconf"},
		{ToolIpssend, "ipssend"},
		{ToolMdadm, "mdadm"},
		{ToolSasIRCU, "sas2ircu, sas3ircu"},
		{ToolSsacli, "ssacli, hpssacli"},
	}
	for _, tc := range tests {
		t.Run(string(tc.tool), func(t *testing.T) {
			src, err := NewExec(ExecConfig{Tool: tc.tool, Runner: &raidctltest.Runner{TB: t}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = src.Read(t.Context())
			var ni *NotInstalledError
			if !errors.Is(err, ErrNotInstalled) || !errors.As(err, &ni) {
				t.Fatalf("Read error = %v, want a *NotInstalledError", err)
			}
			if !strings.Contains(err.Error(), "not installed") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name the binaries %q", err, tc.want)
			}
		})
	}
}

func TestNewExecConfig(t *testing.T) {
	for _, cfg := range []ExecConfig{
		{},
		{Tool: ToolMdstat},
		{Tool: ToolArcconf, Controller: "1 AL; rm"},
		{Tool: ToolArcconf, Timeout: -time.Second},
	} {
		if _, err := NewExec(cfg); err == nil {
			t.Errorf("NewExec(%+v) accepted a bad config", cfg)
		}
	}
}

func mustParse(t *testing.T, tool Tool, data []byte) *System {
	t.Helper()
	sys, err := Parse(tool, data)
	if err != nil {
		t.Fatal(err)
	}
	return sys
}

func TestExecRead(t *testing.T) {
	storcli := readFixture(t, "storcli/prometheus-textfile__storcli_-cALL_show_all.json")
	arcconf := readFixture(t, "arcconf/check_raid__arcconf__86__arcconf-getconfig.out")
	ips := readFixture(t, "ipssend/check_raid__ips__test1.ipssend-getconfig-1-LD.txt")
	sas := readFixture(t, "sas2ircu/check_raid__sas2ircu__pr71__sas2ircu-display.out")
	ssa := readFixture(t, "ssacli/netdata__hpssa__ssacli-P400ar.txt")
	ldpd := readFixture(t, "megacli/netdata__megacli__mega-phys-drives-info.txt")
	bbu := readFixture(t, "megacli/netdata__megacli__mega-bbu-info-recent.txt")
	md125 := readFixture(t, "mdadm/check_raid__mdadm__white-mdadm-125.txt")
	md127 := readFixture(t, "mdadm/check_raid__mdadm__white-mdadm-127.txt")
	// Built for this test, not a capture: two arrays in /proc/mdstat form.
	mdstat := "Personalities : [raid1]\nmd125 : active raid1 sda1[0] sdb1[1]\n      56128 blocks [2/2] [UU]\n\n" +
		"md127 : active raid1 sdc1[0] sdd1[1]\n      732571904 blocks [2/2] [UU]\n\nunused devices: <none>\n"
	// Built for this test: the shape of MegaCLI -AdpAllInfo's first lines.
	adp := "\nAdapter #0\n\n==============================================================================\n" +
		"                    Versions\n                ================\nProduct Name    : PERC H710 Mini\nSerial No       : 29D02AG\n" +
		"FW Package Build: 21.3.0-0009\n\nExit Code: 0x00\n"

	arcWant := mustParse(t, ToolArcconf, arcconf)
	arcWant.Controllers[0].ID = "2"
	megaWant := mustParse(t, ToolMegaCLI, []byte(adp+"\n"+string(ldpd)+"\n"+string(bbu)+"\n"))
	tests := []struct {
		name      string
		cfg       ExecConfig
		installed []string
		replies   map[string]raidctltest.Reply
		want      *System
	}{
		{
			name:      "storcli JSON through perccli64",
			cfg:       ExecConfig{Tool: ToolStorcli},
			installed: []string{"perccli64"},
			replies:   map[string]raidctltest.Reply{"perccli64 /call show all J nolog": {Stdout: storcli}},
			want:      mustParse(t, ToolStorcli, storcli),
		},
		{
			name:      "arcconf controller 2 gets its ID",
			cfg:       ExecConfig{Tool: ToolArcconf, Controller: "2"},
			installed: []string{"arcconf"},
			replies:   map[string]raidctltest.Reply{"arcconf GETCONFIG 2 AL": {Stdout: arcconf}},
			want:      arcWant,
		},
		{
			name:      "old ipssend exits 1 on success",
			cfg:       ExecConfig{Tool: ToolIpssend},
			installed: []string{"ipssend"},
			replies:   map[string]raidctltest.Reply{"ipssend GETCONFIG 1 AL": {Stdout: ips, Exit: 1}},
			want:      mustParse(t, ToolIpssend, ips),
		},
		{
			name:      "sas3ircu controller 0 by default",
			cfg:       ExecConfig{Tool: ToolSasIRCU},
			installed: []string{"sas3ircu"},
			replies:   map[string]raidctltest.Reply{"sas3ircu 0 DISPLAY": {Stdout: sas}},
			want:      mustParse(t, ToolSasIRCU, sas),
		},
		{
			name:      "hpssacli when ssacli is not installed",
			cfg:       ExecConfig{Tool: ToolSsacli},
			installed: []string{"hpssacli"},
			replies:   map[string]raidctltest.Reply{"hpssacli ctrl all show config detail": {Stdout: ssa}},
			want:      mustParse(t, ToolSsacli, ssa),
		},
		{
			name:      "MegaCLI: adapter, LDs with PDs, battery",
			cfg:       ExecConfig{Tool: ToolMegaCLI},
			installed: []string{"MegaCli"},
			replies: map[string]raidctltest.Reply{
				"MegaCli -AdpAllInfo -aALL -NoLog":              {Stdout: []byte(adp)},
				"MegaCli -LDPDInfo -aALL -NoLog":                {Stdout: ldpd},
				"MegaCli -AdpBbuCmd -GetBbuStatus -aALL -NoLog": {Stdout: bbu, Exit: 1},
			},
			want: megaWant,
		},
		{
			name:      "mdadm --detail on the arrays in /proc/mdstat",
			cfg:       ExecConfig{Tool: ToolMdadm, ProcFS: fstest.MapFS{"mdstat": {Data: []byte(mdstat)}}},
			installed: []string{"mdadm"},
			replies: map[string]raidctltest.Reply{
				"mdadm --detail /dev/md125 /dev/md127": {Stdout: append(append([]byte{}, md125...), md127...)},
			},
			want: mustParse(t, ToolMdadm, append(append([]byte{}, md125...), md127...)),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &raidctltest.Runner{TB: t, Installed: tc.installed, Replies: tc.replies}
			cfg := tc.cfg
			cfg.Runner = r
			src, err := NewExec(cfg)
			if err != nil {
				t.Fatal(err)
			}
			got, err := src.Read(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("model mismatch (-want +got):\n%s", diff)
			}
			if len(r.Calls()) != len(tc.replies) {
				t.Errorf("ran %q, want each of the %d scripted commands once", r.Calls(), len(tc.replies))
			}
		})
	}
	t.Run("MegaCLI model has the adapter fields", func(t *testing.T) {
		c := megaWant.Controllers[0]
		if c.Model == nil || *c.Model != "PERC H710 Mini" || len(c.LogicalDrives) != 1 || c.Battery == nil || c.Battery.Failed == nil {
			t.Errorf("merged MegaCLI model incomplete: %+v", c)
		}
	})
}

func TestExecFailures(t *testing.T) {
	t.Run("exit status with stderr", func(t *testing.T) {
		r := &raidctltest.Runner{TB: t, Installed: []string{"arcconf"}, Replies: map[string]raidctltest.Reply{
			"arcconf GETCONFIG 1 AL": {Stdout: []byte("Controllers found: 0\n"), Stderr: []byte("Invalid controller number.\n"), Exit: 2},
		}}
		src, _ := NewExec(ExecConfig{Tool: ToolArcconf, Runner: r})
		_, err := src.Read(t.Context())
		var ce *CommandError
		if !errors.As(err, &ce) || ce.ExitCode != 2 || !strings.Contains(err.Error(), "Invalid controller number.") {
			t.Fatalf("error = %v, want a *CommandError with exit 2 and the stderr text", err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		r := &raidctltest.Runner{TB: t, Installed: []string{"storcli"}, Replies: map[string]raidctltest.Reply{
			"storcli /call show all J nolog": {Delay: time.Minute, Stderr: []byte("waiting for adapter")},
		}}
		src, _ := NewExec(ExecConfig{Tool: ToolStorcli, Runner: r, Timeout: 50 * time.Millisecond})
		start := time.Now()
		_, err := src.Read(t.Context())
		if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("error = %v, want a deadline error", err)
		}
		if !strings.Contains(err.Error(), "waiting for adapter") {
			t.Errorf("error %q lost stderr", err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("Read took %v after a 50ms timeout", d)
		}
	})
	t.Run("output the parser refuses", func(t *testing.T) {
		r := &raidctltest.Runner{TB: t, Installed: []string{"ipssend"}, Replies: map[string]raidctltest.Reply{
			"ipssend GETCONFIG 1 AL": {Stdout: []byte("Found 1 IBM ServeRAID controller(s).\n Logical drive number 1\n")},
		}}
		src, _ := NewExec(ExecConfig{Tool: ToolIpssend, Runner: r})
		if _, err := src.Read(t.Context()); !errors.Is(err, ErrTruncated) {
			t.Fatalf("error = %v, want ErrTruncated", err)
		}
	})
}

// TestExecRunnerReal runs shell scripts standing in for the vendor CLI
// through the real os/exec runner.
func TestExecRunnerReal(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("shell scripts stand in for the CLI; not on windows")
	}
	dir := t.TempDir()
	fixture, err := filepath.Abs(filepath.Join(fixtureDir, "storcli/prometheus-textfile__storcli_-cALL_show_all.json"))
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write("storcli64", `[ "$*" = "/call show all J nolog" ] || { echo "bad args: $*" >&2; exit 9; }; cat '`+fixture+`'`)
	write("arcconf", `echo "no controllers" >&2; exit 3`)
	write("ipssend", `exec sleep 30`)
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))

	src, _ := NewExec(ExecConfig{Tool: ToolStorcli})
	sys, err := src.Read(t.Context())
	if err != nil || len(sys.Controllers) != 1 {
		t.Fatalf("storcli via script: %v", err)
	}
	src, _ = NewExec(ExecConfig{Tool: ToolArcconf})
	_, err = src.Read(t.Context())
	var ce *CommandError
	if !errors.As(err, &ce) || ce.ExitCode != 3 || !strings.Contains(ce.Stderr, "no controllers") {
		t.Fatalf("arcconf via script: error = %v, want exit 3 with stderr", err)
	}
	src, _ = NewExec(ExecConfig{Tool: ToolIpssend, Timeout: 100 * time.Millisecond})
	start := time.Now()
	_, err = src.Read(t.Context())
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("ipssend via sleeping script: error = %v, want deadline exceeded", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("timed-out command took %v to return", d)
	}
}

func TestFileSource(t *testing.T) {
	path := filepath.Join(fixtureDir, "arcconf/check_raid__arcconf__1__getconfig.txt")
	got, err := File{Path: path}.Read(t.Context())
	if err != nil || got.Tool != ToolArcconf {
		t.Fatalf("File (detected) = %+v, %v", got, err)
	}
	if _, err := (File{Path: path, Tool: ToolIpssend}).Read(t.Context()); !errors.Is(err, ErrForeign) || !strings.Contains(err.Error(), path) {
		t.Errorf("File read as the wrong tool: err = %v, want ErrForeign naming the file", err)
	}
	other := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(other, []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := (File{Path: other}).Read(t.Context()); err == nil || !strings.Contains(err.Error(), "cannot tell") {
		t.Errorf("undetectable file: err = %v", err)
	}
}

// sysfsTree is built for the test (the file names are those of the
// kernel's md sysfs interface; the values are made up): md0 is a clean
// RAID1, md1 a degraded RAID1 recovering onto a spare, and sda is not md.
func sysfsTree() fstest.MapFS {
	f := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s + "\n")} }
	return fstest.MapFS{
		"block/sda/size":              f("1000"),
		"block/md0/size":              f("204800"),
		"block/md0/md/level":          f("raid1"),
		"block/md0/md/array_state":    f("clean"),
		"block/md0/md/degraded":       f("0"),
		"block/md0/md/sync_action":    f("idle"),
		"block/md0/md/uuid":           f("57219006-b152-7c59-de32-536dbb88a27f"),
		"block/md0/md/dev-sda1/state": f("in_sync"),
		"block/md0/md/dev-sdb1/state": f("in_sync"),
		"block/md1/size":              f("409600"),
		"block/md1/md/level":          f("raid1"),
		"block/md1/md/array_state":    f("active"),
		"block/md1/md/degraded":       f("1"),
		"block/md1/md/sync_action":    f("recover"),
		"block/md1/md/sync_completed": f("1024 / 4096"),
		"block/md1/md/dev-sdc1/state": f("faulty"),
		"block/md1/md/dev-sdd1/state": f("in_sync"),
		"block/md1/md/dev-sde1/state": f("spare"),
		"block/md127/size":            f("0"),
		"block/md127/md/array_state":  f("inactive"),
	}
}

func TestReadSysfsMD(t *testing.T) {
	sys, err := SysfsMD{FS: sysfsTree()}.Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		ID, Level string
		Cond      Condition
		Members   int
		Progress  float64
	}
	var got []row
	for _, ld := range sys.Controllers[0].LogicalDrives {
		r := row{ID: ld.ID, Cond: ld.Condition, Members: len(ld.Members)}
		if ld.RAIDLevel != nil {
			r.Level = *ld.RAIDLevel
		}
		if ld.Progress != nil {
			r.Progress = *ld.Progress
		}
		got = append(got, r)
	}
	want := []row{
		{ID: "md0", Level: "1", Cond: ConditionOK, Members: 2},
		{ID: "md1", Level: "1", Cond: ConditionRebuilding, Members: 3, Progress: 25},
		{ID: "md127", Cond: ConditionFailed},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("arrays (-want +got):\n%s", diff)
	}
	var failed int
	for _, pd := range sys.Controllers[0].PhysicalDrives {
		if pd.Condition == ConditionFailed {
			failed++
		}
	}
	if failed != 1 {
		t.Errorf("%d failed members, want 1 (sdc1)", failed)
	}
	if _, err := ReadSysfsMD(fstest.MapFS{}); err == nil {
		t.Error("ReadSysfsMD on a tree without block/ succeeded")
	}
}
