package agent

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"strconv"
	"syscall"

	"github.com/hakit/hakit/scsi"
)

// Client talks to an agent's API over its Unix socket. Safe for concurrent
// use.
type Client struct {
	socket string
	hc     *http.Client
}

// NewClient returns a client of the agent at socket.
func NewClient(socket string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		DisableCompression: true,
		// One connection per request, closed after it: the agent counts
		// open connections against its limits, and the callers (the CLI,
		// the fence and resource agents, monitors that poll) make one
		// request each; an idle kept-alive connection per client would
		// fill the limits with nothing and refuse the fencer's ping.
		DisableKeepAlives: true,
	}
	return &Client{socket: socket, hc: &http.Client{Transport: tr}}
}

// APIError is a non-2xx answer of the agent. Its text is the agent's
// message; the HTTP status is for programs (Code), not for people, and
// appears only when the agent said nothing else.
type APIError struct {
	Socket string
	Path   string
	Code   int
	Msg    string
	// Reason is an action's ActionResult.Code; Unwrap gives its
	// sentinels (scsi.ErrReservedByOther, ErrHandoverClaimed, ...).
	Reason string
}

// Unwrap returns the sentinels of Reason.
func (e *APIError) Unwrap() []error { return codeErrors(e.Reason) }

func (e *APIError) Error() string {
	msg := e.Msg
	if msg == "" {
		msg = fmt.Sprintf("HTTP %d %s", e.Code, http.StatusText(e.Code))
	}
	return fmt.Sprintf("hwagent %s %s: %s", e.Socket, e.Path, msg)
}

// ErrUnreachable wraps every failure to reach the agent at all.
var ErrUnreachable = errors.New("hwagent not reachable")

// unreachableHint says what to do about a socket that cannot be reached.
func unreachableHint(err error) string {
	switch {
	case errors.Is(err, fs.ErrPermission):
		return " (the API socket needs root or group hakit, the api.group of the configuration: run with sudo, or add this user to that group: usermod -aG hakit USER)"
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ECONNREFUSED):
		return " (is hwagent running? systemctl status hwagent; or give the socket of the configuration: --config or socket=)"
	}
	return ""
}

func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://hwagent"+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%w at %s: %w%s", ErrUnreachable, c.socket, err, unreachableHint(err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("hwagent %s %s: %w", c.socket, path, err)
	}
	if resp.StatusCode/100 != 2 {
		var eb ErrorBody
		var ar ActionResult
		if json.Unmarshal(b, &ar) == nil && ar.Action != "" {
			if r, ok := out.(*ActionResult); ok {
				*r = ar
			}
			eb.Error = ar.Error
		} else if json.Unmarshal(b, &eb) != nil || eb.Error == "" {
			eb.Error = string(bytes.TrimSpace(b))
		}
		return &APIError{Socket: c.socket, Path: path, Code: resp.StatusCode, Msg: eb.Error, Reason: ar.Code}
	}
	if out == nil {
		return nil
	}
	if raw, ok := out.(*json.RawMessage); ok {
		*raw = append((*raw)[:0], b...)
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("hwagent %s %s: answer: %w", c.socket, path, err)
	}
	return nil
}

// ReadBlocks is POST /v1/blocks/read: blocks blocks at lba of device, read
// through the agent's own path to the LUN.
func (c *Client) ReadBlocks(ctx context.Context, device string, lba uint64, blocks uint32) (BlockResult, error) {
	var r BlockResult
	err := blockErr(c.do(ctx, http.MethodPost, PathBlocksRead, BlockRequest{Device: device, LBA: lba, Blocks: blocks}, &r))
	return r, err
}

// WriteBlocks is POST /v1/blocks/write: data (whole blocks) at lba of
// device, which must lie inside allowed. A write the LUN refuses because
// this node holds no registration matches scsi.ErrReservationConflict.
func (c *Client) WriteBlocks(ctx context.Context, device string, allowed scsi.Region, lba uint64, data []byte) (BlockResult, error) {
	var r BlockResult
	err := blockErr(c.do(ctx, http.MethodPost, PathBlocksWrite, BlockRequest{Device: device, LBA: lba, RegionStart: allowed.Start, RegionLen: allowed.Len, Data: data}, &r))
	return r, err
}

// blockErr: the agent's 409 on a block path is the LUN's RESERVATION
// CONFLICT.
func blockErr(err error) error {
	var ae *APIError
	if errors.As(err, &ae) && ae.Code == http.StatusConflict {
		return fmt.Errorf("%w: %w", scsi.ErrReservationConflict, err)
	}
	return err
}

// Ping is GET /v1/ping: the agent answers, without touching a device.
func (c *Client) Ping(ctx context.Context) (Ping, error) {
	var p Ping
	err := c.do(ctx, http.MethodGet, PathPing, nil, &p)
	return p, err
}

// Status is GET /v1/status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var s Status
	err := c.do(ctx, http.MethodGet, PathStatus, nil, &s)
	return s, err
}

