package agent

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// MetricsWriter is implemented by components that export their own
// Prometheus series (text exposition format, one "name{labels} value" per
// line, with # HELP and # TYPE).
type MetricsWriter interface {
	WriteMetrics(w io.Writer)
}

// MetricsHandler serves the Prometheus text exposition of the agent's state.
func (a *Agent) MetricsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != PathMetrics {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		a.WriteMetrics(w)
	})
}

// WriteMetrics writes the agent's series.
func (a *Agent) WriteMetrics(w io.Writer) {
	a.mu.Lock()
	fenced := a.guard.Fenced()
	sbd := a.sbd
	disks := make([]DiskStatus, 0, len(a.last))
	for _, s := range a.last {
		disks = append(disks, s)
	}
	a.mu.Unlock()
	sort.Slice(disks, func(i, j int) bool { return disks[i].Device < disks[j].Device })
	m := metricWriter{w: w}
	m.gauge("hakit_fenced", "1 when this node found itself fenced (its key gone from a disk it held).", nil, b2f(fenced))
	m.counter("hakit_events_total", "Events raised by the agent.", nil, float64(a.hub.Last()))
	m.counter("hakit_events_dropped_total", "Events lost by slow event-stream readers.", nil, float64(a.hub.Dropped()))
	series := []struct {
		name, help string
		v          func(DiskStatus) float64
	}{
		{"hakit_disk_up", "1 when the last read of the disk succeeded.", func(s DiskStatus) float64 { return b2f(s.Error == "") }},
		{"hakit_disk_registered", "1 when this node's key is registered on the disk.", func(s DiskStatus) float64 { return b2f(s.Registered) }},
		{"hakit_disk_owner", "1 when this node holds the disk's reservation.", func(s DiskStatus) float64 { return b2f(s.Owner) }},
		{"hakit_disk_peer_registered", "1 when the peer's key is registered on the disk.", func(s DiskStatus) float64 { return b2f(s.PeerRegistered) }},
		{"hakit_disk_pr_generation", "The disk's persistent reservation generation.", func(s DiskStatus) float64 { return float64(s.Generation) }},
	}
	for _, s := range series {
		m.header(s.name, s.help, "gauge")
		for _, d := range disks {
			m.sample(s.name, map[string]string{"device": d.Device}, s.v(d))
		}
	}
	if mb := a.deps.Mailbox; mb != nil && sbd.known {
		// ClusterLabs ha_cluster_exporter's name and labels, so that its
		// dashboards and alerts read hakit's SBD device as they read sbd's.
		status := "healthy"
		if !sbd.healthy {
			status = "unhealthy"
		}
		m.gauge("ha_cluster_sbd_devices", "SBD devices; one line per device, its status healthy when its last read succeeded.", map[string]string{"device": ShownDevice(mb.Device()), "status": status}, 1)
	}
	for _, c := range []Runner{a.deps.Heartbeat, a.deps.NICs, a.deps.RAID} {
		if mw, ok := c.(MetricsWriter); ok {
			mw.WriteMetrics(w)
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// metricWriter writes the Prometheus text format.
type metricWriter struct{ w io.Writer }

func (m metricWriter) header(name, help, typ string) {
	fmt.Fprintf(m.w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
}

func (m metricWriter) gauge(name, help string, labels map[string]string, v float64) {
	m.header(name, help, "gauge")
	m.sample(name, labels, v)
}

func (m metricWriter) counter(name, help string, labels map[string]string, v float64) {
	m.header(name, help, "counter")
	m.sample(name, labels, v)
}

func (m metricWriter) sample(name string, labels map[string]string, v float64) {
	fmt.Fprintf(m.w, "%s%s %s\n", name, FormatLabels(labels), strconv.FormatFloat(v, 'g', -1, 64))
}

// FormatLabels renders {k="v",...} sorted by key, escaping values as the
// exposition format requires; "" for none.
func FormatLabels(labels map[string]string) string {
	if len(labels) == 0 {
		return ""
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteByte('{')
	r := strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=\"%s\"", k, r.Replace(labels[k]))
	}
	b.WriteByte('}')
	return b.String()
}
