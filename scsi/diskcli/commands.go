package diskcli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/hakit/hakit/internal/jsonout"
	"github.com/hakit/hakit/scsi"
	"github.com/hakit/hakit/scsi/iscsi"
)

// discover is the discover command: it opens no device.
func (r Runner) discover(ctx context.Context, portal string, o *options, log *slog.Logger, w io.Writer) error {
	u, err := iscsi.ParsePortalURL(portal)
	if err != nil {
		return usagef("discover: %v", err)
	}
	disc := r.Discover
	if disc == nil {
		disc = iscsi.Discover
	}
	ts, err := disc(ctx, u, iscsi.Config{InitiatorName: o.initiator, Logger: log})
	if err != nil {
		return &DeviceError{Device: u.String(), Err: err}
	}
	if o.json {
		return jsonout.Document(w, "targets", map[string]any{"portal": u.Portal(), "targets": ts})
	}
	if len(ts) == 0 {
		fmt.Fprintf(w, "%s: no targets offered to %s\n", u.Portal(), o.initiator)
		return nil
	}
	for _, t := range ts {
		fmt.Fprintf(w, "%s\n", t.Name)
		for _, a := range t.Addresses {
			fmt.Fprintf(w, "  portal %s\n", a)
		}
		if len(t.Addresses) == 0 {
			fmt.Fprintf(w, "  portal %s (the one asked)\n", u.Portal())
		}
	}
	return nil
}

func commands() []command {
	return []command{
		{name: "identify", args: "<device>", short: "vendor, product, serial, stable identity (VPD 0x83) and capacity",
			long: "Reads standard INQUIRY, VPD pages 0x00, 0x80 and 0x83 and READ CAPACITY(16). The identity is the\nbest logical-unit designator (NAA, EUI-64, SCSI name, T10 vendor ID): the same on every node that\nsees this LUN, so two nodes can check they share the same disk.", run: identify},
		{name: "keys", args: "<device>", short: "registered reservation keys (PR IN READ KEYS)",
			long: "Lists the registered keys as sg_persist --read-keys does. With this node's key, marks it.", run: keys},
		{name: "reservation", args: "<device>", short: "the persistent reservation (PR IN READ RESERVATION)",
			long: "Shows the reservation holder's key, scope and type as sg_persist --read-reservation does.", run: reservation},
		{name: "status", args: "<device>", short: "keys, reservation, this node's standing, target capabilities, stale keys",
			long: "Reads keys, reservation, REPORT CAPABILITIES and, when the target has it, READ FULL STATUS (which\ninitiator holds which key). Flags keys registered twice (stale registrations of an earlier iSCSI\nsession) and says whether this node is registered and holds the reservation. Exit status 0 when\nthis node's key is registered, 2 when it is not (fence agent convention). Only reads.", needsKey: true, run: status},
		{name: "register", args: "<device>", short: "register this node's key (REGISTER AND IGNORE EXISTING KEY), verified",
			long: "Registers this node's key on this I_T nexus, removes stale registrations of the same key left by\nan earlier session, and verifies with READ KEYS that it is registered once.", needsKey: true, run: register},
		{name: "unregister", args: "<device>", short: "remove this node's registration (and a reservation it holds)",
			long: "Unregisters this node's key on this I_T nexus (REGISTER AND IGNORE with key 0).", needsKey: true, run: unregister},
		{name: "reserve", args: "<device>", short: "reserve with this node's registered key (--type, default we-ro), verified",
			long: "Reserves with --type; verified with READ RESERVATION. This node's key must be registered\n(register or unfence first): a key that is gone may have been fenced, and reserve refuses it.\nFails with a clear error when another key holds the reservation.", needsKey: true, run: reserve},
		{name: "release", args: "<device>", short: "release the reservation this node holds",
			long: "Releases the reservation when this node's key holds it (no-op otherwise, said so); keeps the\nregistration.", needsKey: true, run: release},
		{name: "preempt", args: "<device> <victim-key>", short: "fence the node with --victim KEY (same as fence)",
			long: fenceLong, needsKey: true, run: fence},
		{name: "fence", args: "<device> <victim-key>", short: "PREEMPT AND ABORT a peer's key, verified",
			long: fenceLong, needsKey: true, run: fence},
		{name: "unfence", args: "<device>", short: "register this node again and reserve if nothing is (fence_scsi \"on\")",
			long: "Registers this node's key (cleaning stale ones) and, for the registrants-only and all-registrants\ntypes, reserves when no reservation exists.", needsKey: true, run: unfence},
		{name: "clear", args: "<device>", short: "remove every registration and the reservation (PR OUT CLEAR; needs --yes)",
			long: "PERSISTENT RESERVE OUT CLEAR with this node's key: every node loses its registration and the\nreservation goes. Nodes must register again. Needs --yes.", needsKey: true, run: clear},
		{name: "discover", args: "iscsi://portal[:port]", short: "list the targets and portals an iSCSI portal offers (SendTargets)",
			long: "Logs in to the portal in a discovery session as --initiator (CHAP from the URL's user%password),\nasks SendTargets=All and lists each target with its portals (address:port,portal-group-tag), as\niscsiadm -m discovery -t st does. Use a listed target in a disk URL:\niscsi://portal/target-iqn/lun. Only reads."},
		{name: "read", args: "<device>", short: "read --count blocks at --lba (READ(16), FUA) to stdout",
			long: readLong, run: readBlocks},
		{name: "write", args: "<device>", short: "write --count blocks at --lba (WRITE(16), FUA), inside --region-start/--region-len only",
			long: writeLong, run: writeBlocks},
		{name: "reset", args: "<device>", short: "reset the LUN (--level lun|target|bus); breaks SCSI-2 reservations",
			long: "Sends a LOGICAL UNIT RESET (iSCSI task management or SG_SCSI_RESET), or a target or bus reset\nwith --level. Persistent reservations survive it; SCSI-2 reservations do not. Every initiator\nthen gets UNIT ATTENTION 29/00.", run: reset},
	}
}

