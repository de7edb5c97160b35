package raidctl

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors, matched with errors.Is through *ParseError and
// *NotInstalledError.
var (
	// ErrTruncated: the output ends before the tool's closing line or in the
	// middle of a block.
	ErrTruncated = errors.New("output truncated")
	// ErrForeign: the input is not this tool's output.
	ErrForeign = errors.New("not this tool's output")
	// ErrSyntax: a line the parser must understand is malformed.
	ErrSyntax = errors.New("malformed line")
	// ErrToolFailed: the tool itself reported a failure.
	ErrToolFailed = errors.New("tool reported failure")
	// ErrNotInstalled: none of the tool's binaries is on PATH.
	ErrNotInstalled = errors.New("tool not installed")
)

// ParseError says where and why a tool's output could not be read.
// Line is 1-based; 0 means the whole input (e.g. empty).
type ParseError struct {
	Tool     Tool
	Line     int
	Expected string
	Got      string
	Err      error // one of ErrTruncated, ErrForeign, ErrSyntax, ErrToolFailed, or a decoder error
}

func (e *ParseError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s output", e.Tool)
	if e.Line > 0 {
		fmt.Fprintf(&b, ", line %d", e.Line)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if e.Expected != "" {
		fmt.Fprintf(&b, ": expected %s", e.Expected)
	}
	if e.Got != "" {
		n := 60
		if errors.Is(e.Err, ErrToolFailed) {
			n = 300 // the tool's own reason: keep it whole
		}
		fmt.Fprintf(&b, ", got %q", clip(e.Got, n))
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *ParseError) Unwrap() error { return e.Err }

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// NotInstalledError names the binaries that were looked for.
type NotInstalledError struct {
	Tool     Tool
	Binaries []string
}

func (e *NotInstalledError) Error() string {
	return fmt.Sprintf("%s: not installed: none of %s found on PATH", e.Tool, strings.Join(e.Binaries, ", "))
}

// Unwrap returns ErrNotInstalled.
func (e *NotInstalledError) Unwrap() error { return ErrNotInstalled }
