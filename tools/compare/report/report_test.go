package report

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
)

func TestMedianP99(t *testing.T) {
	seq := make([]float64, 200)
	for i := range seq {
		seq[i] = float64(200 - i) // 200..1, unsorted
	}
	cases := []struct {
		name     string
		xs       []float64
		mid, p99 float64
	}{
		{"one", []float64{7}, 7, 7},
		{"odd", []float64{3, 1, 2}, 2, 3},
		{"even", []float64{4, 1, 3, 2}, 2.5, 4},
		{"200", seq, 100.5, 198},
		{"outlier", []float64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1000}, 1, 1000},
	}
	for _, c := range cases {
		if got := Median(c.xs); got != c.mid {
			t.Errorf("%s: median %v, want %v", c.name, got, c.mid)
		}
		if got := P99(c.xs); got != c.p99 {
			t.Errorf("%s: p99 %v, want %v", c.name, got, c.p99)
		}
	}
	if !math.IsNaN(Median(nil)) || !math.IsNaN(P99(nil)) {
		t.Error("no samples: want NaN")
	}
	in := []float64{3, 1, 2}
	Median(in)
	if in[0] != 3 {
		t.Error("Median sorted its input")
	}
}

func TestRatio(t *testing.T) {
	cases := []struct {
		peer, hakit, want float64
		ok                bool
	}{
		{100, 4, 25, true},
		{2, 4, 0.5, true},
		{0, 4, 0, true},
		{5, 0, 0, false},
		{5, -1, 0, false},
		{math.NaN(), 1, 0, false},
		{1, math.NaN(), 0, false},
	}
	for _, c := range cases {
		got, ok := Ratio(c.peer, c.hakit)
		if ok != c.ok || got != c.want {
			t.Errorf("Ratio(%v, %v) = %v, %v; want %v, %v", c.peer, c.hakit, got, ok, c.want, c.ok)
		}
	}
}

func TestSummarizeTotal(t *testing.T) {
	s := Metric{Agg: Total, Hakit: []float64{0, 0}, Peer: []float64{2, 3}}.Summarize()
	if s.HakitMid != 0 || s.PeerMid != 5 || s.RatioOK {
		t.Errorf("%+v", s)
	}
	s = Metric{Agg: Total, Hakit: []float64{1}, Peer: []float64{2, 3}}.Summarize()
	if s.Ratio != 5 || !s.RatioOK {
		t.Errorf("%+v", s)
	}
}

func sample() Run {
	return Run{
		Date: "2026-12-03 15:00 UTC", Machine: "2-core test", Load: "1.00 0.50 0.25", Trials: 3,
		Rows: []Row{
			{ID: "1", Title: "Serial heartbeat", Peer: "Heartbeat 3.0.6", HakitConfig: "keepalive 100 ms", PeerConfig: "keepalive 100ms | crc",
				Metrics: []Metric{
					{Name: "detection after cut", Unit: "ms", Agg: Quantiles, Hakit: []float64{501, 502, 503}, Peer: []float64{600, 700, 800}},
					{Name: "false deaths, quiet", Agg: Total, Hakit: []float64{0}, Peer: []float64{1}, Note: "peer flapped"},
				}},
			{ID: "3", Title: "Fencing", Peer: "fence_scsi", HakitConfig: "-", PeerConfig: "-", Missing: "no kernel SCSI device"},
		},
	}
}

func TestText(t *testing.T) {
	var b bytes.Buffer
	if err := sample().Text(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"load average 1.00 0.50 0.25",
		"1. Serial heartbeat: hakit against Heartbeat 3.0.6",
		"detection after cut (ms)  502 / 503",
		"700 / 800",
		"1.39x",
		"false deaths, quiet",
		"note, false deaths, quiet: peer flapped",
		"not run: no kernel SCSI device",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
}

func TestMarkdownAndReplace(t *testing.T) {
	md := sample().Markdown()
	for _, want := range []string{
		"| detection after cut (ms) | 502 / 503 | 700 / 800 | 1.39x |",
		"| false deaths, quiet | 0 | 1 | - |",
		"Heartbeat 3.0.6: keepalive 100ms | crc.",
		"Not run: no kernel SCSI device",
		"2026-12-03 15:00 UTC, 2-core test, load average 1.00 0.50 0.25",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("missing %q in\n%s", want, md)
		}
	}
	readme := "# x\n\n" + BeginMarker + "\nold\n" + EndMarker + "\n\nafter\n"
	got, err := ReplaceSection(readme, "new\n\n")
	if err != nil {
		t.Fatal(err)
	}
	if want := "# x\n\n" + BeginMarker + "\nnew\n" + EndMarker + "\n\nafter\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := ReplaceSection("no markers", "x"); !errors.Is(err, ErrNoMarkers) {
		t.Errorf("err %v", err)
	}
}

func TestNum(t *testing.T) {
	for x, want := range map[float64]string{0: "0", 12: "12", 1234.6: "1235", 12.34: "12.3", 1.234: "1.23", 0.1234: "0.123", -3.5: "-3.50"} {
		if got := num(x); got != want {
			t.Errorf("num(%v) = %q, want %q", x, got, want)
		}
	}
	if num(math.NaN()) != "-" {
		t.Error("NaN")
	}
}
