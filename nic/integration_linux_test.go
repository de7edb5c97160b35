//go:build linux

package nic

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hakit/hakit/internal/rig"
	"github.com/hakit/hakit/internal/testutil"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

func testContext(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestIntegrationStatusVeth(t *testing.T) {
	nw := rig.NetFor(t, rig.NetConfig{})
	ctx := testContext(t, 10*time.Second)
	// By path and by bare name: both reach the same namespace.
	for _, ns := range []string{nw.NamespacePath(rig.A), nw.Namespace(rig.A)} {
		st, err := ReadStatus(ctx, Config{NetNS: ns}, nw.Interface(rig.A))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%+v", *st)
		if st.Kind != "veth" || !st.AdminUp || st.Carrier != CarrierUp || st.OperState != OperUp {
			t.Errorf("link = %+v, want veth admin up, carrier up, operstate up", st.Link)
		}
		// veth reports 10000 Mb/s full duplex with auto-negotiation off.
		if st.SpeedMbps == nil || *st.SpeedMbps != 10000 || st.Duplex != DuplexFull || st.Autoneg != AutonegOff {
			t.Errorf("speed %v duplex %s autoneg %s, want 10000 full off", st.SpeedMbps, st.Duplex, st.Autoneg)
		}
		if st.Driver != "veth" || st.MTU != 1500 || st.MAC == "" {
			t.Errorf("driver %q mtu %d mac %q, want veth 1500 and a MAC", st.Driver, st.MTU, st.MAC)
		}
		if st.CarrierUpCount == nil || st.CarrierDownCount == nil || st.CarrierChanges == nil {
			t.Errorf("carrier counters missing: %+v", st)
		}
		if st.Master != nil || st.Members != nil {
			t.Errorf("veth reported as aggregate or member: %+v %+v", st.Master, st.Members)
		}
	}
	// The peer going down shows as carrier down on this end, and the
	// counters move.
	before, err := ReadStatus(ctx, Config{NetNS: nw.Namespace(rig.A)}, nw.Interface(rig.A))
	if err != nil {
		t.Fatal(err)
	}
	if err := nw.SetLink(ctx, rig.B, false); err != nil {
		t.Fatal(err)
	}
	after, err := ReadStatus(ctx, Config{NetNS: nw.Namespace(rig.A)}, nw.Interface(rig.A))
	if err != nil {
		t.Fatal(err)
	}
	if after.Carrier != CarrierDown || !operDown(after.OperState) {
		t.Errorf("after peer down: carrier %s operstate %s, want down and down/lowerlayerdown", after.Carrier, after.OperState)
	}
	if *after.CarrierDownCount != *before.CarrierDownCount+1 {
		t.Errorf("carrier_down_count %d -> %d, want +1", *before.CarrierDownCount, *after.CarrierDownCount)
	}
	// Admin down on this end: carrier is unknown, not down.
	if err := nw.SetLink(ctx, rig.A, false); err != nil {
		t.Fatal(err)
	}
	st, err := ReadStatus(ctx, Config{NetNS: nw.Namespace(rig.A)}, nw.Interface(rig.A))
	if err != nil {
		t.Fatal(err)
	}
	if st.AdminUp || st.Carrier != CarrierUnknown || st.OperState != OperDown {
		t.Errorf("admin down: %+v, want admin down, carrier unknown, operstate down", st.Link)
	}
}

// TestIntegrationStatusMembership checks membership on a real master device.
// Only a bridge: the kernels this runs on have no bonding or team module (a
// kernel feature no package can add), so the bond member's state is covered
// by the decoding tests on recorded attributes in status_linux_test.go.
func TestIntegrationStatusMembership(t *testing.T) {
	tests := []struct {
		kind   string
		create []string
		check  func(t *testing.T, m *Membership)
	}{
		{kind: "bridge", create: []string{"type", "bridge"}, check: func(t *testing.T, m *Membership) {
			if m.BondState != "" || m.MIIStatus != "" || m.LinkFailures != nil {
				t.Errorf("bridge member has bond fields: %+v", m)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			nw := rig.NetFor(t, rig.NetConfig{})
			ctx := testContext(t, 10*time.Second)
			ifA, master := nw.Interface(rig.A), "hk"+tt.kind+"0"
			ip := func(args ...string) error {
				out, err := nw.Command(ctx, rig.A, "ip", args...).CombinedOutput()
				if err != nil {
					return fmt.Errorf("ip %v: %w: %s", args, err, out)
				}
				return nil
			}
			if err := ip(append([]string{"link", "add", master}, tt.create...)...); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{{"link", "set", ifA, "down"}, {"link", "set", ifA, "master", master}, {"link", "set", ifA, "up"}, {"link", "set", master, "up"}} {
				if err := ip(args...); err != nil {
					t.Fatal(err)
				}
			}
			cfg := Config{NetNS: nw.Namespace(rig.A)}
			member, err := ReadStatus(ctx, cfg, ifA)
			if err != nil {
				t.Fatal(err)
			}
			m := member.Master
			if m == nil || m.Master != master || m.MasterKind != tt.kind || m.Member != ifA || m.MemberCarrier != CarrierUp {
				t.Fatalf("member view: %+v", m)
			}
			tt.check(t, m)
			agg, err := ReadStatus(ctx, cfg, master)
			if err != nil {
				t.Fatal(err)
			}
			if agg.Kind != tt.kind || len(agg.Members) != 1 || agg.Members[0].Member != ifA || agg.Members[0].Master != master {
				t.Errorf("%s view: kind %s members %+v", tt.kind, agg.Kind, agg.Members)
			}
		})
	}
}

// dropCaps runs fn on a thread that has no effective capabilities (still
// uid 0). The thread is never unlocked, so it exits with the goroutine.
func dropCaps(t *testing.T, fn func() error) error {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var data [2]unix.CapUserData
		if err := unix.Capget(&hdr, &data[0]); err != nil {
			errc <- err
			return
		}
		data[0].Effective, data[1].Effective = 0, 0
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			errc <- err
			return
		}
		errc <- fn()
	}()
	return <-errc
}

