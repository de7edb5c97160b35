// Package exitcode is the one table of hakit's exit statuses: every
// command's codes and what each means. The commands return these codes,
// their --help prints them (Help), docs/EXIT-CODES.md is generated from
// them (Markdown) and cmd/exitcodes_test.go runs the built binaries
// against them.
package exitcode

import (
	"fmt"
	"strings"
)

// The codes shared by hakit's own commands.
const (
	OK          = 0
	Failure     = 1
	Usage       = 2
	Unreachable = 3 // hwagent's client commands: the agent's socket cannot be reached
	HBNoPeer    = 3 // hwagent hb: the peer was not heard, or the cable test lost pings
	NICNoPeer   = 3 // hwagent nic probe: the peer did not answer
	RAIDErrors  = 3 // hwagent raid-tool validate: the pair has errors
	RAIDWarn    = 4 // hwagent raid-tool validate: warnings only

	CompareDiffers = 3 // hwagent compare: the two captures do not fit one pair
	CableLoss      = 4 // hwagent cabletest: pings lost, corrupted or failing authentication
)

// Code is one exit status of a command.
type Code struct {
	Code    int
	Meaning string
}

// Command is one command's exit statuses. Note says where they come from
// when the command follows another tool's convention.
type Command struct {
	Name  string
	Note  string
	Codes []Code
}

// ClientCommands are hwagent's subcommands that talk to a running agent.
func ClientCommands() []string {
	return []string{"status", "events", "heartbeat", "cabletest", "nics", "disks", "raid", "register", "acquire", "release", "unfence", "fence"}
}

// Table returns every command's exit statuses, in the order of the docs.
func Table() []Command {
	usage := Code{Usage, "usage error: an unknown command or flag, a missing or extra argument (the message says which)"}
	return []Command{
		{Name: "hwagent", Codes: []Code{
			{OK, "--help, --version"},
			usage,
		}},
		{Name: "hwagent run", Codes: []Code{
			{OK, "stopped by SIGTERM or SIGINT"},
			{Failure, "the configuration is invalid, a device or key file cannot be used, another agent runs, or the agent failed"},
			usage,
		}},
		{Name: "hwagent check-config", Codes: []Code{
			{OK, "the configuration is valid and every file, port and socket folder it names exists"},
			{Failure, "the configuration cannot be read or is invalid (the message names the key and line), or a path it names does not exist"},
			usage,
		}},
		{Name: "hwagent capture", Codes: []Code{
			{OK, "the file is written (a part that could not be read is recorded in it and said on stderr)"},
			{Failure, "the configuration cannot be read, or the file cannot be written"},
			usage,
		}},
		{Name: "hwagent compare", Codes: []Code{
			{OK, "the captures (2 to 16, one per member) fit one cluster"},
			{Failure, "a file cannot be read or is not a capture"},
			usage,
			{CompareDiffers, "something does not fit one cluster (each finding is printed with its fix, naming the member that differs and the one it differs from)"},
		}},
		{Name: "hwagent status|events|heartbeat|nics|disks|raid|register|acquire|release|unfence|fence", Codes: []Code{
			{OK, "done (release: also when this node held no reservation; it says \"nothing released\")"},
			{Failure, "the agent answered with an error, or the action failed (the disks' state after it is printed); or --config cannot be read"},
			usage,
			{Unreachable, "the agent cannot be reached: no socket (is hwagent running?), permission denied (needs root or the API group), connection refused"},
		}},
		{Name: "hwagent cabletest", Codes: []Code{
			{OK, "every ping came back undamaged"},
			{Failure, "the agent answered with an error (no serial heartbeat, a cable test already running); or --config cannot be read"},
			usage,
			{Unreachable, "the agent cannot be reached: no socket (is hwagent running?), permission denied (needs root or the API group), connection refused"},
			{CableLoss, "pings were lost, corrupted or failed authentication (after the report)"},
		}},
		{Name: "hwagent disk", Note: "statuses as in sg3_utils (sg_persist, sg_turs), so that scripts read them alike; usage is therefore 1, not 2: a 2 from a mistyped disk status would read as \"not registered\", which a fence script takes for off", Codes: []Code{
			{0, "success"},
			{1, "usage error, or a write outside the region given"},
			{2, "not ready; status: this node's key is not registered"},
			{5, "illegal request (the device refused the command)"},
			{6, "unit attention"},
			{15, "the device cannot be opened (no such file, not a SCSI device, bad iscsi:// URL)"},
			{24, "reservation conflict"},
			{67, "timeout"},
			{99, "other errors"},
		}},
		{Name: "hwagent hb", Codes: []Code{
			{OK, "success"},
			{Failure, "the port or the key file cannot be used, or the heartbeat failed"},
			usage,
			{HBNoPeer, "status: the peer was not heard within --wait; cabletest: pings were lost, corrupted or failed authentication (after the report)"},
		}},
		{Name: "hwagent nic", Codes: []Code{
			{OK, "success"},
			{Failure, "the interface or namespace cannot be read"},
			usage,
			{NICNoPeer, "probe: the peer is not reachable (no link, or peer silent; after the report)"},
		}},
		{Name: "hwagent raid-tool", Codes: []Code{
			{OK, "success; validate: the pair is correct"},
			{Failure, "a tool output cannot be read or parsed"},
			usage,
			{RAIDErrors, "validate: the pair has at least one error"},
			{RAIDWarn, "validate: no error, but warnings (a degraded drive, a value the tool did not report)"},
		}},
		{Name: "hwagent sbd", Codes: []Code{
			{OK, "success"},
			usage,
			{3, "watch: a poison pill (reset, off, crashdump) was received"},
			{4, "the device is not an SBD device (no header: run create)"},
			{99, "other errors (the device cannot be opened or read)"},
		}},
		{Name: "hwcheck", Codes: []Code{
			{OK, "no check failed (warnings allowed unless --strict)"},
			{Failure, "a check failed (or warned, with --strict), an agent does not answer, or --junit cannot be written"},
			{Usage, "usage error, or a configuration that cannot be read or is invalid"},
		}},
		{Name: "fence_hwagent", Note: "the ClusterLabs fence-agent API, which Pacemaker reads", Codes: []Code{
			{0, "success; status: the node is on (registered)"},
			{1, "error, including a bad option"},
			{2, "status: the node is off (fenced)"},
		}},
		{Name: "hakit-disk, hakit-health", Note: "OCF 1.1 resource agent statuses", Codes: []Code{
			{0, "success (monitor: running)"},
			{1, "generic error (start on a fenced node)"},
			{2, "invalid arguments"},
			{3, "unimplemented action"},
			{4, "insufficient permission"},
			{5, "not installed (the agent's socket or a tool is missing)"},
			{6, "not configured"},
			{7, "not running (monitor)"},
		}},
	}
}

