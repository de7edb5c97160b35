// Package ocf is hakit's OCF 1.1 resource agents for Pacemaker. hakit-disk
// takes the shared disks for the node it runs on through the local hwagent:
// start acquires (registering is the fencer's unfence; a fenced node is
// refused), stop releases, monitor checks that this node's key is
// registered and holds the reservation on every disk.
package ocf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/internal/exitcode"
	"github.com/hakit/hakit/internal/version"
	"github.com/hakit/hakit/scsi"
)

// OCF exit codes (OCF 1.1).
const (
	Success        = 0
	ErrGeneric     = 1
	ErrArgs        = 2
	ErrUnimplement = 3
	ErrPerm        = 4
	ErrInstalled   = 5
	ErrConfigured  = 6
	NotRunning     = 7
)

// Backend is what the agent needs from the local hwagent; *agent.Client
// implements it.
type Backend interface {
	Status(ctx context.Context) (agent.Status, error)
	Disks(ctx context.Context) ([]agent.DiskStatus, error)
	Action(ctx context.Context, act agent.Action) (agent.ActionResult, error)
}

// Main runs an agent from a command line (args: the program and the
// action), with the process's environment and a context cancelled by
// SIGINT or SIGTERM, and returns the exit code.
func Main(args []string, name string, run func(ctx context.Context, action string, getenv func(string) string, stdout, stderr io.Writer) int) int {
	if len(args) == 2 && (args[1] == "--help" || args[1] == "-h") {
		fmt.Printf("Usage: %[1]s {start|stop|monitor|validate-all|meta-data}\n\nAn OCF 1.1 resource agent run by Pacemaker; its parameters come in OCF_RESKEY_*\n(%[1]s meta-data lists them).\n\nExamples:\n  %[1]s meta-data\n  OCF_RESKEY_config=/etc/hakit/hwagent.yaml %[1]s monitor; echo \"exit $?\"\n\n%[2]s", name, exitcode.Help(name))
		return Success
	}
	if len(args) == 2 && (args[1] == "--version" || args[1] == "-V") {
		fmt.Println(version.String(name))
		return Success
	}
	if len(args) != 2 {
		fmt.Fprintf(os.Stderr, "usage: %s {start|stop|monitor|validate-all|meta-data} (parameters in OCF_RESKEY_*: %s meta-data lists them)\n", name, name)
		return ErrArgs
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, args[1], os.Getenv, os.Stdout, os.Stderr)
}

// Deps are the agent's dependencies; zero values are the real ones.
type Deps struct {
	// Dial returns the backend for a socket; nil means agent.NewClient.
	Dial func(socket string) Backend
	// LoadConfig reads the hwagent configuration; nil means agent.LoadConfig.
	LoadConfig func(path string) (*agent.Config, error)
}

// DefaultConfig is the config parameter's default.
const DefaultConfig = "/etc/hakit/hwagent.yaml"

// sayer writes an agent's message for Pacemaker's log (stderr) and
// returns code.
type sayer func(code int, format string, args ...any) int

func newSayer(name, action string, stderr io.Writer) sayer {
	return func(code int, format string, args ...any) int {
		fmt.Fprintf(stderr, "%s: %s: %s\n", name, action, fmt.Sprintf(format, args...))
		return code
	}
}

// prelude is what every hakit agent does first: meta-data, usage and
// unknown actions, then the hwagent configuration (config parameter). It
// returns the configuration, or done with the exit code.
func prelude(name, metadata, action string, getenv func(string) string, stdout io.Writer, say sayer, deps Deps) (cfg *agent.Config, path string, code int, done bool) {
	switch action {
	case "meta-data":
		_, _ = io.WriteString(stdout, metadata)
		return nil, "", Success, true
	case "start", "stop", "monitor", "validate-all":
	case "usage", "help":
		fmt.Fprintf(stdout, "usage: %s {start|stop|monitor|validate-all|meta-data}\n", name)
		return nil, "", Success, true
	default:
		return nil, "", say(ErrUnimplement, "unknown action (want start, stop, monitor, validate-all or meta-data)"), true
	}
	path = getenv("OCF_RESKEY_config")
	if path == "" {
		path = DefaultConfig
	}
	load := deps.LoadConfig
	if load == nil {
		load = agent.LoadConfig
	}
	cfg, err := load(path)
	if err != nil {
		// A probe (monitor) on a node without hakit: not running there.
		if errors.Is(err, fs.ErrNotExist) {
			if action == "monitor" || action == "stop" {
				say(0, "%v: not installed on this node", err)
				return nil, path, NotRunning, true
			}
			return nil, path, say(ErrInstalled, "%v", err), true
		}
		return nil, path, say(ErrConfigured, "%v", err), true
	}
	return cfg, path, 0, false
}

