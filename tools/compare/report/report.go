// Package report holds the pure part of make compare: the statistics of a
// row's trials (median, p99, the peer-to-hakit ratio), the table printed at
// the end of a run, its JSON form and the README table generated from it.
// It does no I/O beyond the writers it is given.
package report

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Agg says how a metric's samples are summed up.
type Agg string

const (
	// Quantiles: median and p99 of the samples (times, CPU).
	Quantiles Agg = "quantiles"
	// Total: the sum of the samples (counts such as false deaths).
	Total Agg = "total"
)

// Metric is one line of a row: the same quantity measured on hakit and on
// the peer, lower being better for both.
type Metric struct {
	Name  string    `json:"name"`
	Unit  string    `json:"unit"`
	Agg   Agg       `json:"agg"`
	Hakit []float64 `json:"hakit"`
	Peer  []float64 `json:"peer"`
	// Note qualifies the line (e.g. the peer never reached a steady state).
	Note string `json:"note,omitempty"`
}

// Row is one comparison: hakit against one peer, each with what it was
// configured with.
type Row struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Peer        string   `json:"peer"`
	HakitConfig string   `json:"hakit_config"`
	PeerConfig  string   `json:"peer_config"`
	Metrics     []Metric `json:"metrics"`
	// Missing says what this row could not run and why ("" when it ran).
	Missing string `json:"missing,omitempty"`
}

// Run is one make compare run.
type Run struct {
	Date    string `json:"date"`
	Machine string `json:"machine"`
	Load    string `json:"load_average"`
	Trials  int    `json:"trials"`
	Short   bool   `json:"short"`
	Rows    []Row  `json:"rows"`
}

// Median is the middle sample (the mean of the two middle ones for an even
// count); NaN without samples.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// P99 is the nearest-rank 99th percentile: the smallest sample that at
// least 99 % of the samples do not exceed (the maximum below 100 samples);
// NaN without samples.
func P99(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Sorted(slices.Values(xs))
	rank := int(math.Ceil(0.99 * float64(len(s))))
	return s[max(rank, 1)-1]
}

// Sum adds the samples.
func Sum(xs []float64) float64 {
	var t float64
	for _, x := range xs {
		t += x
	}
	return t
}

// Ratio is peer / hakit: how many times hakit's figure the peer's is. ok is
// false when it means nothing: a missing side, or hakit's figure not
// positive.
func Ratio(peer, hakit float64) (r float64, ok bool) {
	if math.IsNaN(peer) || math.IsNaN(hakit) || hakit <= 0 || peer < 0 {
		return 0, false
	}
	return peer / hakit, true
}

// Summary is a metric reduced to the figures of the table.
type Summary struct {
	HakitMid, HakitP99, PeerMid, PeerP99 float64
	Ratio                                float64
	RatioOK                              bool
}

// Summarize reduces m by its Agg.
func (m Metric) Summarize() Summary {
	var s Summary
	if m.Agg == Total {
		s.HakitMid, s.PeerMid = math.NaN(), math.NaN()
		if len(m.Hakit) > 0 {
			s.HakitMid = Sum(m.Hakit)
		}
		if len(m.Peer) > 0 {
			s.PeerMid = Sum(m.Peer)
		}
		s.HakitP99, s.PeerP99 = math.NaN(), math.NaN()
	} else {
		s.HakitMid, s.HakitP99 = Median(m.Hakit), P99(m.Hakit)
		s.PeerMid, s.PeerP99 = Median(m.Peer), P99(m.Peer)
	}
	s.Ratio, s.RatioOK = Ratio(s.PeerMid, s.HakitMid)
	return s
}

// num formats a figure: "-" for NaN, integers as integers, else with at
// most three significant decimals that matter.
func num(x float64) string {
	switch {
	case math.IsNaN(x):
		return "-"
	case x == math.Trunc(x) && math.Abs(x) < 1e9:
		return strconv.FormatFloat(x, 'f', 0, 64)
	case math.Abs(x) >= 100:
		return strconv.FormatFloat(x, 'f', 0, 64)
	case math.Abs(x) >= 10:
		return strconv.FormatFloat(x, 'f', 1, 64)
	case math.Abs(x) >= 1:
		return strconv.FormatFloat(x, 'f', 2, 64)
	}
	return strconv.FormatFloat(x, 'f', 3, 64)
}

func ratio(s Summary) string {
	if !s.RatioOK {
		return "-"
	}
	return num(s.Ratio) + "x"
}

