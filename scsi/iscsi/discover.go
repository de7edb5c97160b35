package iscsi

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Target is one target a SendTargets discovery listed.
type Target struct {
	// Name is the target's iSCSI name.
	Name string `json:"name"`
	// Addresses are its portals as the target gave them:
	// host:port,portal-group-tag (RFC 7143 13.8); empty means the portal
	// that was asked.
	Addresses []string `json:"addresses"`
}

// maxDiscoveryText bounds the SendTargets answer (all its PDUs).
const maxDiscoveryText = 1 << 20

// ParsePortalURL parses a discovery URL, iscsi://[user[%password]@]host[:port][/]:
// a portal without a target.
func ParsePortalURL(s string) (URL, error) {
	rest, ok := strings.CutPrefix(s, "iscsi://")
	if !ok {
		return URL{}, &URLError{URL: hidePassword(s), What: "scheme must be iscsi://"}
	}
	authority, path, _ := strings.Cut(rest, "/")
	if path != "" {
		return URL{}, &URLError{URL: hidePassword(s), What: "a discovery URL names only the portal (iscsi://host[:port])"}
	}
	u, err := ParseURL("iscsi://" + authority + "/iqn.0000-00.discovery:x/0")
	var ue *URLError
	if errors.As(err, &ue) {
		return URL{}, &URLError{URL: hidePassword(s), What: ue.What}
	}
	if err != nil {
		return URL{}, err
	}
	u.Target, u.LUN = "", 0
	return u, nil
}

// Discover logs in to the portal of u in a discovery session, asks
// SendTargets=All and logs out. cfg is as for Dial (InitiatorName
// required; CHAP from cfg or u); Reconnect and OnReconnect do not apply.
func Discover(ctx context.Context, u URL, cfg Config) ([]Target, error) {
	if u.Host == "" || u.Port == 0 {
		return nil, fmt.Errorf("iscsi: incomplete portal %v: use ParsePortalURL", u)
	}
	if err := cfg.resolve(u); err != nil {
		return nil, err
	}
	cfg.OnReconnect, cfg.Reconnect.Disabled = nil, true
	s := &Session{cfg: cfg, url: u, log: cfg.Logger.With("portal", u.Portal(), "session", "discovery"), isid: cfg.ISID,
		reconn: make(chan struct{}, 1), discovery: true}
	s.itt.Store(uint32(time.Now().UnixNano()) & 0xffff)
	c, err := s.login(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.c = c
	s.mu.Unlock()
	defer s.Close()
	text, err := c.text(ctx, textKeys{{"SendTargets", "All"}})
	if err != nil {
		return nil, fmt.Errorf("iscsi: SendTargets at %s: %w", u.Portal(), err)
	}
	return parseSendTargets(text)
}

// text runs one text negotiation in the full feature phase: a Text Request
// with keys, then, while the target answers with C (more to come), empty
// requests with its TTT, collecting the answer's keys.
func (c *conn) text(ctx context.Context, keys textKeys) (textKeys, error) {
	data, err := encodeText(keys)
	if err != nil {
		return nil, err
	}
	t := c.newTask(opTextReq)
	ttt := uint32(reservedTag)
	var all []byte
	for {
		req := data
		err := c.issue(ctx, t, false, func(cmdSN, expStatSN uint32) message {
			return &textReq{Final: true, ITT: t.itt, TTT: ttt, CmdSN: cmdSN, ExpStatSN: expStatSN, Data: req}
		})
		if err != nil {
			c.forget(t)
			return nil, err
		}
		m, err := c.wait(ctx, t)
		if err != nil {
			return nil, err
		}
		r, ok := m.(*textResp)
		if !ok {
			return nil, c.unexpected(m, "text request")
		}
		all = append(all, r.Data...)
		if len(all) > maxDiscoveryText {
			c.forget(t)
			return nil, &ProtocolError{PDU: opTextResp.String(), What: fmt.Sprintf("text answer longer than %d bytes", maxDiscoveryText)}
		}
		if !r.Continue {
			c.forget(t)
			return decodeText(all)
		}
		data, ttt = nil, r.TTT
	}
}

// parseSendTargets reads TargetName= and the TargetAddress= lines after
// each (RFC 7143 appendix C).
func parseSendTargets(keys textKeys) ([]Target, error) {
	var out []Target
	for _, kv := range keys {
		switch kv.Key {
		case "TargetName":
			out = append(out, Target{Name: kv.Value, Addresses: []string{}})
		case "TargetAddress":
			if len(out) == 0 {
				return nil, &ProtocolError{PDU: opTextResp.String(), What: "TargetAddress before any TargetName"}
			}
			out[len(out)-1].Addresses = append(out[len(out)-1].Addresses, kv.Value)
		}
	}
	return out, nil
}
