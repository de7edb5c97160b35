// Package check is hwcheck's library: install-time diagnostics of a
// hot-standby pair or a larger cluster, run on one node with access to the
// members' agents. Each
// probe is a function returning Results (pass, warn, fail or skip, with the
// measurement and a fix hint); Run runs them all into a Report.
package check

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/internal/jsonout"
	"github.com/hakit/hakit/scsi"
	"github.com/hakit/hakit/scsi/opener"
)

// Verdict is a check's outcome.
type Verdict string

// Verdicts, from best to worst; Skip means not run (with the reason).
const (
	Pass Verdict = "pass"
	Skip Verdict = "skip"
	Warn Verdict = "warn"
	Fail Verdict = "fail"
)

// Result is one check's outcome.
type Result struct {
	// Group is the probe ("inventory", "serial", "nic", "disks",
	// "latency", "pr", "scsi2", "raid", "fencing"); Name the check within
	// it.
	Group   string  `json:"group"`
	Name    string  `json:"name"`
	Verdict Verdict `json:"verdict"`
	// Measured is what was measured or found, in words and numbers.
	Measured string `json:"measured"`
	// Hint says how to fix a warn or fail.
	Hint     string        `json:"hint,omitempty"`
	Duration time.Duration `json:"duration_ns"`
	// Chart, when set, is the data of a small picture of the measurement
	// (the HTML report draws it).
	Chart *Chart `json:"chart,omitempty"`
}

// Chart kinds.
const (
	// ChartHistogram: Values are samples; the picture bins them.
	ChartHistogram = "histogram"
	// ChartRounds: one bar per value, Labels naming each (the winner of
	// an arbitration round, "*" when it asked first).
	ChartRounds = "rounds"
)

// Chart is the data of a small picture of a measurement.
type Chart struct {
	Kind   string    `json:"kind"`
	Unit   string    `json:"unit"`
	Values []float64 `json:"values"`
	Labels []string  `json:"labels,omitempty"`
}

// Report is every result of one run.
type Report struct {
	Node     string          `json:"node"`
	Peer     string          `json:"peer"`
	Started  time.Time       `json:"started"`
	Duration time.Duration   `json:"duration_ns"`
	Results  []Result        `json:"results"`
	Counts   map[Verdict]int `json:"counts"`
}

// Agent is what the probes ask of one node's agent, each answer typed as
// the agent's API defines it. *agent.Client implements it; the tests hand
// in doubles.
type Agent interface {
	Status(ctx context.Context) (agent.Status, error)
	Disks(ctx context.Context) ([]agent.DiskStatus, error)
	Heartbeat(ctx context.Context) (agent.HeartbeatStatus, error)
	// HeartbeatLinks are every serial cable's status: one (Member empty)
	// on a pair's node, one per cabled member otherwise.
	HeartbeatLinks(ctx context.Context) ([]agent.HeartbeatLink, error)
	NICs(ctx context.Context) (agent.NICStatus, error)
	RAID(ctx context.Context) (*agent.RAIDStatus, error)
	CableTest(ctx context.Context) (agent.CableTestResult, error)
	// Action POSTs register, acquire, release or unfence.
	Action(ctx context.Context, a agent.Action) (agent.ActionResult, error)
	// Fence asks the agent to fence node.
	Fence(ctx context.Context, node string) (agent.ActionResult, error)
	// Unfence asks the agent to unfence its own node ("" or its name).
	Unfence(ctx context.Context, node string) (agent.ActionResult, error)
}

var _ Agent = (*agent.Client)(nil)

// Env is what the probes may use. Nil clients or configs skip the probes
// that need them, saying so.
type Env struct {
	// Local and Peer are the two agents (their API clients); nil when
	// not reachable from here.
	Local, Peer Agent
	// Others are the agents of the members after the first peer, in a
	// cluster of more than two (peers[].socket); the member checks read
	// and act through them.
	Others []Member
	// LocalConfig and PeerConfig are the nodes' configurations (the peer's
	// only when readable from here, as on the rig).
	LocalConfig, PeerConfig *agent.Config
	// PRTest is the consent to change reservations and registrations (never
	// data): the PR matrix and the SCSI-2 test run only with it.
	PRTest bool
	// Rounds is the number of rounds of each kind of Multiple Arbitration;
	// 0 means DefaultRounds (LongRounds with Long).
	Rounds int
	// Long runs the long variants (more rounds and reads).
	Long bool
	// TestRegion names the blocks of every shared disk that Disk Failover
	// may overwrite (it restores them); zero Len skips the failover tests.
	TestRegion scsi.Region
	// Inventory lists the local hardware (ghw); it can be slow on big
	// machines.
	Inventory bool
	// Progress, when set, gets a line as each probe starts ("probe N of
	// M") and ends; hwcheck sends it to stderr unless --json.
	Progress io.Writer
	// Open opens a configured disk as hwcheck: an iscsi:// disk through
	// sessions of hwcheck's own (the node's initiator name with hwcheck's
	// ISIDs, never the agent's session), a device path with SG_IO. nil is
	// a scsi/opener.Sessions per probe (one session per initiator port
	// and target, shared by its LUNs). Tests hand in a double (scsi/scsitest's
	// in-memory LUN, one nexus per initiator port).
	Open opener.Func
	// StonithTimeout reads the cluster's stonith-timeout; nil runs
	// crm_attribute.
	StonithTimeout StonithTimeoutFunc
	// Corosync reads corosync's token and consensus; nil reads the running
	// cmap, else /etc/corosync/corosync.conf.
	Corosync CorosyncFunc
	Logger   *slog.Logger
}

