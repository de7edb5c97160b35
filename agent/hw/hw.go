// Package hw wires the agent to the hardware packages: shared disks through
// scsi ownership (iSCSI sessions for iscsi:// URLs, SG_IO for /dev/sdX and
// /dev/sgN), the serial heartbeat through a serialhb Runner, the
// heartbeat NIC through a nic Watcher and probe, and the RAID controller
// through a raidctl Source. Build turns an agent.Config into agent.Deps.
package hw

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/hakit/hakit/agent"
	"github.com/hakit/hakit/nic"
	"github.com/hakit/hakit/raidctl"
	"github.com/hakit/hakit/scsi"
	"github.com/hakit/hakit/scsi/iscsi"
	"github.com/hakit/hakit/scsi/opener"
	"github.com/hakit/hakit/scsi/opener/devname"
	"github.com/hakit/hakit/serialhb"
)

// Keys returns the reservation keys of this node and of its peer: scsi's
// NodeKey rule with the decimal cluster id as the cluster identifier.
func Keys(cfg *agent.Config) (own, peer scsi.Key, err error) {
	cid := strconv.Itoa(cfg.Cluster.ID)
	if own, err = scsi.NodeKey(cid, cfg.Node.ID); err != nil {
		return 0, 0, err
	}
	peer, err = scsi.NodeKey(cid, cfg.Peer.ID)
	return own, peer, err
}

// MemberKey is one member's reservation key.
type MemberKey struct {
	Name string
	ID   int
	Self bool
	Key  scsi.Key
}

// MemberKeys returns every member's key, this node first (Keys' rule).
func MemberKeys(cfg *agent.Config) ([]MemberKey, error) {
	cid := strconv.Itoa(cfg.Cluster.ID)
	var out []MemberKey
	for _, m := range cfg.Members() {
		k, err := scsi.NodeKey(cid, m.ID)
		if err != nil {
			return nil, fmt.Errorf("member %s: %w", m.Name, err)
		}
		out = append(out, MemberKey{Name: m.Name, ID: m.ID, Self: m.Self, Key: k})
	}
	return out, nil
}

// Options are what the wiring takes beyond the configuration.
type Options struct {
	// Open opens a disk's device path (/dev/sdX, /dev/sgN); nil is
	// scsi/opener.Open. The iSCSI LUNs go through the session pool. Tests
	// hand in a double (scsi/scsitest's in-memory LUN).
	Open opener.Func
}

// Build makes the agent's parts from the configuration. It opens nothing:
// disks log in on first use, components open their devices in Run. The
// returned close function ends the iSCSI sessions.
func Build(cfg *agent.Config, log *slog.Logger) (agent.Deps, func() error, error) {
	return BuildWith(cfg, log, Options{})
}

// BuildWith is Build with o.
func BuildWith(cfg *agent.Config, log *slog.Logger, o Options) (agent.Deps, func() error, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	deps, closeDisks, err := buildDisks(cfg, log, o)
	if err != nil {
		return deps, nil, err
	}
	var disks []io.Closer
	closeAll := func() error {
		errs := []error{closeDisks()}
		for _, d := range disks {
			errs = append(errs, d.Close())
		}
		return errors.Join(errs...)
	}
	if links := cfg.SerialLinks(); len(links) > 0 {
		key, err := serialhb.LoadKey(cfg.Serial.KeyFile)
		if err != nil {
			return deps, nil, &agent.ConfigError{Field: "serial.key_file", Msg: err.Error()}
		}
		t := cfg.Timers
		var hbs Heartbeats
		for _, l := range links {
			r, err := serialhb.NewRunner(serialhb.Config{
				Path:        l.Port,
				Port:        serialhb.PortConfig{Baud: cfg.Serial.Baud},
				Link:        serialhb.LinkConfig{Cluster: uint32(cfg.Cluster.ID), Node: uint16(cfg.Node.ID), Peer: uint16(l.Peer.ID), Key: key, Timers: serialhb.TimersMS(t.KeepaliveMS, t.WarntimeMS, t.DeadtimeMS, t.InitdeadMS)},
				Realtime:    max(cfg.Serial.RealtimePriority, 0),
				KworkerNice: min(cfg.Serial.KworkerNice, 0),
				Logger:      log.With("part", "serialhb", "member", l.Peer.Name),
			})
			if err != nil {
				return deps, nil, &agent.ConfigError{Field: "serial", Msg: err.Error()}
			}
			hbs = append(hbs, &Heartbeat{R: r, Member: l.Peer.Name})
		}
		deps.Heartbeat = hbs[0]
		if len(cfg.PeerList()) > 1 {
			deps.Heartbeat = hbs // one runner per cable, a status per member
		}
	}
	if cfg.SBD.Device != "" {
		mb := &Mailbox{Cfg: cfg.SBD}
		disks = append(disks, mb)
		deps.Mailbox = mb
	}
	if cfg.NIC.Interface != "" {
		n := &NIC{Interface: cfg.NIC.Interface, NetNS: cfg.NIC.Netns, Logger: log.With("part", "nic")}
		for _, p := range cfg.PeerList() {
			addr, _ := netip.ParseAddr(p.Address)
			n.Members = append(n.Members, NICMember{Name: p.Name, Addr: addr})
		}
		n.Peer = n.Members[0].Addr
		if len(n.Members) == 1 {
			n.Members = nil // a pair: Peer, as before
		}
		deps.NICs = n
	}
	if cfg.RAID.Tool != "" {
		src, err := RAIDSource(cfg.RAID)
		if err != nil {
			return deps, nil, &agent.ConfigError{Field: "raid", Msg: err.Error()}
		}
		deps.RAID = &RAID{Src: src}
	}
	return deps, closeAll, nil
}