const fenceLong = `Cuts the node whose key is --victim off the disk: PERSISTENT RESERVE OUT PREEMPT AND ABORT with
this node's key as reservation key and the victim's as service-action key. A target that refuses
PREEMPT AND ABORT (tgtd does) fails the fence, since PREEMPT alone does not abort the victim's
queued and running writes; --allow-preempt-without-abort accepts PREEMPT there, and the output
says so. Then reads the keys and the reservation back: success only when the victim's key is
gone, this node's is there and a reservation protects the disk. Refuses to fence this node's
own key.`

func (e *env) emit(v any, text func(w io.Writer)) error {
	if e.json {
		return jsonout.Document(e.out, "items", v)
	}
	text(e.out)
	return nil
}

// keyLabel annotates a key: this node, or the hakit node it names.
func (e *env) keyLabel(k scsi.Key) string {
	switch {
	case e.owner != nil && k == e.owner.Key():
		return "  (this node)"
	case e.cluster != "" && e.opts.layout == "hakit":
		if n, ok := scsi.KeyNode(k, e.cluster); ok {
			return fmt.Sprintf("  (node %d)", n)
		}
		return "  (not of cluster " + e.cluster + ")"
	case scsi.IsHakitKey(k):
		return fmt.Sprintf("  (hakit node %d)", uint64(k)&0xffff)
	}
	return ""
}

