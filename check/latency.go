package check

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/scsi"
	"github.com/hakit/hakit/scsi/iscsi"
	"github.com/hakit/hakit/scsi/opener/devname"
)

// latencyReads is the number of timed READs per node per disk;
// longLatencyReads with --long.
const (
	latencyReads     = 100
	longLatencyReads = 1000
)

// DiskLatency is the "Disk Access Latency" test of cluster validators:
// READ(10) of one block at LBA 0, latencyReads times per node per disk,
// p50/p99/max. A read is allowed to every initiator under hakit's
// reservation type, so it changes nothing and runs without --pr-test. The
// peer's disks are read from here when they are iscsi:// URLs (its
// configuration readable, as on the rig), through hwcheck's own session;
// every other member of a larger cluster is a skip naming it (its reads
// are timed by hwcheck on that member).
func DiskLatency(ctx context.Context, env Env) []Result {
	if env.LocalConfig == nil || len(env.LocalConfig.Disks) == 0 {
		return skip("disk access latency", "no shared disk configured", "list the shared disks under disks: in hwagent.yaml")
	}
	var out []Result
	labels := sideNames
	if len(env.LocalConfig.PeerList()) > 1 {
		labels[1] = env.LocalConfig.Peer.Name
	}
	for side, cfg := range []*agent.Config{env.LocalConfig, env.PeerConfig} {
		if cfg == nil {
			out = append(out, res("disk access latency ("+labels[side]+")", Skip, "the peer's configuration is not readable from here", "run hwcheck on the peer too, or pass --peer-config"))
			continue
		}
		for i, d := range cfg.Disks {
			name := fmt.Sprintf("disk %d latency (%s)", i, labels[side])
			if side == 1 && !devname.IsISCSI(d.Device) {
				out = append(out, res(name, Skip, d.Device+" is a device of the peer: not readable from here", "run hwcheck on the peer"))
				continue
			}
			out = append(out, readLatency(ctx, env, name, d))
		}
	}
	// hwcheck reads only the peer's configuration (--peer-config): the
	// other members' disks are theirs to time.
	if pl := env.LocalConfig.PeerList(); len(pl) > 1 {
		for _, p := range pl[1:] {
			out = append(out, res("disk access latency ("+p.Name+")", Skip, "member "+p.Name+"'s configuration is not readable from here (hwcheck reads the first peer's only)", "run hwcheck on "+p.Name+" to time its reads"))
		}
	}
	return out
}

func readLatency(ctx context.Context, env Env, name string, d agent.DiskConfig) Result {
	shown := agent.ShownDevice(d.Device)
	tr, closer, err := openForCheck(ctx, env, d)
	if err != nil {
		return res(name, Fail, fmt.Sprintf("%s: %v", shown, err), "check the path to the disk from this node")
	}
	defer closer()
	dev := &scsi.Device{Transport: tr, Name: shown, UnitAttentionRetries: 8, TransportRetries: 2}
	n := latencyReads
	if env.Long {
		n = longLatencyReads
	}
	ds := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		if _, err := dev.Do(ctx, scsi.Read10(0, 1, 512)); err != nil {
			return res(name, Fail, fmt.Sprintf("%s: READ after %d reads: %v", shown, len(ds), err), "the disk does not answer reads from this node")
		}
		ds = append(ds, time.Since(start))
	}
	chart := &Chart{Kind: ChartHistogram, Unit: "ms"}
	for _, d := range ds {
		chart.Values = append(chart.Values, float64(d.Microseconds())/1000)
	}
	p50, p99, worst := percentiles(ds)
	m := fmt.Sprintf("%s: %d READs, p50 %v, p99 %v, max %v", shown, len(ds), p50, p99, worst)
	r := res(name, Pass, m, "")
	if p99 > 100*time.Millisecond {
		r.Verdict, r.Hint = Warn, "reads above 100 ms at p99: the disk heartbeat and the reservation checks run on this path; check the array's load and the links"
	}
	r.Chart = chart
	return r
}

// percentiles returns p50, p99 and max of ds (sorted in place), rounded.
func percentiles(ds []time.Duration) (p50, p99, worst time.Duration) {
	slices.Sort(ds)
	r := func(d time.Duration) time.Duration { return d.Round(time.Microsecond) }
	return r(ds[len(ds)/2]), r(ds[min(len(ds)-1, len(ds)*99/100)]), r(ds[len(ds)-1])
}

// openForCheck opens a configured disk as hwcheck: an iscsi:// disk with
// the node's initiator name and hwcheck's own ISID (never the agent's
// session), a device path with SG_IO.
func openForCheck(ctx context.Context, env Env, d agent.DiskConfig) (scsi.Transport, func(), error) {
	tr, c, err := env.opener()(ctx, d.Device, hwcheckOptions(env, d, iscsi.ISIDHWCheck))
	if err != nil {
		return nil, nil, err
	}
	return tr, func() { _ = c.Close() }, nil
}