// buildDisks makes the shared disks of cfg, sharing one iSCSI session per
// target; the close function ends them.
func buildDisks(cfg *agent.Config, log *slog.Logger, o Options) (agent.Deps, func() error, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	deps := agent.Deps{Logger: log}
	own, peer, err := Keys(cfg)
	if err != nil {
		return deps, nil, err
	}
	members, err := MemberKeys(cfg)
	if err != nil {
		return deps, nil, err
	}
	var disks []io.Closer
	closeAll := func() error {
		var errs []error
		for _, d := range disks {
			errs = append(errs, d.Close())
		}
		return errors.Join(errs...)
	}
	pool := NewSessions(log)
	pool.Keepalive = time.Duration(max(cfg.Timers.ISCSIKeepaliveMS, 0)) * time.Millisecond
	for i, dc := range cfg.Disks {
		if dc.Mode == agent.ModeSCSI2 {
			d, err := NewSCSI2Disk(dc, log)
			if err != nil {
				return deps, nil, &agent.ConfigError{Field: fmt.Sprintf("disks[%d]", i), Msg: err.Error()}
			}
			d.pool, d.devOpen = pool, o.Open
			disks = append(disks, d)
			deps.Disks = append(deps.Disks, d)
			continue
		}
		d, err := NewDisk(dc, own, peer, cfg.StateDir, log)
		if err != nil {
			return deps, nil, &agent.ConfigError{Field: fmt.Sprintf("disks[%d].device", i), Msg: err.Error()}
		}
		d.SetMembers(members)
		d.pool, d.open = pool, o.Open
		disks = append(disks, d)
		deps.Disks = append(deps.Disks, d)
	}
	return deps, closeAll, nil
}

// RAIDSource maps the configuration to a raidctl Source.
func RAIDSource(c agent.RAIDConfig) (raidctl.Source, error) {
	tool, ok := raidctl.ConfigTool(c.Tool)
	if !ok {
		return nil, fmt.Errorf("raid tool %q: want one of %v", c.Tool, raidctl.ConfigToolNames())
	}
	if c.File != "" {
		if c.Tool == "md" {
			tool = ""
		}
		return raidctl.File{Path: c.File, Tool: tool}, nil
	}
	return raidctl.NewExec(raidctl.ExecConfig{Tool: tool})
}

// Disk is one shared disk over an iSCSI session and a scsi.Owner. Its
// methods are safe for concurrent use.
type Disk struct {
	cfg       agent.DiskConfig
	name      string // cfg.Device as shown: any CHAP password masked
	chap      chapCreds
	own, peer scsi.Key
	// members are every member's key, this node first; nil: the pair of
	// own and peer.
	members []MemberKey
	log     *slog.Logger
	base    *slog.Logger // without device=, for the scsi.Owner (which adds it)

	// latch keeps the disk's fenced latch (scsi.LatchedError) across
	// restarts; a zero Path keeps it in memory only.
	latch agent.StateFile
	// undoTimeout is scsi.OwnerConfig.UndoTimeout (0: its default).
	undoTimeout time.Duration
	// pool shares one iSCSI session per target; nil gives the disk a
	// session of its own.
	pool *Sessions
	// open opens a device path; nil is opener.Open.
	open opener.Func

	mu        sync.Mutex
	sess      io.Closer // the iSCSI session or the SG_IO device
	owner     *scsi.Owner
	identity  string
	lu        *iscsi.LogicalUnit // the iSCSI LUN, nil for SG_IO
	lastFence *scsi.FenceResult  // this node's last fence of the peer
	blockSize int                // READ CAPACITY's, once read
	// lockout: the reservation is held for lockout only
	// (agent.DiskStatus.Lockout): a release found a member's key
	// unregistered and kept it, or a fence made this node the holder.
	lockout bool
}

