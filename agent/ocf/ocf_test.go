package ocf

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"github.com/hakit/hakit/agent"
)

type fakeBackend struct {
	fenced  bool
	disks   []agent.DiskStatus
	err     error
	actions []string
	// after is the disks' state after an action.
	after map[string][]agent.DiskStatus
	// diskBeat is the status's disk heartbeat (nil: off).
	diskBeat *agent.DiskHeartbeat
}

func (f *fakeBackend) Status(context.Context) (agent.Status, error) {
	return agent.Status{Node: "node-a", Peer: "node-b", Fenced: f.fenced, Disks: f.disks, DiskHeartbeat: f.diskBeat}, f.err
}

func (f *fakeBackend) Disks(context.Context) ([]agent.DiskStatus, error) { return f.disks, f.err }

func (f *fakeBackend) Action(_ context.Context, act agent.Action) (agent.ActionResult, error) {
	name := act.String()
	f.actions = append(f.actions, name)
	if d, ok := f.after[name]; ok {
		f.disks = d
	}
	return agent.ActionResult{Action: name, Disks: f.disks}, nil
}

const cfgYAML = "node: {name: node-a, id: 1}\npeer: {name: node-b, id: 2}\ncluster: {id: 7}\ndisks: [{device: /dev/sdb}]\n"

var (
	holding = []agent.DiskStatus{{Device: "/dev/sdb", OwnKey: "0x1", Keys: []string{"0x1", "0x2"}, Registered: true, Holder: "0x1"}}
	other   = []agent.DiskStatus{{Device: "/dev/sdb", OwnKey: "0x1", Keys: []string{"0x1", "0x2"}, Registered: true, Holder: "0x2"}}
	gone    = []agent.DiskStatus{{Device: "/dev/sdb", OwnKey: "0x1", Keys: []string{"0x2"}, Holder: "0x2"}}
	broken  = []agent.DiskStatus{{Device: "/dev/sdb", OwnKey: "0x1", Error: "NOT READY"}}
	// scsi2 disks have no keys.
	held2  = []agent.DiskStatus{{Device: "/dev/sdc", Mode: agent.ModeSCSI2, Keys: []string{}, Registered: true, Owner: true, Holder: "this node"}}
	other2 = []agent.DiskStatus{{Device: "/dev/sdc", Mode: agent.ModeSCSI2, Keys: []string{}, PeerRegistered: true, Holder: "other"}}
	free2  = []agent.DiskStatus{{Device: "/dev/sdc", Mode: agent.ModeSCSI2, Keys: []string{}}}
)

func TestDisk(t *testing.T) {
	for _, tt := range []struct {
		name, action string
		be           fakeBackend
		cfg          string // "" = cfgYAML; "missing" = no file
		code         int
		actions      []string
		errOut       string
	}{
		{name: "monitor holding", action: "monitor", be: fakeBackend{disks: holding}, code: Success},
		{name: "monitor another holder", action: "monitor", be: fakeBackend{disks: other}, code: NotRunning},
		{name: "monitor key gone", action: "monitor", be: fakeBackend{disks: gone}, code: NotRunning},
		{name: "monitor unreadable disk is not stopped", action: "monitor", be: fakeBackend{disks: broken}, code: ErrGeneric, errOut: "NOT READY"},
		{name: "monitor agent down", action: "monitor", be: fakeBackend{err: agent.ErrUnreachable}, code: ErrGeneric, errOut: "hwagent"},
		{name: "monitor probe without hakit", action: "monitor", cfg: "missing", code: NotRunning},
		{name: "start acquires", action: "start", be: fakeBackend{disks: other, after: map[string][]agent.DiskStatus{"acquire": holding}}, code: Success, actions: []string{"acquire"}},
		{name: "start already held", action: "start", be: fakeBackend{disks: holding}, code: Success},
		{name: "start refused on a fenced node", action: "start", be: fakeBackend{fenced: true, disks: gone}, code: ErrGeneric, errOut: "fenced"},
		{name: "start whose acquire did not take", action: "start", be: fakeBackend{disks: other}, code: ErrGeneric, actions: []string{"acquire"}, errOut: "after acquire"},
		{name: "stop releases", action: "stop", be: fakeBackend{disks: holding, after: map[string][]agent.DiskStatus{"release": other}}, code: Success, actions: []string{"release"}},
		{name: "stop when not held", action: "stop", be: fakeBackend{disks: other}, code: Success},
		{name: "stop on an unreadable disk fails", action: "stop", be: fakeBackend{disks: broken}, code: ErrGeneric},
		{name: "stop whose release did not take", action: "stop", be: fakeBackend{disks: holding}, code: ErrGeneric, actions: []string{"release"}, errOut: "still holds"},
		{name: "monitor scsi2 held", action: "monitor", be: fakeBackend{disks: held2}, code: Success},
		{name: "monitor scsi2 another holder", action: "monitor", be: fakeBackend{disks: other2}, code: NotRunning},
		{name: "monitor scsi2 mixed with pr", action: "monitor", be: fakeBackend{disks: append(append([]agent.DiskStatus{}, holding...), free2...)}, code: ErrGeneric, errOut: "only some"},
		{name: "start scsi2 acquires", action: "start", be: fakeBackend{disks: free2, after: map[string][]agent.DiskStatus{"acquire": held2}}, code: Success, actions: []string{"acquire"}},
		{name: "stop scsi2 releases", action: "stop", be: fakeBackend{disks: held2, after: map[string][]agent.DiskStatus{"release": free2}}, code: Success, actions: []string{"release"}},
		{name: "validate-all", action: "validate-all", code: Success},
		{name: "validate-all missing config", action: "validate-all", cfg: "missing", code: ErrInstalled},
		{name: "validate-all bad config", action: "validate-all", cfg: "node: {}\n", code: ErrConfigured},
		{name: "validate-all no disk", action: "validate-all", cfg: "node: {name: node-a, id: 1}\npeer: {name: node-b, id: 2}\ncluster: {id: 7}\n", code: ErrConfigured, errOut: "no shared disk"},
		{name: "unknown action", action: "promote", code: ErrUnimplement},
		{name: "meta-data", action: "meta-data", code: Success},
	} {
		t.Run(tt.name, func(t *testing.T) {
			be := tt.be
			deps := Deps{
				Dial: func(string) Backend { return &be },
				LoadConfig: func(path string) (*agent.Config, error) {
					switch tt.cfg {
					case "missing":
						return nil, fmt.Errorf("hwagent config: %w", &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist})
					case "":
						return agent.ParseConfig(path, []byte(cfgYAML))
					}
					return agent.ParseConfig(path, []byte(tt.cfg))
				},
			}
			var out, errb bytes.Buffer
			code := Disk(context.Background(), tt.action, func(string) string { return "" }, &out, &errb, deps)
			if code != tt.code || !strings.Contains(errb.String(), tt.errOut) {
				t.Errorf("exit %d stderr %q; want %d, stderr ~%q", code, errb.String(), tt.code, tt.errOut)
			}
			if strings.Join(be.actions, ",") != strings.Join(tt.actions, ",") {
				t.Errorf("actions %v, want %v", be.actions, tt.actions)
			}
		})
	}
}

func TestDiskMetadata(t *testing.T) {
	var out bytes.Buffer
	if code := Disk(context.Background(), "meta-data", nil, &out, &bytes.Buffer{}, Deps{}); code != Success {
		t.Fatal(code)
	}
	for _, want := range []string{"<version>1.1</version>", `name="start"`, `name="stop"`, `name="monitor"`, `name="validate-all"`, `name="config"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("meta-data lacks %s", want)
		}
	}
}
