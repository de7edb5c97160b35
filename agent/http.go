package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/hakit/hakit/internal/jsonout"
)

type credKey struct{}

// connContext attaches the caller's credentials to each connection: those
// the limit listener read at accept, or SO_PEERCRED now.
func connContext(ctx context.Context, c net.Conn) context.Context {
	if lc, ok := c.(*limitedConn); ok {
		if lc.credErr != nil {
			return context.WithValue(ctx, credKey{}, lc.credErr)
		}
		return context.WithValue(ctx, credKey{}, lc.cred)
	}
	cr, err := peerCred(c)
	if err != nil {
		return context.WithValue(ctx, credKey{}, err)
	}
	return context.WithValue(ctx, credKey{}, cr)
}

// Handler is the API: every request passes the access check first.
func (a *Agent) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+PathStatus, a.getStatus)
	mux.HandleFunc("GET "+PathPing, a.getPing)
	mux.HandleFunc("GET "+PathHeartbeat, getComponent(a.deps.Heartbeat, "heartbeat"))
	mux.HandleFunc("GET "+PathNICs, getComponent(a.deps.NICs, "nic"))
	mux.HandleFunc("GET "+PathRAID, getComponent(a.deps.RAID, "raid"))
	mux.HandleFunc("GET "+PathDisks, a.getDisks)
	mux.HandleFunc("GET "+PathEvents, a.getEvents)
	mux.HandleFunc("POST "+PathRegister, a.action(ActionRegister))
	mux.HandleFunc("POST "+PathAcquire, a.action(ActionAcquire))
	mux.HandleFunc("POST "+PathRelease, a.action(ActionRelease))
	mux.HandleFunc("POST "+PathUnfence, a.action(ActionUnfence))
	mux.HandleFunc("POST "+PathFence, a.action(ActionFence))
	mux.HandleFunc("POST "+PathCableTest, a.postTest)
	mux.HandleFunc("POST "+PathBlocksRead, a.postBlocksRead)
	mux.HandleFunc("POST "+PathBlocksWrite, a.postBlocksWrite)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch v := r.Context().Value(credKey{}).(type) {
		case Cred:
			if err := a.access.Check(v); err != nil {
				a.log.Warn("api refused", "uid", v.UID, "pid", v.PID, "method", r.Method, "path", r.URL.Path)
				writeError(w, http.StatusForbidden, err)
				return
			}
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				// Every call that may act is on record with its caller.
				a.log.Info("api call", "method", r.Method, "path", r.URL.Path, "uid", v.UID, "gid", v.GID, "pid", v.PID)
			}
		case error:
			writeError(w, http.StatusForbidden, fmt.Errorf("%w: %v", ErrPermission, v))
			return
		default:
			writeError(w, http.StatusForbidden, fmt.Errorf("%w: no peer credentials", ErrPermission))
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// writeJSON writes v as one document of docs/API.md: an object with
// schema_version first, a list under its name (listKey), times in UTC
// with milliseconds, an unknown time null.
func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := jsonout.Marshal(listKey(v), v)
	if err != nil {
		code = http.StatusInternalServerError
		b, _ = jsonout.Marshal("", ErrorBody{Error: "encoding the answer: " + err.Error()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}

// listKey names the list answers of the API (docs/API.md).
func listKey(v any) string {
	switch v.(type) {
	case []DiskStatus:
		return "disks"
	case []HeartbeatLink:
		return "links"
	}
	return "items"
}

func writeError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, ErrorBody{Error: err.Error()})
}

func (a *Agent) getStatus(w http.ResponseWriter, r *http.Request) {
	st := Status{Node: a.cfg.Node.Name, NodeID: a.cfg.Node.ID, Peer: a.cfg.Peer.Name, PeerID: a.cfg.Peer.ID, Cluster: a.cfg.Cluster.ID, PID: pid(), Started: a.started, SelfFence: a.cfg.SelfFence.Action, LastEvent: a.hub.Last()}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	st.Heartbeat = componentJSON(ctx, a.deps.Heartbeat)
	st.NICs = componentJSON(ctx, a.deps.NICs)
	st.RAID = componentJSON(ctx, a.deps.RAID)
	st.DiskHeartbeat = a.diskHeartbeat()
	paths := map[string]map[string]string{"serial": memberStates(ctx, a.deps.Heartbeat), "nic": memberStates(ctx, a.deps.NICs), "disk": {}}
	if dh := st.DiskHeartbeat; dh != nil {
		for _, p := range dh.Peers {
			paths["disk"][p.Name] = p.State
		}
	}
	a.mu.Lock()
	st.Fenced = a.guard.Fenced()
	for _, d := range a.deps.Disks {
		if s, ok := a.last[d.Device()]; ok {
			st.Disks = append(st.Disks, s)
		}
	}
	a.mu.Unlock()
	st.Members = MemberStatuses(a.cfg.Members(), st.Disks, st.Fenced, paths)
	writeJSON(w, http.StatusOK, st)
}