// NewDisk checks the device and prepares the disk; the session logs in on
// first use. stateDir keeps the disk's fenced latch; "" keeps it in memory
// only.
func NewDisk(c agent.DiskConfig, own, peer scsi.Key, stateDir string, log *slog.Logger) (*Disk, error) {
	if err := checkDiskDevice(c); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	chap, err := readCHAP(c)
	if err != nil {
		return nil, fmt.Errorf("disk %s: %w", agent.ShownDevice(c.Device), err)
	}
	d := &Disk{cfg: c, name: agent.ShownDevice(c.Device), chap: chap, own: own, peer: peer}
	// The Owner names the device on its own lines; this disk's own lines
	// name it through d.log.
	d.base, d.log = log, log.With("device", d.name)
	if stateDir != "" {
		d.latch = DiskLatch(stateDir, c.Device)
	}
	return d, nil
}

// checkDiskDevice checks the device string (and that a /dev path exists).
func checkDiskDevice(c agent.DiskConfig) error {
	if err := devname.CheckDisk(c.Device); err != nil {
		return fmt.Errorf("disk: %w", err)
	}
	if !devname.IsISCSI(c.Device) {
		// Opened through SG_IO on first use; a missing device is an error
		// at start.
		if _, err := os.Stat(c.Device); err != nil {
			return fmt.Errorf("disk %s: %w", c.Device, err)
		}
	}
	return nil
}

// DiskLatch is the file in stateDir that keeps device's fenced latch: named
// by a hash of the device string, so no part of a URL (credentials
// included) shows in the name.
func DiskLatch(stateDir, device string) agent.StateFile {
	h := sha256.Sum256([]byte(device))
	return agent.StateFile{Path: filepath.Join(stateDir, "disk-"+hex.EncodeToString(h[:8])+".latch.json")}
}

// ownerConfig is the scsi.Owner configuration for transport t, with the
// fenced latch loaded from and persisted to the state directory.
func (d *Disk) ownerConfig(t scsi.Transport) (scsi.OwnerConfig, error) {
	c := scsi.OwnerConfig{Transport: t, Name: d.name, Key: d.own, Logger: d.base, AllowPreemptWithoutAbort: d.cfg.AllowPreemptWithoutAbort, UndoTimeout: d.undoTimeout}
	if d.latch.Path == "" {
		return c, nil
	}
	l, ok, err := d.latch.Load()
	if err != nil {
		return c, fmt.Errorf("disk fenced latch: %w", err)
	}
	if ok {
		c.Latched = l.Reason + " (latched " + l.Since.Format(time.RFC3339) + ")"
		d.log.Warn("disk latched fenced by an earlier run: acting as fenced until a verified unfence", "reason", l.Reason, "since", l.Since, "path", d.latch.Path)
	}
	f := d.latch
	c.OnLatch = func(reason string) error {
		return f.Store(agent.Latch{Reason: reason, Since: time.Now().UTC(), Device: d.name})
	}
	return c, nil
}

// SetMembers gives the disk every member's key (MemberKeys): it then
// fences any member (FenceNode), reports each member's registration, and
// keeps a reservation on release while any other member is unregistered.
// Call it before first use.
func (d *Disk) SetMembers(m []MemberKey) { d.members = m }

// others are the other members' keys: the peer's for a pair.
func (d *Disk) others() []scsi.Key {
	if d.members == nil {
		return []scsi.Key{d.peer}
	}
	var out []scsi.Key
	for _, m := range d.members {
		if !m.Self {
			out = append(out, m.Key)
		}
	}
	return out
}

// allRegistered: every key of ks is in keys.
func allRegistered(keys, ks []scsi.Key) bool {
	for _, k := range ks {
		if !slices.Contains(keys, k) {
			return false
		}
	}
	return true
}

