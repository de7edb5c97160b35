// Package cliflag holds flag helpers shared by the field command lines.
package cliflag

import "flag"

// ParseInterleaved parses flags placed before and after the positional
// arguments, and returns the positional ones in order.
func ParseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
