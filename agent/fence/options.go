// Package fence is fence_hwagent's library: the ClusterLabs fence-agent
// calling convention (name=value lines on stdin, the same options on the
// command line), its metadata, and the actions on, off, reboot, status,
// monitor, list, list-status, metadata, manpage and validate-all, fencing by
// SCSI-3 persistent reservation through a Backend (the local hwagent).
package fence

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/hakit/hakit/agent"
)

// Param is one option of the agent, as the metadata lists it.
type Param struct {
	Name     string   // stdin name
	Aliases  []string // other stdin names (e.g. port for plug)
	Short    string   // -o
	Long     string   // --action
	Value    string   // [action]; "" for a flag
	Type     string   // string, second, boolean, integer
	Default  string
	Required bool
	Desc     string
}

// Params returns fence_hwagent's options, in metadata order (a new slice
// each call: no caller can change what the agent accepts).
func Params() []Param { return slices.Clone(params) }

// params are fence_hwagent's options, in metadata order.
var params = []Param{
	{Name: "action", Short: "o", Long: "action", Value: "action", Type: "string", Default: "off", Desc: "Fencing action: on, off, status, monitor, list, list-status, metadata, manpage, validate-all (reboot is accepted and acts as off: fabric fencing cannot power-cycle)"},
	{Name: "plug", Aliases: []string{"port", "nodename_to_fence"}, Short: "n", Long: "plug", Value: "id", Type: "string", Desc: "Node to act on: its name or node id as in the hwagent configuration"},
	{Name: "devices", Short: "d", Long: "devices", Value: "devices", Type: "string", Desc: "Comma-separated shared disks; empty means every disk the local hwagent manages (they must be among them)"},
	{Name: "key", Short: "k", Long: "key", Value: "key", Type: "string", Desc: "This node's reservation key, as for fence_scsi; hwagent derives it from cluster.id and node.id, so a key= that differs is refused (leave it unset)"},
	{Name: "nodename", Long: "nodename", Value: "nodename", Type: "string", Desc: "Node to act on when plug is not given (Pacemaker sends it next to port, as for fence_scsi); it must equal plug when both are given"},
	{Name: "config", Short: "c", Long: "config", Value: "path", Type: "string", Default: "/etc/hakit/hwagent.yaml", Desc: "hwagent configuration file"},
	{Name: "socket", Short: "s", Long: "socket", Value: "path", Type: "string", Desc: "Local hwagent API socket (default: from the configuration)"},
	{Name: "method", Long: "method", Value: "method", Type: "string", Default: "pr", Desc: "pr: fence by SCSI-3 persistent reservation through hwagent; sbd: write a reset poison pill into the victim's slot on the configuration's sbd.device and succeed only after the header's msgwait (for disks without persistent reservations; the victim's hwagent or sbd must watch its slot)"},
	{Name: "delay", Long: "delay", Value: "seconds", Type: "second", Default: "0", Desc: "Wait this many seconds before fencing"},
	{Name: "priority", Long: "priority", Value: "n", Type: "integer", Desc: "This node's fence priority (0 preferred); adds priority x delay_step of the configuration before off (default: from the configuration)"},
	{Name: "power_timeout", Long: "power-timeout", Value: "seconds", Type: "second", Default: "20", Desc: "Time to wait for an action to complete"},
	{Name: "stonith_timeout", Long: "stonith-timeout", Value: "seconds", Type: "second", Default: "60", Desc: "The fencer's timeout for off (Pacemaker's stonith-timeout, or the device's pcmk_off_timeout; 60 s by default): off and validate-all refuse a fence delay that with power_timeout would not fit in it"},
	{Name: "verbose", Short: "v", Long: "verbose", Type: "boolean", Desc: "Verbose mode"},
	{Name: "help", Short: "h", Long: "help", Type: "boolean", Desc: "Display help and exit"},
	{Name: "version", Short: "V", Long: "version", Type: "boolean", Desc: "Display version information and exit"},
}

// ErrUsage wraps every option error (exit code 1).
var ErrUsage = errors.New("fence_hwagent: bad option")

func lookup(name string) *Param {
	for i := range params {
		p := &params[i]
		if p.Name == name {
			return p
		}
		for _, a := range p.Aliases {
			if a == name {
				return p
			}
		}
	}
	return nil
}

// ParseStdin reads name=value lines as Pacemaker writes them: blank lines
// and # comments skipped, surrounding spaces trimmed, the last value of a
// name wins, unknown names ignored (returned in unknown for the log). A
// boolean given without a value is true.
func ParseStdin(r io.Reader) (opts map[string]string, unknown []string, err error) {
	opts = map[string]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		name = strings.TrimSpace(name)
		p := lookup(name)
		if p == nil {
			unknown = append(unknown, name)
			continue
		}
		if !ok {
			if p.Type != "boolean" {
				return nil, nil, fmt.Errorf("%w: stdin line %d: %q: want name=value", ErrUsage, n, line)
			}
			value = "1"
		}
		opts[p.Name] = strings.TrimSpace(value)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("fence_hwagent: stdin: %w", err)
	}
	return opts, unknown, nil
}