// Device implements agent.Disk: the device as configured, with any CHAP
// password masked.
func (d *Disk) Device() string { return d.name }

// Key is this node's key on the disk.
func (d *Disk) Key() scsi.Key { return d.own }

// PeerKey is the peer's key on the disk.
func (d *Disk) PeerKey() scsi.Key { return d.peer }

// Owner logs in when needed and returns the owner.
func (d *Disk) Owner(ctx context.Context) (*scsi.Owner, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.owner != nil {
		return d.owner, nil
	}
	if !devname.IsISCSI(d.cfg.Device) {
		// A device path; iSCSI LUNs below go through the session pool.
		open := d.open
		if open == nil {
			open = opener.Open
		}
		dev, closer, err := open(ctx, d.cfg.Device, opener.Options{Logger: d.log})
		if err != nil {
			return nil, err
		}
		oc, err := d.ownerConfig(dev)
		if err != nil {
			closer.Close()
			return nil, err
		}
		owner, err := scsi.NewOwner(oc)
		if err != nil {
			closer.Close()
			return nil, err
		}
		d.sess, d.owner = closer, owner
		return owner, nil
	}
	u, err := iscsi.ParseURL(d.cfg.Device)
	if err != nil {
		return nil, err
	}
	pool := d.pool
	if pool == nil {
		pool = NewSessions(d.log)
	}
	lu, release, err := pool.LUN(ctx, u, d.cfg.Initiator, d.chap)
	if err != nil {
		return nil, err
	}
	oc, err := d.ownerConfig(lu)
	if err != nil {
		release()
		return nil, err
	}
	owner, err := scsi.NewOwner(oc)
	if err != nil {
		release()
		return nil, err
	}
	pool.SetHook(lu, func(ctx context.Context) { d.reassert(ctx, owner) })
	d.sess, d.owner, d.lu = closerFunc(release), owner, lu
	return owner, nil
}

// BlockSize implements agent.BlockDisk: READ CAPACITY's block size, read
// once.
func (d *Disk) BlockSize(ctx context.Context) (int, error) {
	d.mu.Lock()
	bs := d.blockSize
	d.mu.Unlock()
	if bs > 0 {
		return bs, nil
	}
	o, err := d.Owner(ctx)
	if err != nil {
		return 0, err
	}
	c, err := o.Device().ReadCapacity(ctx)
	if err != nil {
		return 0, err
	}
	if c.BlockSize == 0 {
		return 0, fmt.Errorf("%s: READ CAPACITY(16) says block size 0", d.name)
	}
	d.mu.Lock()
	d.blockSize = int(c.BlockSize)
	d.mu.Unlock()
	return int(c.BlockSize), nil
}

// ReadBlocks implements agent.BlockDisk: READ(16) with FUA through the
// disk's registered session.
func (d *Disk) ReadBlocks(ctx context.Context, lba uint64, blocks uint32) ([]byte, error) {
	bs, err := d.BlockSize(ctx)
	if err != nil {
		return nil, err
	}
	o, err := d.Owner(ctx)
	if err != nil {
		return nil, err
	}
	return o.Device().ReadBlocks(ctx, lba, blocks, bs, true)
}

// WriteBlocks implements agent.BlockDisk: WRITE(16) with FUA, inside
// allowed only.
func (d *Disk) WriteBlocks(ctx context.Context, allowed scsi.Region, lba uint64, data []byte) error {
	bs, err := d.BlockSize(ctx)
	if err != nil {
		return err
	}
	o, err := d.Owner(ctx)
	if err != nil {
		return err
	}
	return o.Device().WriteBlocks(ctx, allowed, lba, data, bs, true)
}

// session is the disk's iSCSI session, nil before login or for SG_IO.
func (d *Disk) session() *iscsi.Session {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.lu == nil {
		return nil
	}
	return d.lu.Session()
}

// closerFunc is a func as an io.Closer.
type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// Close gives the disk's LUN back to the session pool; the session logs
// out with its last LUN (keeping the registration: the target keeps it per
// I_T nexus only while the session lives; tgtd drops it with the session,
// a real array keeps it).
func (d *Disk) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.sess == nil {
		return nil
	}
	err := d.sess.Close()
	d.sess, d.owner, d.lu = nil, nil, nil
	return err
}

