package rigpair

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/agent/hw"
	"github.com/hakit/hakit/internal/rig"
)

// RigPair describes two nodes on the rig: the shared disk, the serial cable,
// the heartbeat link, and each node's initiator name.
type RigPair struct {
	Disk  *rig.Disk
	Cable *rig.Cable
	Net   *rig.Net
	// IQN is each side's initiator name (allowed by the disk's ACL).
	IQN [2]string
	// Dir holds the configs, key file and sockets; it must exist.
	Dir string
	// KeepaliveMS is the heartbeat keepalive; 0 means 100.
	KeepaliveMS int
	// DiskStatusMS is the disk watcher's period; 0 means 200.
	DiskStatusMS int
	// SelfFence is the self-fence action; "" means event.
	SelfFence string
	// RAIDTool and RAIDFiles give each node a saved RAID capture; empty
	// means no RAID backend.
	RAIDTool  string
	RAIDFiles [2]string
	// DiskMode is the shared disk's ownership mode; "" means pr.
	DiskMode string
	// SCSI2PeriodMS is the renewal period of a scsi2 disk; 0 means 200.
	SCSI2PeriodMS int
	// MoreDisks are further shared disks (iscsi:// URLs, e.g. other LUNs
	// of Disk's target) listed after Disk, with the same options.
	MoreDisks []string
}

var sides = [2]rig.Side{rig.A, rig.B}

// Configs writes the key file and both nodes' YAML configurations into Dir
// and returns their paths and parsed forms.
func (p RigPair) Configs() (paths [2]string, cfgs [2]*agent.Config, err error) {
	keyFile := filepath.Join(p.Dir, "hb.key")
	if err := os.WriteFile(keyFile, []byte("rig-shared-key-0123456789abcdef-0123456789"), 0o600); err != nil {
		return paths, cfgs, err
	}
	ka, ds := p.KeepaliveMS, p.DiskStatusMS
	if ka == 0 {
		ka = 100
	}
	if ds == 0 {
		ds = 200
	}
	sf := p.SelfFence
	if sf == "" {
		sf = "event"
	}
	diskOpts := "allow_preempt_without_abort: true"
	if p.DiskMode == agent.ModeSCSI2 {
		period := p.SCSI2PeriodMS
		if period == 0 {
			period = 200
		}
		diskOpts = fmt.Sprintf("mode: scsi2\n    scsi2_period_ms: %d", period)
	}
	for i, s := range sides {
		o := sides[1-i]
		name, peer := "node-"+strings.ToLower(s.String()), "node-"+strings.ToLower(o.String())
		y := fmt.Sprintf(`node: {name: %s, id: %d}
peer: {name: %s, id: %d, socket: %s}
cluster: {id: 42, name: rig}
serial: {port: %s, baud: 115200, key_file: %s}
nic: {interface: %s, peer_address: %s, netns: %s}
disks:
%s
state_dir: %s
timers: {keepalive_ms: %d, disk_status_ms: %d}
api: {socket: %s}
self_fence: {action: %s}
fence: {priority: %d, delay_step_ms: 500}
`, name, i+1, peer, 2-i, filepath.Join(p.Dir, peer+".sock"),
			p.Cable.Path(s), keyFile,
			p.Net.Interface(s), p.Net.Addr(o).Addr(), p.Net.Namespace(s),
			disks(append([]string{p.Disk.URL()}, p.MoreDisks...), p.IQN[i], diskOpts), filepath.Join(p.Dir, name+"-state"),
			ka, ds, filepath.Join(p.Dir, name+".sock"), sf, i)
		if p.RAIDTool != "" {
			f, err := filepath.Abs(p.RAIDFiles[i])
			if err != nil {
				return paths, cfgs, err
			}
			y += fmt.Sprintf("raid: {tool: %s, file: %s}\n", p.RAIDTool, f)
		}
		paths[i] = filepath.Join(p.Dir, name+".yaml")
		if err := os.WriteFile(paths[i], []byte(y), 0o644); err != nil {
			return paths, cfgs, err
		}
		if cfgs[i], err = agent.ParseConfig(paths[i], []byte(y)); err != nil {
			return paths, cfgs, err
		}
	}
	return paths, cfgs, nil
}

// disks is the YAML list of the shared disks.
func disks(urls []string, initiator, opts string) string {
	var b strings.Builder
	for _, u := range urls {
		fmt.Fprintf(&b, "  - device: %s\n    initiator: %s\n    %s\n", u, initiator, opts)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// Pair is two agents running in this process.
type Pair struct {
	Paths   [2]string
	Configs [2]*agent.Config
	Clients [2]*agent.Client
	cancel  context.CancelFunc
	stop    [2]context.CancelFunc
	done    [2]chan error
	closed  bool
}

// StartPair runs both nodes' agents and waits until both answer.
func StartPair(ctx context.Context, p RigPair, log *slog.Logger) (*Pair, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	paths, cfgs, err := p.Configs()
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithCancel(context.Background())
	pr := &Pair{Paths: paths, Configs: cfgs, cancel: cancel}
	for i, cfg := range cfgs {
		deps, closeHW, err := hw.Build(cfg, log.With("node", cfg.Node.Name))
		if err != nil {
			pr.Close()
			return nil, err
		}
		a, err := agent.New(cfg, deps)
		if err != nil {
			closeHW()
			pr.Close()
			return nil, err
		}
		pr.Clients[i] = agent.NewClient(cfg.API.Socket)
		done := make(chan error, 1)
		pr.done[i] = done
		actx, stop := context.WithCancel(rctx)
		pr.stop[i] = stop
		go func() {
			err := a.Run(actx)
			closeHW()
			done <- err
		}()
	}
	deadline := time.Now().Add(10 * time.Second)
	for i := range pr.Clients {
		for {
			_, err := pr.Clients[i].Status(ctx)
			if err == nil {
				break
			}
			select {
			case err := <-pr.done[i]:
				pr.done[i] <- err
				pr.Close()
				return nil, fmt.Errorf("agent %s: %w", cfgs[i].Node.Name, err)
			default:
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				pr.Close()
				return nil, fmt.Errorf("agent %s does not answer: %w", cfgs[i].Node.Name, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return pr, nil
}

// Stop stops one agent (0 is A, 1 is B) and returns its error: the node's
// hwagent is gone, its sessions closed. Close then skips it.
func (p *Pair) Stop(i int) error {
	if p.done[i] == nil {
		return nil
	}
	p.stop[i]()
	d := p.done[i]
	p.done[i] = nil
	select {
	case err := <-d:
		return err
	case <-time.After(10 * time.Second):
		return fmt.Errorf("agent %s did not stop", p.Configs[i].Node.Name)
	}
}

// Close stops both agents and returns their errors; a second Close does
// nothing.
func (p *Pair) Close() error {
	p.cancel()
	if p.closed {
		return nil
	}
	p.closed = true
	var errs []error
	for i, d := range p.done {
		if d == nil {
			continue
		}
		select {
		case err := <-d:
			if err != nil {
				errs = append(errs, fmt.Errorf("agent %s: %w", p.Configs[i].Node.Name, err))
			}
		case <-time.After(10 * time.Second):
			errs = append(errs, fmt.Errorf("agent %s did not stop", p.Configs[i].Node.Name))
		}
	}
	return errors.Join(errs...)
}
