// Package cliflag holds flag helpers shared by the field command lines.
package cliflag

import "flag"

// ParseInterleaved parses flags placed before, between and after the
// positional arguments, and returns the positional ones in order; after
// "--" everything is positional.
func ParseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}
