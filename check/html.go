package check

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// svgBar is one bar of a chart, in the picture's coordinates.
type svgBar struct {
	X, Y, W, H float64
	Class      string
	Title      string
}

// svgChart is a chart laid out for the page: bars and axis texts.
type svgChart struct {
	W, H             float64
	Bars             []svgBar
	Left, Right, Top string
	Caption          string
}

const (
	chartW, chartH = 360.0, 90.0
	histogramBins  = 24
)

// histogram counts values into bins equal bins from their least to their
// greatest value.
func histogram(values []float64, bins int) (counts []int, lo, hi float64) {
	if len(values) == 0 || bins <= 0 {
		return nil, 0, 0
	}
	lo, hi = slices.Min(values), slices.Max(values)
	counts = make([]int, bins)
	for _, v := range values {
		i := 0
		if hi > lo {
			i = min(bins-1, int((v-lo)/(hi-lo)*float64(bins)))
		}
		counts[i]++
	}
	return counts, lo, hi
}

func num(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "?"
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 1:
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.3f", v)
}

// layoutChart lays a chart out as bars: a histogram of the samples, or one
// bar per round coloured by its label's first letter (A, B, other). nil
// when there is nothing to draw.
func layoutChart(c *Chart) *svgChart {
	if c == nil || len(c.Values) == 0 {
		return nil
	}
	s := &svgChart{W: chartW, H: chartH}
	plotH := chartH - 16
	switch c.Kind {
	case ChartHistogram:
		counts, lo, hi := histogram(c.Values, histogramBins)
		top := slices.Max(counts)
		w := chartW / float64(len(counts))
		for i, n := range counts {
			h := plotH * float64(n) / float64(top)
			from := lo + (hi-lo)*float64(i)/float64(len(counts))
			to := lo + (hi-lo)*float64(i+1)/float64(len(counts))
			s.Bars = append(s.Bars, svgBar{X: float64(i) * w, Y: plotH - h, W: max(w-1, 1), H: h, Class: "bar", Title: fmt.Sprintf("%d of %d between %s and %s %s", n, len(c.Values), num(from), num(to), c.Unit)})
		}
		s.Left, s.Right, s.Top = num(lo)+" "+c.Unit, num(hi)+" "+c.Unit, fmt.Sprintf("%d", top)
		s.Caption = fmt.Sprintf("distribution of %d samples", len(c.Values))
	default:
		top := slices.Max(c.Values)
		if top <= 0 {
			top = 1
		}
		w := chartW / float64(len(c.Values))
		for i, v := range c.Values {
			h := plotH * v / top
			label := ""
			if i < len(c.Labels) {
				label = c.Labels[i]
			}
			class := "bar"
			switch {
			case strings.HasPrefix(label, "A"):
				class = "bar a"
			case strings.HasPrefix(label, "B"):
				class = "bar b"
			}
			s.Bars = append(s.Bars, svgBar{X: float64(i) * w, Y: plotH - h, W: max(w-1, 1), H: h, Class: class, Title: fmt.Sprintf("%d: %s %s %s", i+1, label, num(v), c.Unit)})
		}
		s.Left, s.Right, s.Top = "1", fmt.Sprintf("%d", len(c.Values)), num(top)+" "+c.Unit
		s.Caption = "time per round (A this node won, B the peer; * asked first)"
		if len(c.Labels) > 0 && strings.HasPrefix(c.Labels[0], "disk") {
			s.Caption = "time per disk"
		}
	}
	return s
}

type htmlRow struct {
	Result
	ID    string
	Took  string
	Chart *svgChart
}

type htmlGroup struct {
	Name string
	Rows []htmlRow
}

var htmlPage = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>hwcheck report: {{.Node}} / {{.Peer}}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em;text-transform:uppercase;letter-spacing:.05em}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.35em .5em;vertical-align:top;text-align:left}
.v{font-weight:bold;text-transform:uppercase;white-space:nowrap;border-radius:3px;padding:0 .4em;color:#fff}
.pass{background:#2e7d32}.warn{background:#ef8f00}.fail{background:#c62828}.skip{background:#757575}
.fix{color:#555;font-style:italic}.took{white-space:nowrap;color:#555}
svg .bar{fill:#6d8fbf}svg .bar.a{fill:#1565c0}svg .bar.b{fill:#ef6c00}svg text{font-size:10px;fill:#555}
.counts span{margin-right:1em}
</style></head><body>
<h1>hwcheck report: <span id="pair">{{.Node}} / {{.Peer}}</span></h1>
<p>Started {{.Started}}, took {{.Took}}.</p>
<p class="counts"><span class="v pass">{{.Pass}} pass</span><span class="v warn">{{.Warn}} warn</span><span class="v fail">{{.Fail}} fail</span><span class="v skip">{{.Skip}} skip</span></p>
{{range .Groups}}<h2>{{.Name}}</h2>
<table><tr><th>result</th><th>test</th><th>measured</th><th>time</th></tr>
{{range .Rows}}<tr class="test" id="{{.ID}}" data-verdict="{{.Verdict}}"><td><span class="v {{.Verdict}}">{{.Verdict}}</span></td><td class="name">{{.Name}}</td>
<td>{{.Measured}}{{if .Hint}}<div class="fix">fix: {{.Hint}}</div>{{end}}{{with .Chart}}
<div><svg width="{{.W}}" height="{{.H}}" viewBox="0 0 {{.W}} {{.H}}" role="img"><title>{{.Caption}}</title>
{{range .Bars}}<rect class="{{.Class}}" x="{{.X}}" y="{{.Y}}" width="{{.W}}" height="{{.H}}"><title>{{.Title}}</title></rect>{{end}}
<text x="0" y="{{.H}}">{{.Left}}</text><text x="{{.W}}" y="{{.H}}" text-anchor="end">{{.Right}}</text><text x="{{.W}}" y="10" text-anchor="end">max {{.Top}}</text></svg>
<div class="took">{{.Caption}}</div></div>{{end}}</td><td class="took">{{.Took}}</td></tr>
{{end}}</table>
{{end}}</body></html>
`))

// WriteHTML writes the report as one self-contained page (no external
// assets): the pair, each test with its verdict, what it measured, the
// fix, and small charts (latency distribution, arbitration rounds).
func (r Report) WriteHTML(w io.Writer) error {
	var groups []htmlGroup
	for i, c := range r.Results {
		if len(groups) == 0 || groups[len(groups)-1].Name != c.Group {
			groups = append(groups, htmlGroup{Name: c.Group})
		}
		g := &groups[len(groups)-1]
		g.Rows = append(g.Rows, htmlRow{Result: c, ID: fmt.Sprintf("t%d", i), Took: c.Duration.Round(time.Microsecond).String(), Chart: layoutChart(c.Chart)})
	}
	return htmlPage.Execute(w, map[string]any{
		"Node": r.Node, "Peer": r.Peer, "Started": r.Started.UTC().Format(time.RFC3339), "Took": r.Duration.Round(time.Millisecond).String(),
		"Pass": r.Counts[Pass], "Warn": r.Counts[Warn], "Fail": r.Counts[Fail], "Skip": r.Counts[Skip], "Groups": groups,
	})
}