func TestIntegrationBadInput(t *testing.T) {
	nw := rig.NetFor(t, rig.NetConfig{})
	ctx := testContext(t, 10*time.Second)
	nsA := nw.NamespacePath(rig.A)
	notNS, err := os.CreateTemp(t.TempDir(), "notns")
	if err != nil {
		t.Fatal(err)
	}
	notNS.Close()
	tests := []struct {
		name  string
		cfg   Config
		iface string
		want  error
	}{
		{"no such interface", Config{NetNS: nsA}, "hknone0", ErrNoSuchInterface},
		{"no such interface here", Config{}, nw.Interface(rig.A), ErrNoSuchInterface},
		{"name too long", Config{NetNS: nsA}, "abcdefghijklmnop", ErrInvalidName},
		{"empty name", Config{NetNS: nsA}, "", ErrInvalidName},
		{"namespace missing", Config{NetNS: "hakit-no-such-ns"}, "lo", ErrNetNS},
		{"not a namespace", Config{NetNS: notNS.Name()}, "lo", ErrNetNS},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadStatus(ctx, tt.cfg, tt.iface)
			var op *OpError
			if !errors.Is(err, tt.want) || !errors.As(err, &op) || op.Op != "status" {
				t.Fatalf("ReadStatus = %v, want *OpError wrapping %v", err, tt.want)
			}
			t.Log(err)
			w, err := Watch(ctx, WatchConfig{NetNS: tt.cfg.NetNS, Interfaces: []string{tt.iface}})
			if errors.Is(tt.want, ErrNoSuchInterface) {
				// Watching a name that does not exist yet is allowed.
				if err != nil {
					t.Fatalf("Watch = %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) || w != nil {
				t.Fatalf("Watch = %v, %v, want error wrapping %v", w, err, tt.want)
			}
		})
	}
	t.Run("no permission", func(t *testing.T) {
		err := dropCaps(t, func() error {
			_, err := ReadStatus(ctx, Config{NetNS: nsA}, nw.Interface(rig.A))
			return err
		})
		if !errors.Is(err, ErrPermission) {
			t.Fatalf("ReadStatus without CAP_SYS_ADMIN = %v, want ErrPermission", err)
		}
		t.Log(err)
	})
}

