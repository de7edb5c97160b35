//go:build linux

package niccli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/hakit/hakit/internal/rig"
	"github.com/hakit/hakit/nic"
)

// TestIntegrationRun drives the real nic.System through the command line
// across the rig's veth pair.
func TestIntegrationRun(t *testing.T) {
	nw := rig.NetFor(t, rig.NetConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	ifA, ns := nw.Interface(rig.A), nw.Namespace(rig.A)
	peer := nw.Addr(rig.B).Addr().String()

	var out, errOut bytes.Buffer
	if err := Run(ctx, []string{"status", "--json", "--netns", ns, ifA}, &out, &errOut); err != nil {
		t.Fatalf("status: %v\n%s", err, errOut.String())
	}
	var st nic.Status
	if err := json.Unmarshal(out.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	if st.Name != ifA || st.Carrier != nic.CarrierUp || st.SpeedMbps == nil || *st.SpeedMbps != 10000 {
		t.Errorf("status: %s", out.String())
	}

	out.Reset()
	if err := Run(ctx, []string{"probe", "--json", "--netns", ns, "--iface", ifA, peer}, &out, &errOut); err != nil {
		t.Fatalf("probe: %v", err)
	}
	var res nic.ProbeResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if res.State != nic.ProbeReachable || res.RTT <= 0 {
		t.Errorf("probe: %s", out.String())
	}

	if err := nw.RemoveAddr(ctx, rig.B); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	err := Run(ctx, []string{"probe", "--netns", ns, "--iface", ifA, "--count", "1", "--interval", "300ms", peer}, &out, &errOut)
	if !errors.Is(err, ErrNotReachable) {
		t.Fatalf("probe of a silent peer = %v, want ErrNotReachable", err)
	}
	t.Log(out.String())

	// watch prints the present state, then the change, and with --count 1
	// ends after it.
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, []string{"watch", "--netns", ns, "--count", "1", ifA}, pw, &errOut)
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	if !lines.Scan() || !strings.Contains(lines.Text(), ifA+" present: admin up carrier up") {
		t.Fatalf("watch first line %q, want the present state", lines.Text())
	}
	if err := nw.SetLink(ctx, rig.B, false); err != nil {
		t.Fatal(err)
	}
	if !lines.Scan() || !strings.Contains(lines.Text(), "carrier up->down") {
		t.Fatalf("watch second line %q, want the carrier change", lines.Text())
	}
	for lines.Scan() {
	}
	if err := <-done; err != nil {
		t.Fatalf("watch: %v", err)
	}
}