// reassert puts this node's registration back on the live session after a
// reconnect (scsi.Owner.Reassert). Until one succeeds, the Owner holds I/O
// (scsi.Owner.Held) and Status retries it.
func (d *Disk) reassert(ctx context.Context, o *scsi.Owner) error {
	_, err := o.Reassert(ctx)
	if err != nil {
		d.log.Warn("reassert after reconnect failed: retried at each status", "err", err)
	}
	return err
}

// Generation implements agent.Disk: one READ KEYS through the Owner's
// Device, which fails while the registration is not confirmed, so the
// watcher reads the full status (which retries the reassert).
func (d *Disk) Generation(ctx context.Context) (uint32, error) {
	o, err := d.Owner(ctx)
	if err != nil {
		return 0, err
	}
	k, err := o.Device().ReadKeys(ctx)
	return k.Generation, err
}

// Status implements agent.Disk.
func (d *Disk) Status(ctx context.Context) (agent.DiskStatus, error) {
	s := agent.DiskStatus{Device: d.name, Mode: agent.ModePR, OwnKey: d.own.String(), PeerKey: d.peer.String(), Keys: []string{}}
	o, err := d.Owner(ctx)
	if err != nil {
		return s, err
	}
	d.mu.Lock()
	id := d.identity
	d.mu.Unlock()
	if id == "" {
		if ident, err := o.Device().Identify(ctx); err == nil {
			id = ident.ID
			d.mu.Lock()
			d.identity = id
			d.mu.Unlock()
		}
	}
	s.Identity = id
	// A reassert that failed after a reconnect is retried here. Only a
	// read-back that shows this node's key gone (or the latch) makes the
	// disk unregistered; any other failure is unknown: an error, not "not
	// registered", so the guard does not self-fence on a busy target.
	latched := o.Latched()
	if latched == "" && o.Held() != "" {
		if err := d.reassert(ctx, o); err != nil && !errors.Is(err, scsi.ErrNotRegistered) {
			return s, fmt.Errorf("reassert after reconnect: %w", err)
		}
		latched = o.Latched()
	}
	st, err := o.Status(ctx)
	if err != nil {
		return s, err
	}
	s.Generation = st.Keys.Generation
	for _, k := range st.Keys.Keys {
		s.Keys = append(s.Keys, k.String())
	}
	s.Registered = st.OwnRegistrations > 0
	s.PeerRegistered = allRegistered(st.Keys.Keys, d.others())
	s.Owner = st.Owned()
	for _, m := range d.members {
		s.Members = append(s.Members, agent.MemberKey{Name: m.Name, ID: m.ID, Key: m.Key.String(), Registered: slices.Contains(st.Keys.Keys, m.Key), Holder: st.Reservation.Held && st.Reservation.Key == m.Key})
	}
	if latched != "" {
		s.Registered, s.Owner, s.Latched = false, false, latched
		s.Notes = append(s.Notes, "registered=false, owner=false: latched fenced (a re-register of this node was neither verified nor confirmed undone; a key listed may be this node's, unaccounted for): acting as fenced until a verified unfence")
	}
	if st.Reservation.Held {
		s.Holder, s.Type = st.Reservation.Key.String(), st.Reservation.Type.String()
	}
	d.mu.Lock()
	if f := d.lastFence; f != nil {
		s.FenceMethod, s.FenceFallback = f.MethodName, f.Fallback
	}
	if d.lockout && !s.Owner {
		d.lockout = false // released or preempted since
	}
	s.Lockout = d.lockout
	d.mu.Unlock()
	if s.Lockout {
		s.Notes = append(s.Notes, "reservation held for lockout only (kept after a release, or taken by a fence) to keep an unregistered member from writing; claimed by nobody")
	}
	s.Notes = append(s.Notes, st.Notes...)
	for _, ua := range st.UnitAttentions {
		s.Notes = append(s.Notes, "unit attention: "+ua.String())
	}
	return s, nil
}

func (d *Disk) act(ctx context.Context, fn func(*scsi.Owner) error) error {
	o, err := d.Owner(ctx)
	if err != nil {
		return err
	}
	return fn(o)
}

// Register implements agent.Disk.
func (d *Disk) Register(ctx context.Context) error {
	return d.act(ctx, func(o *scsi.Owner) error { _, err := o.Register(ctx); return err })
}

