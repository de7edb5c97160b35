package agent

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/hakit/hakit/nic"
	"github.com/hakit/hakit/raidctl"
	"github.com/hakit/hakit/scsi"
	"github.com/hakit/hakit/serialhb"
)

// API paths, all under /v1. GETs read; POSTs act.
const (
	PathStatus = "/v1/status"
	// PathPing answers at once, touching no device or component: the
	// cheap liveness call (fence_hwagent's probe).
	PathPing      = "/v1/ping"
	PathHeartbeat = "/v1/heartbeat"
	// PathCableTest runs the heartbeat's cable test (POST).
	PathCableTest = "/v1/heartbeat/test"
	PathNICs      = "/v1/nics"
	PathDisks     = "/v1/disks"
	PathRAID      = "/v1/raid"
	PathEvents    = "/v1/events" // NDJSON stream; ?since=SEQ replays the ring
	PathRegister  = "/v1/register"
	PathAcquire   = "/v1/acquire"
	PathRelease   = "/v1/release"
	PathFence     = "/v1/fence" // body FenceRequest
	PathUnfence   = "/v1/unfence"
	PathMetrics   = "/metrics" // on the metrics listener only
	// PathBlocksRead and PathBlocksWrite move data blocks through this
	// node's registered path (body BlockRequest).
	PathBlocksRead  = "/v1/blocks/read"
	PathBlocksWrite = "/v1/blocks/write"
)

// Ping is GET /v1/ping: who answers, from memory only.
type Ping struct {
	Node    string    `json:"node"`
	PID     int       `json:"pid"`
	Started time.Time `json:"started"`
	Fenced  bool      `json:"fenced"`
}

// Status is the agent's summary (GET /v1/status).
type Status struct {
	Node      string    `json:"node"`
	NodeID    int       `json:"node_id"`
	Peer      string    `json:"peer"`
	PeerID    int       `json:"peer_id"`
	Cluster   int       `json:"cluster"`
	PID       int       `json:"pid"`
	Started   time.Time `json:"started"`
	SelfFence string    `json:"self_fence"`
	// Fenced is true once this node found its key gone from a disk it held;
	// it claims nothing until an unfence.
	Fenced bool `json:"fenced"`
	// Heartbeat, NICs and RAID are each component's own status, null when
	// the component is not configured.
	Heartbeat json.RawMessage `json:"heartbeat"`
	NICs      json.RawMessage `json:"nics"`
	RAID      json.RawMessage `json:"raid"`
	// Disks are the last statuses read by the disk watcher (see AsOf).
	Disks []DiskStatus `json:"disks"`
	// DiskHeartbeat is the disk path (the SBD device's heartbeat area),
	// null when it is not configured.
	DiskHeartbeat *DiskHeartbeat `json:"disk_heartbeat"`
	// LastEvent is the sequence number of the newest event.
	LastEvent uint64 `json:"last_event"`
	// Members are every node of the cluster, this node first, with what
	// this node knows of each.
	Members []MemberStatus `json:"members"`
}

// MemberStatus is one member as this node sees it: its key on the shared
// disks (as the disk watcher last read them) and its heartbeat paths.
type MemberStatus struct {
	Name string `json:"name"`
	ID   int    `json:"id"`
	Self bool   `json:"self,omitempty"`
	// Key is its reservation key, "" when no disk reported it.
	Key string `json:"key,omitempty"`
	// Registered: its key is on every shared pr disk read without error.
	// Fenced: on none of them (for this node: the self-fence guard's
	// state). Both false: on some, or unknown (a disk unreadable).
	Registered bool `json:"registered"`
	Fenced     bool `json:"fenced"`
	// Holder lists the disks whose reservation it holds.
	Holder []string `json:"holder,omitempty"`
	// Serial, NIC and Disk are its heartbeat paths: the state of the
	// serial cable to it, of its address on the heartbeat NIC and of its
	// status block on the SBD device; "" when that path does not reach it.
	Serial string `json:"serial,omitempty"`
	NIC    string `json:"nic,omitempty"`
	Disk   string `json:"disk,omitempty"`
}

// MemberPaths is implemented by components that watch a path per member
// (the serial heartbeat, the NIC probe): each member's state by name.
type MemberPaths interface {
	MemberStates(ctx context.Context) map[string]string
}

// MemberKey is one member's key on one disk.
type MemberKey struct {
	Name       string `json:"name"`
	ID         int    `json:"id"`
	Key        string `json:"key"`
	Registered bool   `json:"registered"`
	Holder     bool   `json:"holder,omitempty"`
}