// operDown accepts the two states a veth end takes when its peer goes down:
// lowerlayerdown when its peer's index differs from its own, down when the
// two happen to be equal (the kernel's RFC 2863 rule compares ifindex with
// iflink, and fresh namespaces number both ends 2).
func operDown(s OperState) bool { return s == OperLowerLayerDown || s == OperDown }

// countFDs counts this process's open file descriptors.
func countFDs(t testing.TB) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// waitEvent returns the first event for name that match accepts.
func waitEvent(t testing.TB, w *Watcher, name string, d time.Duration, match func(Event) bool) Event {
	t.Helper()
	timeout := time.After(d)
	for {
		select {
		case ev, ok := <-w.Events():
			if !ok {
				t.Fatalf("events closed: %v", w.Err())
			}
			if ev.New.Name == name && match(ev) {
				return ev
			}
		case <-timeout:
			t.Fatalf("no matching event for %s within %v", name, d)
		}
	}
}

func TestIntegrationWatchFlap(t *testing.T) {
	nw := rig.NetFor(t, rig.NetConfig{})
	ctx := testContext(t, 20*time.Second)
	ifA := nw.Interface(rig.A)

	g0, fd0 := runtime.NumGoroutine(), countFDs(t)
	wctx, stop := context.WithCancel(ctx)
	w, err := Watch(wctx, WatchConfig{NetNS: nw.NamespacePath(rig.A), Interfaces: []string{ifA}, Logger: rig.TestLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	init := w.Initial()
	if len(init) != 1 {
		t.Fatalf("initial snapshot %+v, want just %s", init, ifA)
	}
	for _, l := range init {
		if l.Name != ifA || l.Carrier != CarrierUp || l.OperState != OperUp {
			t.Fatalf("initial %+v, want %s carrier up operstate up", l, ifA)
		}
	}
	for range 2 {
		if err := nw.SetLink(ctx, rig.B, false); err != nil {
			t.Fatal(err)
		}
		ev := waitEvent(t, w, ifA, 5*time.Second, func(ev Event) bool { return ev.New.Carrier == CarrierDown })
		if ev.Kind != Changed || !operDown(ev.New.OperState) || !ev.New.AdminUp || ev.Resync {
			t.Errorf("down event %+v, want changed, carrier down, operstate down/lowerlayerdown, admin up", ev)
		}
		if err := nw.SetLink(ctx, rig.B, true); err != nil {
			t.Fatal(err)
		}
		ev = waitEvent(t, w, ifA, 5*time.Second, func(ev Event) bool { return ev.New.Carrier == CarrierUp })
		if ev.New.OperState != OperUp {
			t.Errorf("up event %+v, want operstate up", ev)
		}
	}
	stop()
	select {
	case <-w.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("watcher did not stop within 5s of its context ending")
	}
	for range w.Events() {
	}
	if !errors.Is(w.Err(), context.Canceled) {
		t.Errorf("Err() = %v, want context.Canceled", w.Err())
	}
	// The library's closer goroutine may still be returning: allow a moment.
	deadline := time.Now().Add(2 * time.Second)
	for {
		g, fd := runtime.NumGoroutine(), countFDs(t)
		if g <= g0 && fd <= fd0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("leak after stop: goroutines %d -> %d, fds %d -> %d", g0, g, fd0, fd)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// linkCtl changes one side's veth end through netlink from inside that
// side's namespace.
type linkCtl struct {
	h    *netlink.Handle
	link netlink.Link
}

func newLinkCtl(t testing.TB, nsPath, name string) *linkCtl {
	t.Helper()
	ns, err := netns.GetFromPath(nsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	link, err := h.LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	return &linkCtl{h: h, link: link}
}

func (c *linkCtl) set(t testing.TB, up bool) {
	t.Helper()
	var err error
	if up {
		err = c.h.LinkSetUp(c.link)
	} else {
		err = c.h.LinkSetDown(c.link)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func (c *linkCtl) mtu(t testing.TB, mtu int) {
	t.Helper()
	if err := c.h.LinkSetMTU(c.link, mtu); err != nil {
		t.Fatal(err)
	}
}

func TestIntegrationWatchResync(t *testing.T) {
	nw := rig.NetFor(t, rig.NetConfig{})
	ctx := testContext(t, 20*time.Second)
	ifA := nw.Interface(rig.A)
	// A tiny socket buffer and an event channel nobody reads: the kernel
	// must drop messages and report ENOBUFS.
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	w, err := Watch(wctx, WatchConfig{NetNS: nw.NamespacePath(rig.A), Buffer: 1, ReceiveBuffer: 1, Logger: rig.TestLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	// Each MTU change is one RTM_NEWLINK in A's namespace, sent at once.
	c := newLinkCtl(t, nw.NamespacePath(rig.A), ifA)
	for i := range 300 {
		c.mtu(t, 1400+i%2)
	}
	c.mtu(t, 1280)
	// Read until quiet; the last word on ifA must be the real state.
	state := w.Initial()
	for quiet := false; !quiet; {
		select {
		case ev := <-w.Events():
			if ev.Kind == Removed {
				delete(state, ev.Old.Index)
			} else {
				state[ev.New.Index] = ev.New
			}
		case <-time.After(500 * time.Millisecond):
			quiet = true
		}
	}
	if w.Resyncs() == 0 {
		t.Fatal("no resync after 301 unread link changes with a minimal receive buffer")
	}
	st, err := ReadStatus(ctx, Config{NetNS: nw.NamespacePath(rig.A)}, ifA)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(st.Link, state[st.Index]); diff != "" {
		t.Errorf("state after resync differs from the kernel's (-kernel +watcher):\n%s", diff)
	}
	if st.MTU != 1280 {
		t.Errorf("mtu %d, want 1280", st.MTU)
	}
	t.Logf("resyncs: %d", w.Resyncs())
	// Stopping with an unread event pending.
	c.mtu(t, 1500)
	time.Sleep(50 * time.Millisecond)
	stop()
	select {
	case <-w.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("watcher blocked on an unread event did not stop within 5s")
	}
}

func TestIntegrationProbe(t *testing.T) {
	nw := rig.NetFor(t, rig.NetConfig{})
	ctx := testContext(t, 15*time.Second)
	ifA, peer := nw.Interface(rig.A), nw.Addr(rig.B).Addr()
	cfg := ProbeConfig{NetNS: nw.NamespacePath(rig.A), Count: 2, Interval: 300 * time.Millisecond, Logger: rig.TestLogger(t)}

	res, err := Probe(ctx, cfg, ifA, peer)
	if err != nil {
		t.Fatal(err)
	}
	if res.State != ProbeReachable || res.RTT <= 0 || res.RTT > time.Second || res.Received != 1 || res.Carrier != CarrierUp {
		t.Fatalf("probe across the veth: %+v, want reachable with an RTT", res)
	}
	t.Logf("rtt %v", res.RTT)

	// The peer's node goes silent: its address is gone, the link stays up.
	if err := nw.RemoveAddr(ctx, rig.B); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res, err = Probe(ctx, cfg, ifA, peer)
	if err != nil {
		t.Fatal(err)
	}
	if res.State != ProbePeerSilent || res.Received != 0 || res.RTT != 0 || res.Carrier != CarrierUp {
		t.Fatalf("probe of a silent peer: %+v, want peer-silent with carrier up", res)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("silent probe took %v, want about Count x Interval (600ms)", took)
	}
	if err := nw.AddAddr(ctx, rig.B); err != nil {
		t.Fatal(err)
	}

	// No link: the peer end is down, nothing is sent.
	if err := nw.SetLink(ctx, rig.B, false); err != nil {
		t.Fatal(err)
	}
	res, err = Probe(ctx, cfg, ifA, peer)
	if err != nil {
		t.Fatal(err)
	}
	if res.State != ProbeNoLink || res.Sent != 0 || res.Carrier != CarrierDown {
		t.Fatalf("probe without carrier: %+v, want no-link, nothing sent", res)
	}
}

func TestIntegrationProbeBadInput(t *testing.T) {
	nw := rig.NetFor(t, rig.NetConfig{})
	ctx := testContext(t, 10*time.Second)
	nsA := ProbeConfig{NetNS: nw.NamespacePath(rig.A)}
	peer := nw.Addr(rig.B).Addr()
	tests := []struct {
		name  string
		cfg   ProbeConfig
		iface string
		peer  netip.Addr
		want  error
	}{
		{"no such interface", nsA, "hknone0", peer, ErrNoSuchInterface},
		{"name too long", nsA, "abcdefghijklmnop", peer, ErrInvalidName},
		{"namespace missing", ProbeConfig{NetNS: "/run/netns/hakit-no-such-ns"}, "lo", peer, ErrNetNS},
		{"no address", nsA, nw.Interface(rig.A), netip.Addr{}, ErrInvalidAddress},
		{"IPv6", nsA, nw.Interface(rig.A), netip.MustParseAddr("fe80::1"), ErrInvalidAddress},
		{"multicast", nsA, nw.Interface(rig.A), netip.MustParseAddr("224.0.0.1"), ErrInvalidAddress},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Probe(ctx, tt.cfg, tt.iface, tt.peer)
			var op *OpError
			if !errors.Is(err, tt.want) || !errors.As(err, &op) || op.Op != "probe" {
				t.Fatalf("Probe = %v, want *OpError wrapping %v", err, tt.want)
			}
			t.Log(err)
		})
	}
	t.Run("no permission", func(t *testing.T) {
		err := dropCaps(t, func() error {
			_, err := Probe(ctx, ProbeConfig{}, "lo", netip.MustParseAddr("127.0.0.1"))
			return err
		})
		if !errors.Is(err, ErrPermission) {
			t.Fatalf("Probe without CAP_NET_RAW = %v, want ErrPermission", err)
		}
		t.Log(err)
	})
}

func TestIntegrationInventory(t *testing.T) {
	ctx := testContext(t, 20*time.Second)
	_, err := Inventory(ctx, InventoryConfig{PCIIDs: filepath.Join(t.TempDir(), "pci.ids")})
	if !errors.Is(err, ErrNoPCIIDs) {
		t.Fatalf("Inventory without a PCI database = %v, want ErrNoPCIIDs", err)
	}
	t.Log(err)
	testutil.SkipUnlessDevice(t, DefaultPCIIDs)
	nics, err := Inventory(ctx, InventoryConfig{Logger: rig.TestLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if len(nics) == 0 {
		t.Fatal("no NICs at all")
	}
	for _, n := range nics {
		t.Logf("%+v", n)
		if _, err := os.Stat(filepath.Join("/sys/class/net", n.Name)); err != nil {
			t.Errorf("inventory lists %s, which /sys/class/net does not have", n.Name)
		}
		if n.PCIAddress != "" && !n.Virtual && n.Vendor == "" {
			t.Errorf("%s: PCI device %s without a vendor name", n.Name, n.PCIAddress)
		}
		if n.Carrier == "" || n.OperState == "" || n.Duplex == "" {
			t.Errorf("%s: empty state fields: %+v", n.Name, n)
		}
	}
}
