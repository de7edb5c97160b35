// Command guestinit is the lab guests' init, run by u-root's init as its
// uinit. It loads the kernel modules listed in /lab/mods/order (in that
// order), sets eth0's address from lab.ip= on the kernel command line, opens
// the virtio-serial command channel, prints the lab's ready marker on the
// console and then serves commands from the host (see package lab's Request
// and Response).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintf(os.Stdout, "guestinit: %v\n", err)
		os.Exit(1)
	}
}