// DiskHeartbeat is the third heartbeat path: each node writes its status
// block on the SBD device every interval and reads the others'.
type DiskHeartbeat struct {
	Device      string `json:"device"`
	IntervalMS  int    `json:"interval_ms"`
	DeadAfterMS int    `json:"dead_after_ms"`
	// Error is the last round's read or write error, "" when it worked;
	// a node that cannot read the disk judges every peer unknown.
	Error string `json:"error,omitempty"`
	// Peers are the other slots that hold a status block.
	Peers []DiskPeer `json:"peers"`
}

// DiskPeer is one other node as the disk path sees it.
type DiskPeer struct {
	Name string `json:"name"`
	Slot int    `json:"slot"`
	// State is alive (its block changed within dead_after_ms), dead (it
	// stood still that long after having changed) or unknown (never seen
	// changing since this agent started, or the disk cannot be read).
	// Unknown is never dead.
	State       string `json:"state"`
	Counter     uint64 `json:"counter"`
	Incarnation uint64 `json:"incarnation"`
	// Changed is when the block last changed, on this node's clock;
	// absent when it has not since this agent started.
	Changed *time.Time `json:"changed,omitempty"`
	// Serial and NIC are the peer's own view of those paths, as it wrote
	// them: up, down or unknown.
	Serial string `json:"serial"`
	NIC    string `json:"nic"`
	// Request and Answer are the peer's handover request and answer on
	// the disk heartbeat, when its block carries them.
	Request *HandoverRequest `json:"request,omitempty"`
	Answer  *HandoverAnswer  `json:"answer,omitempty"`
}

// Disk-path states.
const (
	PeerAlive   = "alive"
	PeerDead    = "dead"
	PeerUnknown = "unknown"
)

// DiskPeer returns the disk path's view of the named node, and false when
// the disk heartbeat is off or has not seen that node's block.
func (s Status) DiskPeer(name string) (DiskPeer, bool) {
	if s.DiskHeartbeat == nil {
		return DiskPeer{}, false
	}
	for _, p := range s.DiskHeartbeat.Peers {
		if p.Name == name {
			return p, true
		}
	}
	return DiskPeer{}, false
}

// DiskStatus is what a shared disk reported, read from the device.
type DiskStatus struct {
	Device   string `json:"device"`
	Identity string `json:"identity,omitempty"`
	// Mode is the disk's ownership mode: "pr" or "scsi2". A scsi2 disk has
	// no keys: Registered and Owner are both true only while this node
	// holds the SCSI-2 reservation and its last renewal is on time;
	// PeerRegistered is true while another initiator holds it (Holder
	// "other"); Generation is the disk layer's own change counter.
	Mode string `json:"mode,omitempty"`
	// OwnKey and PeerKey are the nodes' reservation keys.
	OwnKey  string `json:"own_key"`
	PeerKey string `json:"peer_key"`
	// Keys are the registered keys; Generation is the PR generation.
	Keys       []string `json:"keys"`
	Generation uint32   `json:"generation"`
	// Holder is the reservation holder's key, "" when none; Type its type.
	Holder string `json:"holder,omitempty"`
	Type   string `json:"type,omitempty"`
	// Registered: this node's key is on the disk; Owner: this node holds the
	// reservation; PeerRegistered: the peer's key is on the disk (with
	// more than two members: every other member's key).
	Registered     bool `json:"registered"`
	Owner          bool `json:"owner"`
	PeerRegistered bool `json:"peer_registered"`
	// Lockout: this node still holds the reservation after a release only
	// to keep an unregistered (fenced) peer from writing: with no
	// reservation at all any initiator may write (SPC-4). It claims
	// nothing (hakit-disk reads it as not running); the disk watcher
	// releases it once the peer's key is registered again.
	Lockout bool `json:"lockout,omitempty"`
	// Latched, when set, says why the disk layer cannot account for this
	// node's registration on this disk: a re-register after a replaced
	// session was sent and neither verified nor confirmed undone (in this
	// run or one before a restart). The node then acts as fenced
	// (Registered and Owner are false) until a verified unfence.
	Latched string `json:"latched,omitempty"`
	// FenceMethod is how this node last fenced the peer on this disk
	// (PREEMPT AND ABORT, or PREEMPT when the target refused the abort and
	// allow_preempt_without_abort allowed it); FenceFallback says why.
	FenceMethod   string `json:"fence_method,omitempty"`
	FenceFallback string `json:"fence_fallback,omitempty"`
	// Notes are what the disk layer noticed (absorbed unit attention,
	// PREEMPT used where PREEMPT AND ABORT was refused, orphan keys).
	Notes []string `json:"notes,omitempty"`
	// Members are every member's key on this disk, this node first; empty
	// when the disk layer does not know them (scsi2 disks have no keys).
	Members []MemberKey `json:"members,omitempty"`
	// Error is set when the device could not be read; the fields above are
	// then unknown.
	Error string    `json:"error,omitempty"`
	AsOf  time.Time `json:"as_of"`
}

