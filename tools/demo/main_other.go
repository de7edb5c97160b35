//go:build !linux

// Command demo needs Linux: the rig is built from tgtd, Linux
// pseudo-terminals and network namespaces.
package main

import (
	"fmt"
	"os"
	"runtime"
)

func main() {
	fmt.Fprintf(os.Stderr, "demo: the two-node rig needs Linux (tgtd, ptys, network namespaces), not %s/%s\n", runtime.GOOS, runtime.GOARCH)
	os.Exit(1)
}