// Acquire implements agent.Disk; a reservation kept for lockout is
// claimed again.
func (d *Disk) Acquire(ctx context.Context) error {
	return d.act(ctx, func(o *scsi.Owner) error {
		_, err := o.Acquire(ctx)
		if err == nil {
			d.mu.Lock()
			d.lockout = false
			d.mu.Unlock()
		}
		return err
	})
}

// Release implements agent.Disk. While the peer's key is not registered
// (it was fenced, or never joined) a reservation this node holds is kept,
// not released: registrations alone restrict nothing, so without a
// reservation the fenced peer could write again. The disk is then held
// for lockout only (DiskStatus.Lockout): the agent's disk watcher releases
// it once the peer registers again, and an Acquire claims it back.
func (d *Disk) Release(ctx context.Context) error {
	return d.act(ctx, func(o *scsi.Owner) error {
		keys, err := o.Device().ReadKeys(ctx)
		if err != nil {
			return err
		}
		if !allRegistered(keys.Keys, d.others()) {
			res, err := o.Device().ReadReservation(ctx)
			if err != nil {
				return err
			}
			if res.Held && res.Key == d.own {
				d.mu.Lock()
				d.lockout = true
				d.mu.Unlock()
				d.log.Warn("release: reservation kept, a member's key is not registered: without a reservation a fenced member could write", "registered", keys.Keys)
				return nil
			}
		}
		d.mu.Lock()
		d.lockout = false
		d.mu.Unlock()
		_, err = o.Release(ctx)
		return err
	})
}

// Unfence implements agent.Disk.
func (d *Disk) Unfence(ctx context.Context) error {
	return d.act(ctx, func(o *scsi.Owner) error { _, err := o.Unfence(ctx); return err })
}

// Fence implements agent.Disk. A peer key already gone is success
// (fencing is idempotent), said in the log, but only when this node is
// registered and a reservation still keeps the unregistered peer from
// writing; without a reservation the peer is not fenced and Fence fails.
func (d *Disk) Fence(ctx context.Context) error { return d.fence(ctx, d.peer) }

// FenceNode implements agent.MemberFencer: Fence for the member with id
// node, whose key SetMembers gave.
func (d *Disk) FenceNode(ctx context.Context, node int) error {
	i := slices.IndexFunc(d.members, func(m MemberKey) bool { return m.ID == node })
	switch {
	case i < 0 && d.members == nil:
		return fmt.Errorf("disk %s: member keys not set: only Fence (the pair's peer) works", d.name)
	case i < 0:
		return fmt.Errorf("disk %s: node id %d: %w", d.name, node, agent.ErrUnknownNode)
	case d.members[i].Self:
		return fmt.Errorf("disk %s: %w", d.name, agent.ErrSelfFence)
	}
	return d.fence(ctx, d.members[i].Key)
}

// fence removes victim's key (see Fence). A fence that makes this node
// the holder when it was not before (it preempted the holder, SPC-4
// 5.12.11.4.3) leaves the disk held for lockout only
// (DiskStatus.Lockout): the reservation keeps the fenced member out, but
// nothing here claimed it, so it may be handed over (Handover) or claimed
// by an Acquire.
func (d *Disk) fence(ctx context.Context, victim scsi.Key) error {
	return d.act(ctx, func(o *scsi.Owner) error {
		before, berr := o.Device().ReadReservation(ctx)
		r, err := fencePeer(ctx, o, victim, d.log)
		if err == nil && r != nil && r.MethodName != "" {
			d.mu.Lock()
			d.lastFence = r
			d.mu.Unlock()
		}
		if err == nil && r != nil && berr == nil {
			was := before.Held && !before.Type.AllRegistrants() && before.Key == d.own
			now := r.Reservation.Held && !r.Reservation.Type.AllRegistrants() && r.Reservation.Key == d.own
			if now && !was {
				d.mu.Lock()
				d.lockout = true
				d.mu.Unlock()
				d.log.Info("fence made this node the holder: held for lockout only (handed over on request, claimed by an acquire)", "victim", victim, "previous_holder", before.Key)
			}
		}
		return err
	})
}

// TransportID implements agent.HandoverDisk: this node's initiator port
// on the disk (its iSCSI session's initiator name and ISID).
func (d *Disk) TransportID(ctx context.Context) (scsi.TransportID, error) {
	if _, err := d.Owner(ctx); err != nil {
		return scsi.TransportID{}, err
	}
	s := d.session()
	if s == nil {
		return scsi.TransportID{}, fmt.Errorf("disk %s: the initiator port of an SG_IO device is not known to hakit: %w", d.name, errors.ErrUnsupported)
	}
	return s.TransportID(), nil
}

