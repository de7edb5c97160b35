package rigdemo

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/agent/cli"
	"github.com/hakit/hakit/agent/fence"
	"github.com/hakit/hakit/check"
	"github.com/hakit/hakit/internal/rig"
	"github.com/hakit/hakit/internal/rig/rigpair"
)

// Rig is what the demo runs on: the rig's parts and each node's initiator
// name (both in the disk's ACL).
type Rig struct {
	Disk       *rig.Disk
	Cable      *rig.Cable
	Net        *rig.Net
	IQNA, IQNB string
	// RAIDTool and RAIDFiles optionally give each node a saved RAID
	// capture, e.g. "ipssend" and the synthetic pair under fixtures/raid.
	RAIDTool  string
	RAIDFiles [2]string
}

// printer serialises the demo's output.
type printer struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *printer) printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, format, args...)
}

// RunDemo runs the demo and returns when it is over (or ctx ends); it
// stops both agents before returning.
func RunDemo(ctx context.Context, stdout io.Writer, r Rig, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dir, err := os.MkdirTemp("", "hakit-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	out := &printer{w: stdout}
	rp := rigpair.RigPair{Disk: r.Disk, Cable: r.Cable, Net: r.Net, IQN: [2]string{r.IQNA, r.IQNB}, Dir: dir, RAIDTool: r.RAIDTool, RAIDFiles: r.RAIDFiles}
	pair, err := rigpair.StartPair(ctx, rp, log)
	if err != nil {
		return err
	}
	defer pair.Close()
	names := [2]string{pair.Configs[0].Node.Name, pair.Configs[1].Node.Name}
	out.printf("\n== hwagent: %s and %s running (sockets %s, %s)\n", names[0], names[1], pair.Configs[0].API.Socket, pair.Configs[1].API.Socket)

	var evs [2]*agent.EventLog
	for i, c := range pair.Clients {
		evs[i] = agent.Follow(c, 0, func(e agent.Event) {
			out.printf("  [%s] %s\n", names[i], cli.FormatEvent(e))
		})
		defer evs[i].Close()
	}
	wait := func(i int, what string, match func(agent.Event) bool) error {
		ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		if err := evs[i].Wait(ctx, what, match); err != nil {
			return fmt.Errorf("demo: %s: %w", names[i], err)
		}
		return nil
	}
	for i := range evs {
		if err := wait(i, "heartbeat alive", func(e agent.Event) bool { return e.Source == "heartbeat" && e.Kind == "alive" }); err != nil {
			return err
		}
	}

	out.printf("\n== hwcheck on %s (PR tests on the rig's test LUN)\n", names[0])
	rep := check.Run(ctx, check.Env{Local: pair.Clients[0], Peer: pair.Clients[1], LocalConfig: pair.Configs[0], PeerConfig: pair.Configs[1], PRTest: true, Logger: log})
	var buf strings.Builder
	rep.WriteText(&buf)
	out.printf("%s", buf.String())

	out.printf("\n== both nodes register, %s acquires the shared disk\n", names[0])
	for _, c := range pair.Clients {
		if _, err := c.Action(ctx, "register"); err != nil {
			return err
		}
	}
	if _, err := pair.Clients[0].Action(ctx, "acquire"); err != nil {
		return err
	}
	time.Sleep(300 * time.Millisecond)

	out.printf("\n== pulling the serial cable\n")
	r.Cable.Cut()
	for i := range evs {
		if err := wait(i, "heartbeat dead", func(e agent.Event) bool { return e.Source == "heartbeat" && e.Kind == "dead" }); err != nil {
			return err
		}
	}
	out.printf("\n== setting the heartbeat link down (%s's end)\n", names[0])
	if err := r.Net.SetLink(ctx, rig.A, false); err != nil {
		return err
	}
	if err := wait(1, "link down", func(e agent.Event) bool { return e.Source == "nic" && e.Kind == "link-down" }); err != nil {
		return err
	}

	out.printf("\n== %s fences %s: fence_hwagent (stdin as Pacemaker writes it: action=off, plug=%s)\n", names[1], names[0], names[0])
	var fo, fe strings.Builder
	code := fence.Run(ctx, nil, strings.NewReader("action=off\nplug="+names[0]+"\nconfig="+pair.Paths[1]+"\n"), &fo, &fe, fence.Deps{})
	out.printf("  fence_hwagent exit %d: %s%s", code, fo.String(), fe.String())
	if code != fence.ExitOK {
		return fmt.Errorf("demo: fence_hwagent off exited %d", code)
	}
	if err := wait(0, "self-fence", func(e agent.Event) bool { return e.Source == "guard" && e.Kind == "fenced" }); err != nil {
		return err
	}
	disks, err := pair.Clients[1].Disks(ctx)
	if err != nil {
		return err
	}
	out.printf("\n== the shared disk as %s reads it now\n", names[1])
	for _, d := range disks {
		out.printf("  %s: keys %v, holder %s (%s owns it: %v; %s registered: %v)\n", d.Device, d.Keys, d.Holder, names[1], d.Owner, names[0], d.PeerRegistered)
	}
	time.Sleep(200 * time.Millisecond)
	out.printf("\n== stopping both agents (registrations are kept)\n")
	return nil
}