// FenceRequest names the member acted on: the node to fence (POST
// /v1/fence), or this node for POST /v1/unfence (optional there).
type FenceRequest struct {
	Node string `json:"node"`
}

// ActionResult is the answer of every POST: each disk's status after the
// action, read back from the device.
type ActionResult struct {
	Action string `json:"action"`
	// Node is the member acted on: the fenced node, this node otherwise.
	Node  string       `json:"node,omitempty"`
	Disks []DiskStatus `json:"disks"`
	Error string       `json:"error,omitempty"`
	// Code names the failure for programs (CodeReservedByOther and the
	// other Code constants); empty when the action succeeded or failed
	// otherwise. Client's errors match the sentinel of their code with
	// errors.Is.
	Code string `json:"code,omitempty"`
}

// ActionResult codes.
const (
	// CodeReservedByOther: another key holds the reservation
	// (scsi.ErrReservedByOther).
	CodeReservedByOther = "reserved_by_other"
	// CodeHandoverClaimed: ErrHandoverClaimed.
	CodeHandoverClaimed = "handover_claimed"
	// CodeHandoverTimeout: ErrHandoverTimeout (the reservation stays the
	// holder's: it matches scsi.ErrReservedByOther too).
	CodeHandoverTimeout = "handover_timeout"
	// CodeHandoverFailed: ErrHandoverFailed (it matches
	// scsi.ErrReservedByOther too).
	CodeHandoverFailed = "handover_failed"
)

// actionCode is err's code, the most specific first.
func actionCode(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrHandoverClaimed):
		return CodeHandoverClaimed
	case errors.Is(err, ErrHandoverFailed):
		return CodeHandoverFailed
	case errors.Is(err, ErrHandoverTimeout):
		return CodeHandoverTimeout
	case errors.Is(err, scsi.ErrReservedByOther):
		return CodeReservedByOther
	}
	return ""
}

// codeErrors are the sentinels a code stands for.
func codeErrors(code string) []error {
	switch code {
	case CodeReservedByOther:
		return []error{scsi.ErrReservedByOther}
	case CodeHandoverClaimed:
		return []error{ErrHandoverClaimed}
	case CodeHandoverTimeout:
		return []error{ErrHandoverTimeout, scsi.ErrReservedByOther}
	case CodeHandoverFailed:
		return []error{ErrHandoverFailed, scsi.ErrReservedByOther}
	}
	return nil
}

// ErrorBody is the JSON of every non-2xx answer.
type ErrorBody struct {
	Error string `json:"error"`
}

// Event is one thing that happened, in order (Seq increases by one).
type Event struct {
	Seq    uint64    `json:"seq"`
	Time   time.Time `json:"time"`
	Source string    `json:"source"` // agent, heartbeat, nic, disk, raid, guard
	Kind   string    `json:"kind"`   // e.g. started, dead, alive, link-down, fenced
	Msg    string    `json:"msg"`
	// Data carries the source's own fields.
	Data map[string]any `json:"data,omitempty"`
}

// HeartbeatStatus is GET /v1/heartbeat (and Status.Heartbeat): the serial
// heartbeat runner's snapshot.
type HeartbeatStatus = serialhb.Status

// CableTestResult is the answer of POST /v1/heartbeat/test: a burst of
// pings to the peer over the serial cable.
type CableTestResult = serialhb.CableReport

// NICStatus is GET /v1/nics (and Status.NICs): the heartbeat link now and
// one probe of the peer over it. Status is null when the link could not be
// read, Probe when the probe did not run; Error says why.
type NICStatus struct {
	Status *nic.Status      `json:"status"`
	Probe  *nic.ProbeResult `json:"probe"`
	// Members are the probes of every member's address in a cluster of
	// more than two; Probe is then the first member's.
	Members []NICMemberProbe `json:"members,omitempty"`
	Error   string           `json:"error,omitempty"`
}

// NICMemberProbe is one member's probe over the heartbeat NIC.
type NICMemberProbe struct {
	Member string           `json:"member"`
	Probe  *nic.ProbeResult `json:"probe"`
	Error  string           `json:"error,omitempty"`
}