// Handover implements agent.HandoverDisk: it moves a reservation this
// node holds for lockout only to the member with key dest, whose
// initiator port is tid (scsi.Owner.Move: REGISTER AND MOVE, this node
// stays registered, verified by read-back), and the disk is no longer
// held for lockout. A reservation this node claimed (an Acquire, its
// resource runs here) is never handed over: agent.ErrHandoverClaimed.
func (d *Disk) Handover(ctx context.Context, dest scsi.Key, tid scsi.TransportID) error {
	return d.act(ctx, func(o *scsi.Owner) error {
		d.mu.Lock()
		lockout := d.lockout
		d.mu.Unlock()
		if !lockout {
			return fmt.Errorf("disk %s: %w", d.name, agent.ErrHandoverClaimed)
		}
		r, err := o.Move(ctx, dest, tid)
		if err != nil {
			return err
		}
		d.mu.Lock()
		d.lockout = false
		d.mu.Unlock()
		d.log.Info("reservation handed over", "dest", dest, "transport_id", tid.String(), "layout", r.LayoutName, "notes", r.Notes)
		return nil
	})
}

// fencePeer fences peer through o (see Disk.Fence).
func fencePeer(ctx context.Context, o *scsi.Owner, peer scsi.Key, log *slog.Logger) (*scsi.FenceResult, error) {
	r, err := o.Fence(ctx, peer)
	return r, fenceVerdict(r, err, peer, log)
}

func fenceVerdict(r *scsi.FenceResult, err error, peer scsi.Key, log *slog.Logger) error {
	switch {
	case errors.Is(err, scsi.ErrKeyNotRegistered):
		if r == nil || !r.Reservation.Held {
			return fmt.Errorf("peer key %s is not registered but no reservation protects the unit: the peer can still write: %w", peer, err)
		}
		log.Info("fence: peer key already gone (idempotent success)", "peer", peer, "reservation", r.Reservation.Key, "type", r.Reservation.Type.String())
		return nil
	case err == nil && r.Fallback != "":
		log.Warn("fenced without abort", "method", r.MethodName, "why", r.Fallback)
	}
	return err
}

// Heartbeat runs a serialhb Runner as an agent component: the cable to
// one member.
type Heartbeat struct {
	R *serialhb.Runner
	// Member names the node at the other end; its events carry it.
	Member string
}

// Run implements agent.Component.
func (h *Heartbeat) Run(ctx context.Context, emit func(agent.Event)) error {
	events, cancel := h.R.Subscribe(64)
	defer cancel()
	if err := h.R.Start(ctx); err != nil {
		return err
	}
	defer func() {
		sctx, c := context.WithTimeout(context.Background(), 2*time.Second)
		defer c()
		_ = h.R.Stop(sctx)
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-h.R.Done():
			return errors.New("serial heartbeat runner stopped")
		case e, ok := <-events:
			if !ok {
				return nil
			}
			kind := e.Kind.String()
			if e.Kind == serialhb.EventState {
				kind = e.To.String()
			}
			data := map[string]any{"from": e.From.String(), "to": e.To.String(), "peer": e.Peer}
			if h.Member != "" {
				data["member"] = h.Member
			}
			emit(agent.Event{Time: e.Time, Source: "heartbeat", Kind: kind, Msg: "serial: " + e.String(), Data: data})
		}
	}
}

// Status implements agent.Component.
func (h *Heartbeat) Status(context.Context) (agent.HeartbeatStatus, error) { return h.R.Status(), nil }

// Test implements agent.Tester: a burst of 50 pings, 10 ms apart.
func (h *Heartbeat) Test(ctx context.Context) (agent.CableTestResult, error) {
	return h.R.CableTest(ctx, serialhb.CableTestConfig{Count: 50, Interval: 10 * time.Millisecond})
}

// NIC watches the heartbeat NIC and probes the peer on demand (every
// member's address with Members).
type NIC struct {
	Interface string
	Peer      netip.Addr
	// Members are the members' addresses when there are more than one;
	// nil probes Peer only.
	Members []NICMember
	NetNS   string
	Logger  *slog.Logger

	mu     sync.Mutex
	states map[string]string // the last probe's state of each member
	// link is the interface as the watcher last saw it (nil: not seen,
	// or the watcher not running), its carrier or operstate last changed
	// at linkAt; probe and members the last status call's probes, begun
	// at probed.
	link    *nic.Link
	linkAt  time.Time
	probe   *nic.ProbeResult
	members []NICMemberProbe
	probed  time.Time
}