// Probe is one probe of Run.
type Probe struct {
	Group string
	Run   func(ctx context.Context, env Env) []Result
}

// Probes returns Run's probes, in order (a new slice each call: no caller
// can change what Run runs).
func Probes() []Probe {
	return []Probe{
		{"inventory", Inventory},
		{"serial", SerialCable},
		{"nic", HeartbeatNIC},
		{"disks", SharedDisks},
		{"latency", DiskLatency},
		{"scsi2", SCSI2},
		{"pr", PRMatrix},
		{"members", MemberChecks},
		{"arbitration", Arbitration},
		{"scsi3", PRCapabilities},
		{"failover", Failover},
		{"mpio", MPIO},
		{"raid", RAIDPair},
		{"fencing", Fencing},
		{"timeouts", Timeouts},
	}
}

// Run runs every probe (each with its own deadline) and returns the report.
func Run(ctx context.Context, env Env) Report {
	r := Report{Started: time.Now(), Counts: map[Verdict]int{}}
	if env.LocalConfig != nil {
		r.Node, r.Peer = env.LocalConfig.Node.Name, env.LocalConfig.Peer.Name
	}
	probes := Probes()
	for n, p := range probes {
		start := time.Now()
		if env.Progress != nil {
			fmt.Fprintf(env.Progress, "hwcheck: [%d/%d] %s ...", n+1, len(probes), p.Group)
		}
		pctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		res := p.Run(pctx, env)
		cancel()
		if env.Progress != nil {
			fmt.Fprintf(env.Progress, " %d result(s) in %v\n", len(res), time.Since(start).Round(time.Millisecond))
		}
		for i := range res {
			res[i].Group = p.Group
			if res[i].Duration == 0 {
				res[i].Duration = time.Since(start) / time.Duration(len(res))
			}
			r.Counts[res[i].Verdict]++
		}
		r.Results = append(r.Results, res...)
	}
	r.Duration = time.Since(r.Started)
	return r
}

// ExitCode is 0 with no failure (1 with failures); strict counts warnings
// as failures.
func (r Report) ExitCode(strict bool) int {
	if r.Counts[Fail] > 0 || (strict && r.Counts[Warn] > 0) {
		return 1
	}
	return 0
}

// WriteText prints the report for people.
func (r Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "hwcheck: node %s, peer %s, %s\n\n", r.Node, r.Peer, r.Started.Format(time.RFC3339))
	group := ""
	for _, c := range r.Results {
		if c.Group != group {
			group = c.Group
			fmt.Fprintf(w, "%s\n", strings.ToUpper(group))
		}
		fmt.Fprintf(w, "  [%-4s] %-32s %s\n", strings.ToUpper(string(c.Verdict)), c.Name, c.Measured)
		if c.Hint != "" && (c.Verdict == Warn || c.Verdict == Fail || c.Verdict == Skip) {
			fmt.Fprintf(w, "         %-32s fix: %s\n", "", c.Hint)
		}
	}
	fmt.Fprintf(w, "\n%d pass, %d warn, %d fail, %d skipped in %s\n", r.Counts[Pass], r.Counts[Warn], r.Counts[Fail], r.Counts[Skip], r.Duration.Round(time.Millisecond))
}

// WriteJSON prints the report as JSON.
func (r Report) WriteJSON(w io.Writer) error {
	return jsonout.Document(w, "results", r)
}

func res(name string, v Verdict, measured, hint string) Result {
	return Result{Name: name, Verdict: v, Measured: measured, Hint: hint}
}

func skip(name, why, hint string) []Result { return []Result{res(name, Skip, why, hint)} }

// both returns the two clients or a skip result naming what is missing.
func both(env Env, name string) ([2]Agent, []Result) {
	switch {
	case env.Local == nil:
		return [2]Agent{}, skip(name, "no local agent", "start hwagent on this node (systemctl start hwagent)")
	case env.Peer == nil:
		return [2]Agent{}, skip(name, "no access to the peer's agent", "give --peer-socket (peer.socket in the configuration) so both nodes can be checked")
	}
	return [2]Agent{env.Local, env.Peer}, nil
}

var sideNames = [2]string{"this node", "peer"}