func (e *env) writeKeys(w io.Writer, k scsi.Keys) {
	if len(k.Keys) == 0 {
		fmt.Fprintf(w, "  PR generation=0x%x, there are NO registered reservation keys\n", k.Generation)
		return
	}
	fmt.Fprintf(w, "  PR generation=0x%x, %d registered reservation key%s follow%s:\n", k.Generation, len(k.Keys), plural(len(k.Keys)), map[bool]string{true: "s", false: ""}[len(k.Keys) == 1])
	dups := scsi.DuplicateKeys(k.Keys)
	for _, key := range k.Keys {
		extra := ""
		for _, d := range dups {
			if d == key {
				extra = "  [registered more than once]"
			}
		}
		fmt.Fprintf(w, "    %s%s%s\n", key, e.keyLabel(key), extra)
	}
	if k.Truncated {
		fmt.Fprintf(w, "    ... (list truncated by the device)\n")
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func (e *env) writeReservation(w io.Writer, r scsi.Reservation) {
	if !r.Held {
		fmt.Fprintf(w, "  PR generation=0x%x, there is NO reservation held\n", r.Generation)
		return
	}
	fmt.Fprintf(w, "  PR generation=0x%x, Reservation follows:\n", r.Generation)
	fmt.Fprintf(w, "    Key=%s%s\n", r.Key, e.keyLabel(r.Key))
	scope := "LU_SCOPE"
	if r.Scope != 0 {
		scope = fmt.Sprintf("scope 0x%x", r.Scope)
	}
	fmt.Fprintf(w, "    scope: %s,  type: %s\n", scope, r.Type)
}

func identify(ctx context.Context, e *env) error {
	id, err := e.dev.Identify(ctx)
	if err != nil {
		return err
	}
	std, err := e.dev.Inquiry(ctx)
	if err != nil {
		return err
	}
	capa, err := e.dev.ReadCapacity(ctx)
	if err != nil {
		return err
	}
	type designator struct {
		Type        string `json:"type"`
		Association string `json:"association"`
		Value       string `json:"value"`
	}
	out := struct {
		Device      string       `json:"device"`
		Vendor      string       `json:"vendor"`
		Product     string       `json:"product"`
		Revision    string       `json:"revision"`
		DeviceType  string       `json:"device_type"`
		Identity    string       `json:"identity"`
		Source      string       `json:"identity_source"`
		Serial      string       `json:"serial"`
		Blocks      uint64       `json:"blocks"`
		BlockSize   uint32       `json:"block_size"`
		Bytes       uint64       `json:"bytes"`
		Designators []designator `json:"designators"`
	}{Device: e.device, Vendor: id.Vendor, Product: id.Product, Revision: id.Revision, DeviceType: scsi.DeviceTypeName(std.DeviceType),
		Identity: id.ID, Source: id.Source, Serial: id.Serial, Blocks: capa.Blocks(), BlockSize: capa.BlockSize, Bytes: capa.Bytes(), Designators: []designator{}}
	for _, d := range id.Designators {
		assoc := [...]string{"logical unit", "target port", "target device", "reserved"}[d.Association&3]
		out.Designators = append(out.Designators, designator{Type: d.TypeName(), Association: assoc, Value: d.String()})
	}
	return e.emit(out, func(w io.Writer) {
		fmt.Fprintf(w, "%s: %s %s %s (%s)\n", e.device, id.Vendor, id.Product, id.Revision, out.DeviceType)
		fmt.Fprintf(w, "  identity:  %s (%s)\n", id.ID, id.Source)
		if id.Serial != "" {
			fmt.Fprintf(w, "  serial:    %s\n", id.Serial)
		} else {
			fmt.Fprintf(w, "  serial:    unknown (no VPD page 0x80)\n")
		}
		fmt.Fprintf(w, "  capacity:  %d blocks of %d bytes = %d bytes (%s)\n", capa.Blocks(), capa.BlockSize, capa.Bytes(), human(capa.Bytes()))
		fmt.Fprintf(w, "  designators (VPD 0x83):\n")
		for _, d := range out.Designators {
			fmt.Fprintf(w, "    %-32s %s\n", d.Type+", "+d.Association+":", d.Value)
		}
	})
}

func human(n uint64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	f := float64(n)
	i := 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	return fmt.Sprintf("%.1f %s", f, units[i])
}

func keys(ctx context.Context, e *env) error {
	k, err := e.dev.ReadKeys(ctx)
	if err != nil {
		return err
	}
	out := struct {
		Device     string     `json:"device"`
		Generation uint32     `json:"generation"`
		Keys       []scsi.Key `json:"keys"`
		Duplicates []scsi.Key `json:"duplicates,omitempty"`
	}{e.device, k.Generation, append([]scsi.Key{}, k.Keys...), scsi.DuplicateKeys(k.Keys)}
	return e.emit(out, func(w io.Writer) { e.writeKeys(w, k) })
}

func reservation(ctx context.Context, e *env) error {
	r, err := e.dev.ReadReservation(ctx)
	if err != nil {
		return err
	}
	out := struct {
		Device     string    `json:"device"`
		Generation uint32    `json:"generation"`
		Held       bool      `json:"held"`
		Holder     *scsi.Key `json:"holder,omitempty"`
		Type       string    `json:"type,omitempty"`
	}{Device: e.device, Generation: r.Generation, Held: r.Held}
	if r.Held {
		k := r.Key
		out.Holder, out.Type = &k, r.Type.String()
	}
	return e.emit(out, func(w io.Writer) { e.writeReservation(w, r) })
}

// NotRegisteredError is status's answer when this node's key is not
// registered: exit status 2, "off" in fence agent terms. It matches
// scsi.ErrNotRegistered.
type NotRegisteredError struct{ Key scsi.Key }

func (n *NotRegisteredError) Error() string {
	return fmt.Sprintf("this node's key %s is not registered (fenced or not joined)", n.Key)
}

// Unwrap gives scsi.ErrNotRegistered.
func (n *NotRegisteredError) Unwrap() error { return scsi.ErrNotRegistered }

func status(ctx context.Context, e *env) error {
	st, err := e.owner.Status(ctx)
	if err != nil {
		return err
	}
	type reg struct {
		Key       scsi.Key `json:"key"`
		Holder    bool     `json:"holder"`
		Initiator string   `json:"initiator"`
	}
	out := struct {
		Device           string             `json:"device"`
		OwnKey           scsi.Key           `json:"own_key"`
		Registered       bool               `json:"registered"`
		OwnRegistrations int                `json:"own_registrations"`
		Owner            bool               `json:"owner"`
		Holder           *scsi.Key          `json:"holder,omitempty"`
		HolderRole       string             `json:"holder_role"`
		Type             string             `json:"type,omitempty"`
		Generation       uint32             `json:"generation"`
		Keys             []scsi.Key         `json:"keys"`
		Duplicates       []scsi.Key         `json:"duplicates,omitempty"`
		Registrations    []reg              `json:"registrations,omitempty"`
		Stale            []reg              `json:"stale,omitempty"`
		Support          scsi.TargetSupport `json:"support"`
		UnitAttentions   []string           `json:"unit_attentions,omitempty"`
		Notes            []string           `json:"notes,omitempty"`
	}{Device: e.device, OwnKey: st.Own, Registered: st.OwnRegistrations > 0, OwnRegistrations: st.OwnRegistrations,
		Owner: st.Owned(), HolderRole: st.Holder, Generation: st.Keys.Generation, Keys: append([]scsi.Key{}, st.Keys.Keys...),
		Duplicates: st.Duplicates, Support: st.Support, Notes: st.Notes}
	if st.Reservation.Held {
		k := st.Reservation.Key
		out.Holder, out.Type = &k, st.Reservation.Type.String()
	}
	if st.FullStatus != nil {
		for _, r := range st.FullStatus.Registrations {
			out.Registrations = append(out.Registrations, reg{r.Key, r.Holder, r.Initiator.String()})
		}
		for _, r := range st.Stale {
			out.Stale = append(out.Stale, reg{r.Key, r.Holder, r.Initiator.String()})
		}
	}
	for _, s := range st.UnitAttentions {
		out.UnitAttentions = append(out.UnitAttentions, s.String())
	}
	err = e.emit(out, func(w io.Writer) {
		fmt.Fprintf(w, "%s: this node's key %s, reservation type %s\n", e.device, st.Own, e.owner.Type())
		e.writeKeys(w, st.Keys)
		e.writeReservation(w, st.Reservation)
		if st.FullStatus != nil {
			fmt.Fprintf(w, "  Registrations (READ FULL STATUS):\n")
			for _, r := range out.Registrations {
				h := ""
				if r.Holder {
					h = "  holder"
				}
				fmt.Fprintf(w, "    %s  %s%s\n", r.Key, r.Initiator, h)
			}
			for _, r := range out.Stale {
				fmt.Fprintf(w, "  STALE: key %s also registered through %s\n", r.Key, r.Initiator)
			}
		}
		switch {
		case st.OwnRegistrations == 0:
			fmt.Fprintf(w, "  This node: NOT registered (fenced, or not joined)\n")
		case st.Owned():
			fmt.Fprintf(w, "  This node: registered, holds the reservation\n")
		default:
			fmt.Fprintf(w, "  This node: registered, does not hold the reservation (%s)\n", st.Holder)
		}
		s := st.Support
		fmt.Fprintf(w, "  Target: REPORT CAPABILITIES %s, READ FULL STATUS %s, PREEMPT AND ABORT %s, APTPL %s\n",
			s.ReportCapabilities, s.ReadFullStatus, s.PreemptAndAbort, s.APTPL)
		e.writeNotes(w, st.UnitAttentions, st.Notes)
	})
	if err == nil && st.OwnRegistrations == 0 {
		return &NotRegisteredError{Key: st.Own}
	}
	return err
}

// writeNotes prints the unit attentions that mean something (reservations
// or registrations changed under this node; every one with -v) and the
// notes. The routine ones of a new session stay in --json.
func (e *env) writeNotes(w io.Writer, uas []scsi.Sense, notes []string) {
	for _, s := range uas {
		if e.opts.verbose || meansSomething(s) {
			fmt.Fprintf(w, "  unit attention absorbed: %s\n", s)
		}
	}
	for _, n := range notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
}

// resultOut is the JSON form of an ownership action.
type resultOut struct {
	Device         string     `json:"device"`
	Action         string     `json:"action"`
	OwnKey         scsi.Key   `json:"own_key"`
	Generation     uint32     `json:"generation"`
	Keys           []scsi.Key `json:"keys"`
	Holder         *scsi.Key  `json:"holder,omitempty"`
	Type           string     `json:"type,omitempty"`
	Victim         scsi.Key   `json:"victim,omitempty"`
	Method         string     `json:"method,omitempty"`
	Fallback       string     `json:"fallback,omitempty"`
	UnitAttentions []string   `json:"unit_attentions,omitempty"`
	Notes          []string   `json:"notes,omitempty"`
}

func (e *env) result(action string, r *scsi.Result, done string, extra func(*resultOut)) error {
	out := resultOut{Device: e.device, Action: action, OwnKey: e.owner.Key(), Generation: r.Keys.Generation,
		Keys: append([]scsi.Key{}, r.Keys.Keys...), Notes: r.Notes}
	if r.Reservation.Held {
		k := r.Reservation.Key
		out.Holder, out.Type = &k, r.Reservation.Type.String()
	}
	for _, s := range r.UnitAttentions {
		out.UnitAttentions = append(out.UnitAttentions, s.String())
	}
	if extra != nil {
		extra(&out)
	}
	return e.emit(out, func(w io.Writer) {
		fmt.Fprintf(w, "%s: %s\n", e.device, done)
		e.writeKeys(w, r.Keys)
		e.writeReservation(w, r.Reservation)
		e.writeNotes(w, r.UnitAttentions, r.Notes)
	})
}

func ownerAction(action string, f func(*scsi.Owner, context.Context) (*scsi.Result, error), done func(e *env) string) func(context.Context, *env) error {
	return func(ctx context.Context, e *env) error {
		r, err := f(e.owner, ctx)
		if err != nil {
			return err
		}
		return e.result(action, r, done(e), nil)
	}
}

var (
	register = ownerAction("register", (*scsi.Owner).Register, func(e *env) string {
		return fmt.Sprintf("registered key %s (verified)", e.owner.Key())
	})
	unregister = ownerAction("unregister", (*scsi.Owner).Unregister, func(e *env) string {
		return fmt.Sprintf("unregistered key %s on this I_T nexus", e.owner.Key())
	})
	reserve = ownerAction("reserve", (*scsi.Owner).Acquire, func(e *env) string {
		return fmt.Sprintf("reserved with key %s, type %s (verified)", e.owner.Key(), e.owner.Type())
	})
	unfence = ownerAction("unfence", (*scsi.Owner).Unfence, func(e *env) string {
		return fmt.Sprintf("unfenced: key %s registered (verified)", e.owner.Key())
	})
)

// release says whether it released anything: a node that held no
// reservation gets "nothing released" (exit 0: releasing is idempotent).
func release(ctx context.Context, e *env) error {
	r, err := e.owner.Release(ctx)
	if err != nil {
		return err
	}
	done := fmt.Sprintf("released the reservation of key %s (verified)", e.owner.Key())
	for _, n := range r.Notes {
		if strings.Contains(n, "nothing to release") || strings.Contains(n, "not released") {
			done = "nothing released: " + n
		}
	}
	return e.result("release", r, done, nil)
}

func fence(ctx context.Context, e *env) error {
	if e.opts.victim == "" {
		return usagef("fence: needs the victim's key: --victim 0x... (or a second argument)")
	}
	victim, err := scsi.ParseKey(e.opts.victim)
	if err != nil {
		return usagef("--victim: %v", err)
	}
	r, err := e.owner.Fence(ctx, victim)
	if err != nil {
		return err
	}
	done := fmt.Sprintf("fenced key %s with %s (verified: key gone, reservation held)", victim, r.MethodName)
	if r.Fallback != "" {
		done += "\n  fallback: " + r.Fallback
	}
	return e.result("fence", &r.Result, done, func(o *resultOut) {
		o.Victim, o.Method, o.Fallback = victim, r.MethodName, r.Fallback
	})
}

func clear(ctx context.Context, e *env) error {
	if !e.opts.yes {
		return usagef("clear removes every node's registration and the reservation: add --yes to confirm")
	}
	r, err := e.owner.Clear(ctx)
	if err != nil {
		return err
	}
	return e.result("clear", r, "cleared every registration and the reservation (verified)", nil)
}

func reset(ctx context.Context, e *env) error {
	level := map[string]scsi.ResetLevel{"lun": scsi.ResetLUN, "target": scsi.ResetTarget, "bus": scsi.ResetBus}[e.opts.level]
	if level == 0 {
		return usagef("--level %q: want lun, target or bus", e.opts.level)
	}
	if err := e.dev.Reset(ctx, level); err != nil {
		return err
	}
	out := struct {
		Device string `json:"device"`
		Action string `json:"action"`
		Level  string `json:"level"`
	}{e.device, "reset", level.String()}
	return e.emit(out, func(w io.Writer) {
		fmt.Fprintf(w, "%s: %s reset done; every initiator will see UNIT ATTENTION 29/00 once\n", e.device, level)
	})
}