// Disks is GET /v1/disks (read from the devices now).
func (c *Client) Disks(ctx context.Context) ([]DiskStatus, error) {
	var raw json.RawMessage
	if err := c.do(ctx, http.MethodGet, PathDisks, nil, &raw); err != nil {
		return nil, err
	}
	var s []DiskStatus
	if _, err := listAnswer(raw, "disks", &s); err != nil {
		return nil, fmt.Errorf("hwagent %s %s: answer: %w", c.socket, PathDisks, err)
	}
	return s, nil
}

// listAnswer decodes a list answer into out: {"schema_version": 1, key:
// [...]} (docs/API.md), or the bare list an agent of before the schema
// sends (a node in a rolling upgrade). ok is false for an object without
// key (another answer: a single cable's heartbeat).
func listAnswer(raw json.RawMessage, key string, out any) (ok bool, err error) {
	b := bytes.TrimSpace(raw)
	if len(b) > 0 && b[0] == '[' {
		return true, json.Unmarshal(b, out)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(b, &doc); err != nil {
		return false, err
	}
	list, ok := doc[key]
	if !ok {
		return false, nil
	}
	return true, json.Unmarshal(list, out)
}

// Heartbeat is GET /v1/heartbeat: the serial heartbeat's status (an
// APIError with Code 404 when it is not configured); on a node with a
// cable per neighbour, the first cable's (HeartbeatLinks has them all).
func (c *Client) Heartbeat(ctx context.Context) (HeartbeatStatus, error) {
	links, err := c.HeartbeatLinks(ctx)
	if err != nil || len(links) == 0 {
		return HeartbeatStatus{}, err
	}
	return links[0].Status, nil
}

// HeartbeatLinks is GET /v1/heartbeat as a list of cables: one (Member
// empty) on a pair's node, one per cabled member otherwise.
func (c *Client) HeartbeatLinks(ctx context.Context) ([]HeartbeatLink, error) {
	var raw json.RawMessage
	if err := c.do(ctx, http.MethodGet, PathHeartbeat, nil, &raw); err != nil {
		return nil, err
	}
	var links []HeartbeatLink
	if ok, err := listAnswer(raw, "links", &links); ok || err != nil {
		return links, err
	}
	var s HeartbeatStatus
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	return []HeartbeatLink{{Status: s}}, nil
}

// NICs is GET /v1/nics: the heartbeat link and a probe of the peer (an
// APIError with Code 404 when no NIC is configured).
func (c *Client) NICs(ctx context.Context) (NICStatus, error) {
	var s NICStatus
	err := c.do(ctx, http.MethodGet, PathNICs, nil, &s)
	return s, err
}

// RAID is GET /v1/raid: the controllers as the RAID tool reports them (an
// APIError with Code 404 when no RAID tool is configured).
func (c *Client) RAID(ctx context.Context) (*RAIDStatus, error) {
	var s RAIDStatus
	if err := c.do(ctx, http.MethodGet, PathRAID, nil, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// Raw GETs path and returns the JSON answer as is (heartbeat, nics, raid).
func (c *Client) Raw(ctx context.Context, path string) (json.RawMessage, error) {
	var raw json.RawMessage
	err := c.do(ctx, http.MethodGet, path, nil, &raw)
	return raw, err
}

// Action POSTs one of register, acquire, release, unfence for this node.
func (c *Client) Action(ctx context.Context, act Action) (ActionResult, error) {
	if _, err := ParseAction(string(act)); err != nil {
		return ActionResult{}, err
	}
	var r ActionResult
	err := c.do(ctx, http.MethodPost, "/v1/"+act.String(), struct{}{}, &r)
	return r, err
}

// Fence asks the agent to fence node, any member but its own.
func (c *Client) Fence(ctx context.Context, node string) (ActionResult, error) {
	var r ActionResult
	err := c.do(ctx, http.MethodPost, PathFence, FenceRequest{Node: node}, &r)
	return r, err
}

// Unfence asks the agent to unfence node: only its own node can be
// ("" means it); another member's name is ErrNotThisNode (409).
func (c *Client) Unfence(ctx context.Context, node string) (ActionResult, error) {
	var r ActionResult
	err := c.do(ctx, http.MethodPost, PathUnfence, FenceRequest{Node: node}, &r)
	return r, err
}

// Events streams the kept events numbered after since, then new ones, to
// fn until ctx ends, fn returns an error, or the agent closes the stream.
// A negative since means only new events.
func (c *Client) Events(ctx context.Context, since int64, fn func(Event) error) error {
	path := PathEvents
	if since >= 0 {
		path += "?since=" + strconv.FormatInt(since, 10)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://hwagent"+path, nil)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%w at %s: %w%s", ErrUnreachable, c.socket, err, unreachableHint(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var eb ErrorBody
		_ = json.NewDecoder(resp.Body).Decode(&eb)
		return &APIError{Socket: c.socket, Path: path, Code: resp.StatusCode, Msg: eb.Error}
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var e Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return fmt.Errorf("hwagent events: %w", err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	return sc.Err()
}

// CableTest runs the heartbeat's cable test (POST /v1/heartbeat/test).
func (c *Client) CableTest(ctx context.Context) (CableTestResult, error) {
	var r CableTestResult
	err := c.do(ctx, http.MethodPost, PathCableTest, struct{}{}, &r)
	return r, err
}