// HeartbeatLink is one serial cable's status where a node has a cable
// per neighbour (more than one): GET /v1/heartbeat and Status.heartbeat
// are then the list of links.
type HeartbeatLink struct {
	Member string          `json:"member"`
	Status HeartbeatStatus `json:"status"`
}

// HeartbeatLinker is implemented by a heartbeat component with more than
// one cable; its Status is the first cable's, Links every cable's.
type HeartbeatLinker interface {
	Links(ctx context.Context) []HeartbeatLink
}

// RAIDStatus is GET /v1/raid (and Status.RAID): the controllers as the
// configured RAID tool reports them.
type RAIDStatus = raidctl.System

// Runner is the part of a component the agent starts: Run blocks until ctx
// ends, reporting what happens through emit.
type Runner interface {
	Run(ctx context.Context, emit func(Event)) error
}

// Component is one part the agent runs (the serial heartbeat, the NIC
// watch, the RAID reader) with its status type T. Status returns a
// snapshot and must be safe to call concurrently with Run.
type Component[T any] interface {
	Runner
	Status(ctx context.Context) (T, error)
}

// Tester is implemented by heartbeat components with an on-demand test
// (the serial heartbeat's cable test): POST /v1/heartbeat/test.
type Tester interface {
	Test(ctx context.Context) (CableTestResult, error)
}

// Disk is one shared disk with this node's ownership actions. Every method
// reads or acts on the device; none answers from memory. Implementations
// must honour ctx's deadline.
type Disk interface {
	// Device names the disk (the configured path or URL).
	Device() string
	// Generation returns the PR generation, the cheap probe the watcher
	// runs each period; a change triggers a full Status.
	Generation(ctx context.Context) (uint32, error)
	// Status reads keys, reservation and identity.
	Status(ctx context.Context) (DiskStatus, error)
	Register(ctx context.Context) error
	Acquire(ctx context.Context) error
	Release(ctx context.Context) error
	// Fence removes the peer's key (PREEMPT AND ABORT, or PREEMPT where
	// refused) and verifies it is gone. With more than two members the
	// agent fences through MemberFencer.
	Fence(ctx context.Context) error
	// Unfence registers this node's key again after it was fenced.
	Unfence(ctx context.Context) error
}

// HandoverDisk is implemented by disks whose reservation can be handed
// between live members (REGISTER AND MOVE, scsi.Owner.Move).
type HandoverDisk interface {
	// TransportID is this node's initiator port on the disk.
	TransportID(ctx context.Context) (scsi.TransportID, error)
	// Handover moves a reservation this node holds for lockout only
	// (DiskStatus.Lockout) to the registered key dest at port tid, and
	// verifies it; ErrHandoverClaimed when this node's hold is a claim.
	Handover(ctx context.Context, dest scsi.Key, tid scsi.TransportID) error
}

// MemberFencer is implemented by disks that know every member's key: it
// fences the member with id node, as Fence does the peer. The agent
// fences through it in a cluster of more than two members (a pair's
// fence is Fence).
type MemberFencer interface {
	FenceNode(ctx context.Context, node int) error
}

// ActionTimer is implemented by disks whose actions may need longer than
// the agent's default action time (twice the disk timeout): a scsi2 fence
// waits several renewal periods after its LUN reset. The agent gives each
// action on such a disk at least ActionTimeout.
type ActionTimer interface {
	ActionTimeout() time.Duration
}

// Sentinel errors of the API.
var (
	// ErrFenced: this node was fenced; it claims nothing until unfence.
	ErrFenced = errors.New("this node was fenced: unfence it first")
	// ErrStillFenced: an unfence did not show this node's key registered
	// again on every disk when read back; the node stays fenced.
	ErrStillFenced = errors.New("still fenced")
	// ErrSelfFence: a request to fence this node itself.
	ErrSelfFence = errors.New("refusing to fence this node itself")
	// ErrUnknownNode: a request names no member of the cluster.
	ErrUnknownNode = errors.New("unknown node")
	// ErrAgentRunning: another agent serves the socket.
	ErrAgentRunning = errors.New("another hwagent is already running")
	// ErrPermission: the API caller is neither root nor in the group.
	ErrPermission = errors.New("permission denied")
	// ErrHandoverClaimed: the holder refused to hand the reservation
	// over: its hold is a claim (its resource runs there), not a lockout.
	ErrHandoverClaimed = errors.New("the holder claimed the reservation (its resource runs there): not handed over")
	// ErrHandoverTimeout: a handover request got no move within its
	// bound.
	ErrHandoverTimeout = errors.New("handover request not answered in time")
	// ErrHandoverFailed: the holder tried the move and it failed.
	ErrHandoverFailed = errors.New("the holder's move of the reservation failed")
)