// Disk runs hakit-disk's action with the OCF_RESKEY_* parameters in env
// (getenv) and returns the OCF exit code. Messages go to stderr, which
// Pacemaker logs.
func Disk(ctx context.Context, action string, getenv func(string) string, stdout, stderr io.Writer, deps Deps) int {
	say := newSayer("hakit-disk", action, stderr)
	cfg, path, code, done := prelude("hakit-disk", diskMetadata, action, getenv, stdout, say, deps)
	if done {
		return code
	}
	if len(cfg.Disks) == 0 {
		return say(ErrConfigured, "%s lists no shared disk", path)
	}
	if action == "validate-all" {
		return Success
	}
	sock := getenv("OCF_RESKEY_socket")
	if sock == "" {
		sock = cfg.API.Socket
	}
	dial := deps.Dial
	if dial == nil {
		dial = func(s string) Backend { return agent.NewClient(s) }
	}
	be := dial(sock)
	switch action {
	case "monitor":
		code, msg := monitor(ctx, be)
		if code != Success && code != NotRunning {
			return say(code, "%s", msg)
		}
		return code
	case "start":
		st, err := be.Status(ctx)
		if err != nil {
			return say(ErrGeneric, "the local hwagent (%s): %v", sock, err)
		}
		if st.Fenced {
			return say(ErrGeneric, "%s was fenced (its key is gone from the shared disks): refusing to take them; unfence first (the fencer's on, or hwagent unfence)", st.Node)
		}
		if code, _ := monitor(ctx, be); code == Success {
			return Success
		}
		actx, cancel := context.WithTimeout(ctx, 60*time.Second)
		_, err = be.Action(actx, agent.ActionAcquire)
		// The peer may still hold the reservation it kept to lock this
		// node out while it was fenced; its agent releases it within a
		// disk-status period of this node's unfence. Wait up to 10 s.
		// (A holder that claimed it refuses a handover: no wait.)
		for deadline := time.Now().Add(10 * time.Second); errors.Is(err, scsi.ErrReservedByOther) && time.Now().Before(deadline); {
			select {
			case <-actx.Done():
			case <-time.After(250 * time.Millisecond):
			}
			_, err = be.Action(actx, agent.ActionAcquire)
		}
		cancel()
		if err != nil {
			return say(ErrGeneric, "acquire: %v", err)
		}
		if code, msg := monitor(ctx, be); code != Success {
			return say(ErrGeneric, "after acquire: %s", msg)
		}
		return Success
	case "stop":
		code, msg := monitor(ctx, be)
		switch code {
		case NotRunning:
			return Success
		case Success:
		default:
			// Unknown is not stopped: a failed stop makes Pacemaker fence
			// this node, which is what a disk that cannot be read needs.
			return say(ErrGeneric, "%s", msg)
		}
		if _, err := be.Action(ctx, agent.ActionRelease); err != nil {
			return say(ErrGeneric, "release: %v", err)
		}
		if code, msg := monitor(ctx, be); code == Success {
			return say(ErrGeneric, "after release this node still holds the disks: %s", msg)
		}
		return Success
	}
	return ErrUnimplement
}

// monitor: Success when this node's key is registered and holds the
// reservation on every disk (on a scsi2 disk: this node holds the SCSI-2
// reservation), NotRunning when it holds none, ErrGeneric
// otherwise (a disk unreadable, some held and some not).
func monitor(ctx context.Context, be Backend) (int, string) {
	disks, err := be.Disks(ctx)
	if err != nil {
		return ErrGeneric, fmt.Sprintf("the local hwagent: %v", err)
	}
	if len(disks) == 0 {
		return ErrGeneric, "the local hwagent manages no shared disk"
	}
	held := 0
	var parts []string
	for _, d := range disks {
		if d.Error != "" {
			return ErrGeneric, fmt.Sprintf("%s: %s", d.Device, d.Error)
		}
		if d.Mode == agent.ModeSCSI2 {
			// No keys: the disk layer says whether this node holds the
			// SCSI-2 reservation with its renewals on time.
			if d.Registered && d.Owner {
				held++
			}
			parts = append(parts, fmt.Sprintf("%s scsi2 holder %q", d.Device, d.Holder))
			continue
		}
		if d.Registered && d.Holder != "" && d.Holder == d.OwnKey && !d.Lockout {
			// A reservation kept only to keep a fenced peer out is not
			// this resource running.
			held++
		}
		parts = append(parts, fmt.Sprintf("%s keys %v holder %q (own %s)", d.Device, d.Keys, d.Holder, d.OwnKey))
	}
	switch held {
	case len(disks):
		return Success, ""
	case 0:
		return NotRunning, strings.Join(parts, "; ")
	}
	return ErrGeneric, "this node holds only some of the disks: " + strings.Join(parts, "; ")
}

const diskMetadata = `<?xml version="1.0"?>
<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">
<resource-agent name="hakit-disk" version="0.1">
<version>1.1</version>
<longdesc lang="en">
Takes the shared disks of a hakit pair for this node through the local hwagent: start
acquires them (SCSI-3 persistent reservation; a holder that is fenced or gone is
preempted), stop releases them, monitor checks that this node's key is registered and
holds the reservation on every disk (a disk in hwagent's scsi2 mode: this node holds
its SCSI-2 reservation and renews it). start refuses on a node that was fenced (its key is
gone) until it is unfenced. Use it with the stonith device fence_hwagent and
provides=unfencing.
</longdesc>
<shortdesc lang="en">hakit shared disks (SCSI-3 reservations through hwagent)</shortdesc>
<parameters>
<parameter name="config" unique="0" required="0">
<longdesc lang="en">hwagent configuration file of this node.</longdesc>
<shortdesc lang="en">hwagent configuration</shortdesc>
<content type="string" default="/etc/hakit/hwagent.yaml"/>
</parameter>
<parameter name="socket" unique="0" required="0">
<longdesc lang="en">Local hwagent API socket; empty means the configuration's.</longdesc>
<shortdesc lang="en">hwagent API socket</shortdesc>
<content type="string" default=""/>
</parameter>
</parameters>
<actions>
<action name="start" timeout="90s"/>
<action name="stop" timeout="60s"/>
<action name="monitor" timeout="20s" interval="10s" depth="0"/>
<action name="validate-all" timeout="10s"/>
<action name="meta-data" timeout="5s"/>
</actions>
</resource-agent>
`