// ParseArgs reads the command line: -o off, -ooff, --action off,
// --action=off, and flags (-v, --verbose). Unknown options are errors.
func ParseArgs(args []string) (map[string]string, error) {
	opts := map[string]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		var p *Param
		var value string
		hasValue := false
		switch {
		case strings.HasPrefix(a, "--"):
			name, v, ok := strings.Cut(a[2:], "=")
			for j := range params {
				if params[j].Long == name {
					p = &params[j]
				}
			}
			value, hasValue = v, ok
		case strings.HasPrefix(a, "-") && len(a) >= 2:
			for j := range params {
				if params[j].Short != "" && params[j].Short == a[1:2] {
					p = &params[j]
				}
			}
			if len(a) > 2 {
				value, hasValue = a[2:], true
			}
		default:
			return nil, fmt.Errorf("%w: unexpected argument %q", ErrUsage, a)
		}
		if p == nil {
			return nil, fmt.Errorf("%w: unknown option %q (see --help)", ErrUsage, a)
		}
		if p.Type == "boolean" {
			if hasValue {
				return nil, fmt.Errorf("%w: %s takes no value", ErrUsage, a)
			}
			opts[p.Name] = "1"
			continue
		}
		if !hasValue {
			if i+1 >= len(args) {
				return nil, fmt.Errorf("%w: %s needs a value", ErrUsage, a)
			}
			i++
			value = args[i]
		}
		opts[p.Name] = value
	}
	return opts, nil
}

// Options are the resolved options of one run.
type Options struct {
	Action       string
	Method       string // pr or sbd
	Plug         string
	Devices      []string
	Key          string
	NodeName     string
	Config       string
	Socket       string
	Delay        float64 // seconds
	Priority     int     // -1: from the configuration
	PowerTimeout float64 // seconds
	// StonithTimeout is the fencer's timeout for off, in seconds: the fence
	// delay and PowerTimeout must fit in it.
	StonithTimeout float64
	Verbose        bool
	Help           bool
	Version        bool
}

// Actions returns the actions in metadata order (a new slice each call).
func Actions() []string { return slices.Clone(actions) }

// actions lists the actions in metadata order. reboot is not advertised:
// Pacemaker then turns a reboot request into off itself.
var actions = []string{"on", "off", "status", "monitor", "list", "list-status", "metadata", "manpage", "validate-all"}

// accepted are the actions Resolve takes: Actions and reboot (done as off).
var accepted = append([]string{"reboot"}, actions...)

// Resolve applies defaults and checks values. The command line wins over
// stdin, as with the fence-agents library.
func Resolve(stdin, cmdline map[string]string) (Options, error) {
	m := map[string]string{}
	for _, p := range params {
		if p.Default != "" {
			m[p.Name] = p.Default
		}
	}
	for k, v := range stdin {
		m[k] = v
	}
	for k, v := range cmdline {
		m[k] = v
	}
	o := Options{Action: m["action"], Method: m["method"], Plug: m["plug"], Key: m["key"], NodeName: m["nodename"], Config: m["config"], Socket: m["socket"], Priority: -1}
	valid := false
	for _, a := range accepted {
		valid = valid || a == o.Action
	}
	if !valid {
		return o, fmt.Errorf("%w: action %q: want one of %s", ErrUsage, o.Action, strings.Join(actions, ", "))
	}
	if o.Method != "pr" && o.Method != "sbd" {
		return o, fmt.Errorf("%w: method %q: want pr or sbd", ErrUsage, o.Method)
	}
	switch {
	case o.Plug == "":
		o.Plug = o.NodeName
	case o.NodeName != "" && o.NodeName != o.Plug:
		return o, fmt.Errorf("%w: nodename %q and plug %q differ: both name the node to act on", ErrUsage, o.NodeName, o.Plug)
	}
	for _, d := range strings.Split(m["devices"], ",") {
		if d = strings.TrimSpace(d); d != "" {
			o.Devices = append(o.Devices, agent.ShownDevice(d)) // as the agent shows it
		}
	}
	var err error
	if o.Delay, err = seconds(m, "delay"); err != nil {
		return o, err
	}
	if o.PowerTimeout, err = seconds(m, "power_timeout"); err != nil {
		return o, err
	}
	if o.StonithTimeout, err = seconds(m, "stonith_timeout"); err != nil {
		return o, err
	}
	if o.PowerTimeout <= 0 {
		return o, fmt.Errorf("%w: power_timeout %q: want more than 0 seconds", ErrUsage, m["power_timeout"])
	}
	if s, ok := m["priority"]; ok && s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 15 {
			return o, fmt.Errorf("%w: priority %q: want 0 to 15", ErrUsage, s)
		}
		o.Priority = n
	}
	o.Verbose, o.Help, o.Version = truthy(m["verbose"]), truthy(m["help"]), truthy(m["version"])
	if o.Key != "" {
		if _, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(o.Key), "0x"), 16, 64); err != nil {
			return o, fmt.Errorf("%w: key %q: want up to 16 hex digits", ErrUsage, o.Key)
		}
	}
	return o, nil
}

func seconds(m map[string]string, name string) (float64, error) {
	s := m[name]
	if s == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > 3600 {
		return 0, fmt.Errorf("%w: %s %q: want seconds, 0 to 3600", ErrUsage, name, s)
	}
	return f, nil
}

func truthy(s string) bool {
	switch strings.ToLower(s) {
	case "1", "yes", "y", "on", "true", "t":
		return true
	}
	return false
}

// needsPlug reports whether an action acts on one node.
func needsPlug(action string) bool {
	switch action {
	case "on", "off", "reboot", "status":
		return true
	}
	return false
}

// needsDisks reports whether an action reads or changes the disks.
func needsDisks(action string) bool {
	switch action {
	case "on", "off", "reboot", "status", "monitor", "list-status":
		return true
	}
	return false
}
