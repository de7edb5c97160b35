package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"
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
	mux.HandleFunc("POST "+PathRegister, a.action("register", Disk.Register))
	mux.HandleFunc("POST "+PathAcquire, a.action("acquire", Disk.Acquire))
	mux.HandleFunc("POST "+PathRelease, a.action("release", Disk.Release))
	mux.HandleFunc("POST "+PathUnfence, a.action("unfence", Disk.Unfence))
	mux.HandleFunc("POST "+PathFence, a.postFence)
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

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
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
	a.mu.Lock()
	st.Fenced = a.guard.Fenced()
	for _, d := range a.deps.Disks {
		if s, ok := a.last[d.Device()]; ok {
			st.Disks = append(st.Disks, s)
		}
	}
	a.mu.Unlock()
	writeJSON(w, http.StatusOK, st)
}

func componentJSON[T any](ctx context.Context, c Component[T]) json.RawMessage {
	if c == nil {
		return json.RawMessage("null")
	}
	var v any
	v, err := c.Status(ctx)
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
		v, err := comp.Status(ctx)
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
	a.act.Lock()
	defer a.act.Unlock()
	out := make([]DiskStatus, 0, len(a.deps.Disks))
	for _, d := range a.deps.Disks {
		out = append(out, a.refresh(r.Context(), d))
	}
	writeJSON(w, http.StatusOK, out)
}

// action runs one ownership action on every disk, then reads each back.
func (a *Agent) action(name string, fn func(Disk, context.Context) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a.runAction(w, r, name, fn)
	}
}

func (a *Agent) runAction(w http.ResponseWriter, r *http.Request, name string, fn func(Disk, context.Context) error) {
	a.act.Lock()
	defer a.act.Unlock()
	a.mu.Lock()
	fenced := a.guard.Fenced()
	a.mu.Unlock()
	if fenced && (name == "register" || name == "acquire") {
		writeError(w, http.StatusConflict, ErrFenced)
		return
	}
	res := ActionResult{Action: name}
	var errs []error
	for _, d := range a.deps.Disks {
		timeout := 2 * a.diskTimeout()
		if at, ok := d.(ActionTimer); ok {
			timeout = max(timeout, at.ActionTimeout())
		}
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		err := fn(d, ctx)
		cancel()
		if err != nil {
			errs = append(errs, DeviceErr(d.Device(), err))
		} else if name == "release" {
			if m, ok := d.(interface{ Mode() string }); ok && m.Mode() == ModeSCSI2 {
				// A released scsi2 disk shows Registered false (it has no
				// keys): the claim goes with the release, by our own hand.
				a.mu.Lock()
				a.guard.Release(d.Device())
				a.mu.Unlock()
			}
		}
		res.Disks = append(res.Disks, a.refresh(r.Context(), d))
	}
	if name == "unfence" && fenced {
		// The fenced flag goes only when the read-back shows this node's
		// key on every disk again: a failed unfence leaves the node fenced
		// (no ownership actions, no watchdog pets).
		a.mu.Lock()
		ok := a.guard.UnfenceVerified(res.Disks)
		a.mu.Unlock()
		if ok {
			if err := a.clearLatch(); err != nil {
				a.log.Error("unfenced, but the persisted self-fence latch could not be removed: the next start comes up fenced", "err", err)
			}
			for _, s := range res.Disks {
				if !s.Registered {
					continue // a scsi2 disk this node does not hold
				}
				a.emit(Event{Source: "guard", Kind: "claimed", Msg: s.Device + ": this node's key " + s.OwnKey + " is registered (unfenced)", Data: map[string]any{"device": s.Device}})
			}
		} else if len(errs) == 0 {
			errs = append(errs, fmt.Errorf("%w: the read-back does not show this node's key registered on every disk", ErrStillFenced))
		}
	}
	code := http.StatusOK
	kind := name
	if err := errors.Join(errs...); err != nil {
		res.Error = err.Error()
		code = http.StatusBadGateway
		kind = name + "-failed"
	}
	if len(a.deps.Disks) == 0 {
		res.Error = "no shared disks configured"
		code = http.StatusConflict
		kind = name + "-failed"
	}
	a.emit(Event{Source: "disk", Kind: kind, Msg: actionMsg(a.cfg, name, res)})
	cr, _ := r.Context().Value(credKey{}).(Cred)
	a.log.Info("api action done", "action", name, "uid", cr.UID, "pid", cr.PID, "status", code, "err", res.Error)
	writeJSON(w, code, res)
}

func actionMsg(c *Config, name string, res ActionResult) string {
	msg := fmt.Sprintf("%s by %s on %d disk(s)", name, c.Node.Name, len(res.Disks))
	if name == "fence" {
		msg = fmt.Sprintf("%s fenced %s on %d disk(s)", c.Node.Name, c.Peer.Name, len(res.Disks))
	}
	if res.Error != "" {
		msg += ": " + res.Error
	}
	return msg
}

func (a *Agent) postFence(w http.ResponseWriter, r *http.Request) {
	var req FenceRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("fence: body: want {\"node\": \"NAME\"}: %w", err))
		return
	}
	switch req.Node {
	case a.cfg.Peer.Name, strconv.Itoa(a.cfg.Peer.ID):
	case a.cfg.Node.Name, strconv.Itoa(a.cfg.Node.ID):
		writeError(w, http.StatusConflict, fmt.Errorf("%w (%s)", ErrSelfFence, req.Node))
		return
	default:
		writeError(w, http.StatusNotFound, fmt.Errorf("%w %q: this pair is %s and %s", ErrUnknownNode, req.Node, a.cfg.Node.Name, a.cfg.Peer.Name))
		return
	}
	a.runAction(w, r, "fence", Disk.Fence)
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
	enc := json.NewEncoder(w)
	for _, e := range backlog {
		if enc.Encode(e) != nil {
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
			if enc.Encode(e) != nil {
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