// memberStates is a component's state of each member, nil when it has
// none.
func memberStates[T any](ctx context.Context, c Component[T]) map[string]string {
	if mp, ok := c.(MemberPaths); ok {
		return mp.MemberStates(ctx)
	}
	return nil
}

// componentStatus is what GET and Status show of c: its status, or every
// cable's where a heartbeat has several (HeartbeatLinker).
func componentStatus[T any](ctx context.Context, c Component[T]) (any, error) {
	if l, ok := c.(HeartbeatLinker); ok {
		return l.Links(ctx), nil
	}
	return c.Status(ctx)
}

func componentJSON[T any](ctx context.Context, c Component[T]) json.RawMessage {
	if c == nil {
		return json.RawMessage("null")
	}
	v, err := componentStatus(ctx, c)
	if err != nil {
		v = ErrorBody{Error: err.Error()}
	}
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(ErrorBody{Error: err.Error()})
	}
	return b
}

func getComponent[T any](comp Component[T], name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if comp == nil {
			writeError(w, http.StatusNotFound, fmt.Errorf("%s is not configured on this node", name))
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		v, err := componentStatus(ctx, comp)
		if err != nil {
			writeError(w, http.StatusBadGateway, fmt.Errorf("%s: %w", name, err))
			return
		}
		writeJSON(w, http.StatusOK, v)
	}
}

// getPing answers from memory: no device, no component, no lock a slow
// action holds.
func (a *Agent) getPing(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, Ping{Node: a.cfg.Node.Name, PID: os.Getpid(), Started: a.started, Fenced: a.guardFenced()})
}

// getDisks reads every disk now (never from memory).
func (a *Agent) getDisks(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, a.ReadDisks(r.Context()))
}

// action serves POST /v1/NAME through Do; fence and unfence read the
// member from the body (FenceRequest), the others act on this node.
func (a *Agent) action(act Action) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req FenceRequest
		if act == ActionFence || act == ActionUnfence {
			err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req)
			if err != nil && (act == ActionFence || !errors.Is(err, io.EOF)) {
				writeError(w, http.StatusBadRequest, fmt.Errorf("%s: body: want {\"node\": \"NAME\"}: %w", act, err))
				return
			}
		}
		res, err := a.Do(r.Context(), act, req.Node)
		code := http.StatusOK
		var ae *ActionError
		switch {
		case errors.As(err, &ae) && errors.Is(err, ErrNoDisks):
			code = http.StatusConflict
		case ae != nil:
			code = http.StatusBadGateway
		case errors.Is(err, ErrUnknownNode):
			writeError(w, http.StatusNotFound, err)
			return
		case err != nil:
			writeError(w, http.StatusConflict, err)
			return
		}
		cr, _ := r.Context().Value(credKey{}).(Cred)
		a.log.Info("api action done", "action", act.String(), "uid", cr.UID, "pid", cr.PID, "status", code, "err", res.Error, "node", res.Node)
		writeJSON(w, code, res)
	}
}

// getEvents streams events as NDJSON, one per line, flushed as they come.
func (a *Agent) getEvents(w http.ResponseWriter, r *http.Request) {
	var since uint64
	if s := r.URL.Query().Get("since"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Errorf("since=%q: want an event number", s))
			return
		}
		since = n
	} else {
		since = a.hub.Last()
	}
	uid := anonymous
	if cr, ok := r.Context().Value(credKey{}).(Cred); ok {
		uid = cr.UID
	}
	if !a.streams.take(uid) {
		writeError(w, http.StatusServiceUnavailable, fmt.Errorf("too many open event streams (%d)", a.limits.MaxStreams))
		return
	}
	defer a.streams.put(uid)
	backlog, ch, cancel := a.hub.Subscribe(since)
	defer cancel()
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	for _, e := range backlog {
		if jsonout.Line(w, e) != nil {
			return
		}
	}
	if fl != nil {
		fl.Flush()
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case e := <-ch:
			if jsonout.Line(w, e) != nil {
				return
			}
			if fl != nil {
				fl.Flush()
			}
		}
	}
}

// postTest runs the heartbeat's cable test.
func (a *Agent) postTest(w http.ResponseWriter, r *http.Request) {
	t, ok := a.deps.Heartbeat.(Tester)
	if !ok {
		writeError(w, http.StatusNotFound, errors.New("no serial heartbeat with a cable test on this node"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	v, err := t.Test(ctx)
	if err != nil {
		writeError(w, http.StatusBadGateway, fmt.Errorf("cable test: %w", err))
		return
	}
	writeJSON(w, http.StatusOK, v)
}