// pair is "median / p99", or the total.
func pair(mid, p99 float64, agg Agg) string {
	if agg == Total {
		return num(mid)
	}
	return num(mid) + " / " + num(p99)
}

func (m Metric) label() string {
	l := m.Name
	if m.Unit != "" {
		l += " (" + m.Unit + ")"
	}
	return l
}

func (m Metric) samples() string {
	if m.Agg == Total {
		return fmt.Sprintf("%d+%d runs", len(m.Hakit), len(m.Peer))
	}
	return fmt.Sprintf("n=%d+%d", len(m.Hakit), len(m.Peer))
}

// Text writes the table make compare prints: per row its configuration,
// then per metric hakit's and the peer's median / p99 (or total) and the
// ratio peer / hakit.
func (r Run) Text(w io.Writer) error {
	fmt.Fprintf(w, "make compare: %s, %s, load average %s, %s\n", r.Date, r.Machine, r.Load, r.form())
	for _, row := range r.Rows {
		fmt.Fprintf(w, "\n%s. %s: hakit against %s\n", row.ID, row.Title, row.Peer)
		fmt.Fprintf(w, "   hakit: %s\n   %s: %s\n", row.HakitConfig, row.Peer, row.PeerConfig)
		if row.Missing != "" {
			fmt.Fprintf(w, "   not run: %s\n", row.Missing)
			continue
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "   metric\thakit median / p99\t%s median / p99\tratio\tsamples\n", row.Peer)
		for _, m := range row.Metrics {
			s := m.Summarize()
			fmt.Fprintf(tw, "   %s\t%s\t%s\t%s\t%s\n", m.label(), pair(s.HakitMid, s.HakitP99, m.Agg), pair(s.PeerMid, s.PeerP99, m.Agg), ratio(s), m.samples())
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		for _, m := range row.Metrics {
			if m.Note != "" {
				fmt.Fprintf(w, "   note, %s: %s\n", m.Name, m.Note)
			}
		}
	}
	_, err := fmt.Fprintf(w, "\nratio: the peer's median (or total) divided by hakit's; lower is better on every line\n")
	return err
}

func (r Run) form() string {
	if r.Short {
		return fmt.Sprintf("short form (%d trials a setting)", r.Trials)
	}
	return fmt.Sprintf("%d trials a setting", r.Trials)
}

func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// Markdown is the README's comparison section body: when and where it was
// measured, then per row the configurations and a table.
func (r Run) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Measured by `make compare` on %s, %s, load average %s at the start, %s; trials interleaved (hakit, peer, hakit, peer...). Each cell is median / p99, or a total for counts; the ratio is the peer's figure divided by hakit's (lower is better everywhere).\n", r.Date, r.Machine, r.Load, r.form())
	for _, row := range r.Rows {
		fmt.Fprintf(&b, "\n**%s. %s: hakit against %s.** hakit: %s. %s: %s.\n", row.ID, row.Title, row.Peer, strings.TrimSuffix(row.HakitConfig, "."), row.Peer, strings.TrimSuffix(row.PeerConfig, "."))
		if row.Missing != "" {
			fmt.Fprintf(&b, "Not run: %s\n", row.Missing)
			continue
		}
		fmt.Fprintf(&b, "\n| metric | hakit | %s | ratio |\n|---|---|---|---|\n", cell(row.Peer))
		for _, m := range row.Metrics {
			s := m.Summarize()
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", cell(m.label()), pair(s.HakitMid, s.HakitP99, m.Agg), pair(s.PeerMid, s.PeerP99, m.Agg), ratio(s))
		}
		for _, m := range row.Metrics {
			if m.Note != "" {
				fmt.Fprintf(&b, "\n%s: %s\n", m.Name, m.Note)
			}
		}
	}
	return b.String()
}

// README markers around the generated section.
const (
	BeginMarker = "<!-- make compare: begin (generated by tools/compare --readme, do not edit) -->"
	EndMarker   = "<!-- make compare: end -->"
)

// ErrNoMarkers: the README has no generated section to replace.
var ErrNoMarkers = errors.New("report: README has no make compare markers")

// ReplaceSection puts body between the markers of readme.
func ReplaceSection(readme, body string) (string, error) {
	i := strings.Index(readme, BeginMarker)
	j := strings.Index(readme, EndMarker)
	if i < 0 || j < i {
		return "", ErrNoMarkers
	}
	return readme[:i+len(BeginMarker)] + "\n" + strings.TrimRight(body, "\n") + "\n" + readme[j:], nil
}
