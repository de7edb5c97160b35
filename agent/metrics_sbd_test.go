package agent

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// flakyMailbox answers Start, then fails Check while down is set.
type flakyMailbox struct{ down atomic.Bool }

func (*flakyMailbox) Device() string { return "/dev/sbd0" }
func (*flakyMailbox) Start(context.Context) (time.Duration, MailboxMessage, error) {
	return 100 * time.Millisecond, MailboxMessage{Msg: "clear"}, nil
}
func (f *flakyMailbox) Check(context.Context) (MailboxMessage, error) {
	if f.down.Load() {
		return MailboxMessage{}, errors.New("read: input/output error")
	}
	return MailboxMessage{Msg: "clear"}, nil
}
func (*flakyMailbox) Beat(context.Context, string, string) ([]DiskPeer, error) {
	return nil, ErrSlotPending
}

// The SBD device's health is exported under ha_cluster_exporter's name
// (ha_cluster_sbd_devices{device,status} 1): no line before the first
// read, healthy after a good one, unhealthy after a failed one.
func TestMetricsSBDDevices(t *testing.T) {
	dir := t.TempDir()
	cfg, err := ParseConfig("a", []byte(fmt.Sprintf("node: {name: a, id: 1}\npeer: {name: b, id: 2}\ncluster: {id: 7}\napi: {socket: %s}\nstate_dir: %s\nself_fence: {action: event}\n", filepath.Join(dir, "a.sock"), dir)))
	if err != nil {
		t.Fatal(err)
	}
	mb := &flakyMailbox{}
	a, err := New(cfg, Deps{Mailbox: mb})
	if err != nil {
		t.Fatal(err)
	}
	sample := func() string {
		var b strings.Builder
		a.WriteMetrics(&b)
		p := expfmt.NewTextParser(model.LegacyValidation)
		fams, err := p.TextToMetricFamilies(strings.NewReader(b.String()))
		if err != nil {
			t.Fatalf("metrics do not parse: %v\n%s", err, b.String())
		}
		f, ok := fams["ha_cluster_sbd_devices"]
		if !ok {
			return ""
		}
		if f.GetType() != dto.MetricType_GAUGE || len(f.GetMetric()) != 1 || f.GetMetric()[0].GetGauge().GetValue() != 1 {
			t.Fatalf("ha_cluster_sbd_devices: %v", f)
		}
		labels := map[string]string{}
		for _, l := range f.GetMetric()[0].GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		return labels["device"] + " " + labels["status"]
	}
	if got := sample(); got != "" {
		t.Errorf("before the first read: %q, want no line", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- a.watchMailbox(ctx, mb) }()
	defer func() { cancel(); <-done }()
	waitSample := func(want string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for got := sample(); got != want; got = sample() {
			if time.Now().After(deadline) {
				t.Fatalf("ha_cluster_sbd_devices %q, want %q", got, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitSample("/dev/sbd0 healthy")
	mb.down.Store(true)
	waitSample("/dev/sbd0 unhealthy")
	mb.down.Store(false)
	waitSample("/dev/sbd0 healthy")
}