// NICStatus is the NIC component's status.
type NICStatus = agent.NICStatus

// Run implements agent.Component: netlink events, no polling.
func (n *NIC) Run(ctx context.Context, emit func(agent.Event)) error {
	w, err := nic.Watch(ctx, nic.WatchConfig{NetNS: n.NetNS, Interfaces: []string{n.Interface}, Logger: n.Logger})
	if err != nil {
		return err
	}
	n.setLink(nil)
	for _, l := range w.Initial() {
		if l.Name == n.Interface {
			n.setLink(&l)
		}
	}
	defer n.setLink(nil)
	for {
		select {
		case <-ctx.Done():
			<-w.Done()
			return nil
		case <-w.Done():
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("nic watch ended: %w", w.Err())
		case e, ok := <-w.Events():
			if !ok {
				continue
			}
			if e.Kind == nic.Removed {
				n.setLink(nil)
			} else {
				n.setLink(&e.New)
			}
			kind := string(e.Kind)
			if e.Kind == nic.Changed {
				kind = "link-" + string(e.New.OperState)
			}
			emit(agent.Event{Time: e.Time, Source: "nic", Kind: kind, Msg: fmt.Sprintf("%s: %s carrier %s operstate %s (%v)", n.Interface, e.Kind, e.New.Carrier, e.New.OperState, e.Fields), Data: map[string]any{"interface": n.Interface, "carrier": e.New.Carrier, "operstate": e.New.OperState}})
		}
	}
}

// Status implements agent.Component: the link now and one probe of the
// peer, or of every member's address at once.
func (n *NIC) Status(ctx context.Context) (agent.NICStatus, error) {
	var out NICStatus
	began := time.Now()
	st, err := nic.ReadStatus(ctx, nic.Config{NetNS: n.NetNS}, n.Interface)
	if err != nil {
		out.Error = err.Error()
		return out, nil
	}
	out.Status = st
	if len(n.Members) > 0 {
		out.Members = n.probeMembers(ctx)
		out.Probe = out.Members[0].Probe
		if out.Members[0].Error != "" {
			out.Error = out.Members[0].Error
		}
		n.keepProbe(out, began)
		return out, nil
	}
	pr, err := nic.Probe(ctx, nic.ProbeConfig{NetNS: n.NetNS, Count: 2, Interval: 200 * time.Millisecond}, n.Interface, n.Peer)
	if err != nil {
		out.Error = err.Error()
	}
	out.Probe = pr
	n.keepProbe(out, began)
	return out, nil
}

func (n *NIC) setLink(l *nic.Link) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if (l == nil) != (n.link == nil) || (l != nil && (l.Carrier != n.link.Carrier || l.OperState != n.link.OperState)) {
		n.linkAt = time.Now()
	}
	if l == nil {
		n.link = nil
		return
	}
	c := *l
	n.link = &c
}

// keepProbe keeps a status call's probes, begun at began, for CachedNIC.
func (n *NIC) keepProbe(st NICStatus, began time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.probe, n.members, n.probed = st.Probe, st.Members, began
}

// CachedNIC implements agent.NICCache: the link as the watcher last saw
// it (Status nil while Run is not watching) and the last status call's
// probes if they are at most maxAge old and newer than the link's last
// change of carrier or operstate (an older probe says nothing of the
// link as it is now); no I/O.
func (n *NIC) CachedNIC(maxAge time.Duration) NICStatus {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out NICStatus
	if n.link != nil {
		out.Status = &nic.Status{Link: *n.link}
	}
	if !n.probed.IsZero() && time.Since(n.probed) <= maxAge && !n.probed.Before(n.linkAt) {
		out.Probe, out.Members = n.probe, n.members
	}
	return out
}

// RAID reads the controller when asked (no background work).
type RAID struct{ Src raidctl.Source }

// Run implements agent.Component.
func (r *RAID) Run(ctx context.Context, _ func(agent.Event)) error {
	<-ctx.Done()
	return nil
}

// Status implements agent.Component.
func (r *RAID) Status(ctx context.Context) (*agent.RAIDStatus, error) { return r.Src.Read(ctx) }
