// Package raidctl reads RAID controller cluster settings (controller and
// partner names, initiator IDs, logical drives, merge groups, cache policy,
// battery) from vendor CLIs into one model, and validates that the two
// nodes' controllers form a consistent cluster pair on a shared enclosure.
//
// # Model
//
// A System holds what one tool printed: Controllers with their Cluster
// settings, Arrays, LogicalDrives and PhysicalDrives. Every optional field
// is a pointer; nil means the tool did not print it, which is unknown, not
// zero or false. JSON omits unknown fields. Normalised states (Condition,
// WritePolicy) sit next to the text as printed.
//
// # Parsers
//
// Pure functions from bytes to *System, one per tool (ParseStorcliJSON,
// ParseMegaCLI, ParseSsacli, ...). One tool table (registry.go) names, for
// each tool, its parser, its signature in a saved capture, the binaries and
// commands Exec runs, its hwagent configuration name and its help line;
// Parse dispatches on a Tool, Detect guesses the Tool of a capture, and
// Tools lists them. Adding a vendor is a row of that table and a parser
// file. Truncated or foreign input gives a
// *ParseError naming the tool, the line and what was expected
// (errors.Is: ErrTruncated, ErrForeign, ErrSyntax, ErrToolFailed); a parser
// never returns a model together with an error. Lines that matter but are
// not understood (ipssend) become System.Warnings naming the line.
//
// No public capture shows how ipssend prints controller name, partner name
// or initiator IDs, nor how MegaCLI prints its cluster-enable setting.
// Those lines are read provisionally: Cluster.Provisional is set, each such
// line adds a warning, and the validator reports the pair as unconfirmed.
//
// # Sources
//
// Exec runs a vendor CLI (the tool table's binaries and commands) with a
// per-command timeout, keeps stderr in *CommandError, and
// reports a missing tool as *NotInstalledError naming the binaries it
// looked for. SysfsMD reads Linux md from /sys/block/md*/md, and File reads
// a saved capture, so captures sent from site can be validated.
//
// # Validation
//
// ValidatePair checks two Nodes and returns every Finding with a Severity,
// a rule name and a fix hint. A check that needs a value the tools did not
// report gives a warning saying the value is unknown; it never passes.
// Package raidcli is the command-line front (show, validate).
package raidctl
