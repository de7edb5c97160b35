//go:build !linux

// Command compare needs Linux: its stand-ins are Linux ptys, namespaces,
// loop devices and the peers' Linux daemons.
package main

import (
	"fmt"
	"os"
	"runtime"
)

func main() {
	fmt.Fprintf(os.Stderr, "compare: the stand-ins need Linux (ptys, namespaces, loop devices), not %s/%s\n", runtime.GOOS, runtime.GOARCH)
	os.Exit(1)
}