// For returns the statuses of the command named name ("hwagent status"
// finds the client commands' row); ok false when none.
func For(name string) (Command, bool) {
	for _, c := range Table() {
		if c.Name == name {
			return c, true
		}
		if head, list, found := strings.Cut(c.Name, " "); found {
			for _, sub := range strings.Split(list, "|") {
				if head+" "+sub == name {
					return c, true
				}
			}
		}
		for _, n := range strings.Split(c.Name, ", ") {
			if n == name {
				return c, true
			}
		}
	}
	return Command{}, false
}

// Help is the "Exit status" section of name's --help; "" when name has
// no row.
func Help(name string) string {
	c, ok := For(name)
	if !ok {
		return ""
	}
	var b strings.Builder
	b.WriteString("Exit status:\n")
	for _, k := range c.Codes {
		fmt.Fprintf(&b, "  %-3d %s\n", k.Code, k.Meaning)
	}
	if c.Note != "" {
		fmt.Fprintf(&b, "  (%s)\n", c.Note)
	}
	return b.String()
}

// Markdown is docs/EXIT-CODES.md.
func Markdown() string {
	var b strings.Builder
	b.WriteString("# Exit codes\n\n")
	b.WriteString("Generated from `internal/exitcode` (`go test ./internal/exitcode -update` rewrites it); every\n")
	b.WriteString("command's `--help` prints its rows, and `cmd/exitcodes_test.go` runs the built binaries for\n")
	b.WriteString("each code that can be provoked without hardware.\n")
	for _, c := range Table() {
		fmt.Fprintf(&b, "\n## `%s`\n\n", c.Name)
		if c.Note != "" {
			fmt.Fprintf(&b, "%s.\n\n", strings.ToUpper(c.Note[:1])+c.Note[1:])
		}
		b.WriteString("| code | meaning |\n|---|---|\n")
		for _, k := range c.Codes {
			fmt.Fprintf(&b, "| %d | %s |\n", k.Code, k.Meaning)
		}
	}
	return b.String()
}
