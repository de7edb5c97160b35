package niccli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hakit/hakit/nic"
	"github.com/hakit/hakit/nic/nictest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func fakeHost() *nictest.Host {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	hb := nictest.UpLink(3, "eth1")
	hb.FirmwareVersion, hb.BusInfo, hb.DriverVersion = "0.13-4", "0000:00:19.0", "6.1.0"
	c := uint32(2)
	hb.CarrierChanges, hb.CarrierUpCount, hb.CarrierDownCount = &c, &c, new(uint32)
	fails := uint32(1)
	hb.Master = &nic.Membership{Master: "bond0", MasterKind: "bond", Member: "eth1", MemberCarrier: nic.CarrierUp, MemberOper: nic.OperUp, BondState: "active", MIIStatus: "up", LinkFailures: &fails}
	veth := nic.Status{Link: nic.Link{Index: 2, Name: "hk1a", Kind: "veth", AdminUp: true, Carrier: nic.CarrierDown, OperState: nic.OperLowerLayerDown, MTU: 1500}, Duplex: nic.DuplexUnknown, Autoneg: nic.AutonegUnknown}
	h := nictest.New(func() time.Time { return t0 }, hb, veth)
	h.SetPeer(netip.MustParseAddr("169.254.0.2"), 87*time.Microsecond)
	speed := 1000
	h.SetNICs(
		nic.NIC{Name: "eth1", MAC: "02:00:00:00:00:03", PCIAddress: "0000:00:19.0", Vendor: "Intel Corporation", Product: "82579LM Gigabit Network Connection", Driver: "e1000e", Carrier: nic.CarrierUp, OperState: nic.OperUp, SpeedMbps: &speed, Duplex: nic.DuplexFull},
		nic.NIC{Name: "ifb0", Virtual: true, Driver: "ifb", Carrier: nic.CarrierUnknown, OperState: nic.OperDown, Duplex: nic.DuplexUnknown},
	)
	return h
}

func fakeCommand(h *nictest.Host) Command {
	return Command{NewHost: func(string, int, time.Duration) nic.Host { return h }}
}

func TestRunGolden(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr error
	}{
		{"help", []string{"--help"}, nil},
		{"no-command", nil, ErrUsage},
		{"unknown-command", []string{"frobnicate"}, ErrUsage},
		{"status", []string{"status", "eth1"}, nil},
		{"status-json", []string{"status", "--json", "eth1"}, nil},
		{"status-unknowns", []string{"status", "--netns", "b", "hk1a"}, nil},
		{"status-help", []string{"status", "--help"}, nil},
		{"status-no-arg", []string{"status"}, ErrUsage},
		{"status-missing", []string{"status", "eth9"}, nic.ErrNoSuchInterface},
		{"status-too-long", []string{"status", "abcdefghijklmnop"}, nic.ErrInvalidName},
		{"probe", []string{"probe", "--iface", "eth1", "169.254.0.2"}, nil},
		{"probe-json", []string{"probe", "--json", "--iface", "eth1", "169.254.0.2"}, nil},
		{"probe-silent", []string{"probe", "--iface", "eth1", "169.254.0.9"}, ErrNotReachable},
		{"probe-no-link", []string{"probe", "--iface", "hk1a", "169.254.0.2"}, ErrNotReachable},
		{"probe-no-iface", []string{"probe", "169.254.0.2"}, ErrUsage},
		{"probe-bad-peer", []string{"probe", "--iface", "eth1", "peer"}, ErrUsage},
		{"probe-help", []string{"probe", "--help"}, nil},
		{"inventory", []string{"inventory"}, nil},
		{"inventory-json", []string{"inventory", "--json"}, nil},
		{"inventory-netns", []string{"inventory", "--netns", "b"}, ErrUsage},
		{"watch-help", []string{"watch", "--help"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			var stdout, stderr bytes.Buffer
			err := fakeCommand(fakeHost()).Run(ctx, tt.args, &stdout, &stderr)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Run(%q) = %v, want %v", tt.args, err, tt.wantErr)
			}
			got := stdout.String() + "--- stderr\n" + stderr.String()
			if err != nil {
				got += "--- error\n" + err.Error() + "\n"
			}
			golden(t, tt.name, got)
		})
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("output differs from %s (-want +got):\n%s", path, diff)
	}
}

func TestWatch(t *testing.T) {
	for _, asJSON := range []bool{false, true} {
		name := "watch"
		args := []string{"watch", "--count", "2", "eth1"}
		if asJSON {
			name += "-json"
			args = append([]string{"watch", "--json"}, args[1:]...)
		}
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			h := fakeHost()
			var stdout, stderr bytes.Buffer
			done := make(chan error, 1)
			go func() { done <- fakeCommand(h).Run(ctx, args, &stdout, &stderr) }()
			for h.Watchers() == 0 {
				time.Sleep(time.Millisecond)
			}
			if err := h.SetCarrier("eth1", false); err != nil {
				t.Fatal(err)
			}
			if err := h.SetCarrier("eth1", true); err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			golden(t, name, stdout.String()+"--- stderr\n"+stderr.String())
		})
	}
}
