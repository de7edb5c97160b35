package check

import (
	"bytes"
	"context"
	"github.com/hakit/hakit/internal/testutil"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestHistogram(t *testing.T) {
	for _, tc := range []struct {
		in     []float64
		bins   int
		counts []int
	}{
		{[]float64{1, 2, 3, 4}, 2, []int{2, 2}},
		{[]float64{5, 5, 5}, 3, []int{3, 0, 0}},
		{[]float64{0, 10}, 5, []int{1, 0, 0, 0, 1}},
		{nil, 4, nil},
	} {
		got, _, _ := histogram(tc.in, tc.bins)
		if !slices.Equal(got, tc.counts) {
			t.Errorf("histogram(%v, %d) = %v, want %v", tc.in, tc.bins, got, tc.counts)
		}
	}
}

func TestLayoutChart(t *testing.T) {
	if layoutChart(nil) != nil || layoutChart(&Chart{Kind: ChartRounds}) != nil {
		t.Error("a chart without values laid out")
	}
	h := layoutChart(&Chart{Kind: ChartHistogram, Unit: "ms", Values: []float64{0.1, 0.2, 0.2, 9}})
	if len(h.Bars) != histogramBins || h.Left != "0.100 ms" || h.Right != "9.00 ms" {
		t.Errorf("histogram layout %+v", h)
	}
	r := layoutChart(&Chart{Kind: ChartRounds, Unit: "ms", Values: []float64{1, 2, 0}, Labels: []string{"A", "B*", "none"}})
	if len(r.Bars) != 3 || r.Bars[0].Class != "bar a" || r.Bars[1].Class != "bar b" || r.Bars[2].Class != "bar" || r.Bars[1].H <= r.Bars[0].H || r.Bars[2].H != 0 {
		t.Errorf("rounds layout %+v", r.Bars)
	}
	for _, b := range append(h.Bars, r.Bars...) {
		if b.X < 0 || b.Y < 0 || b.X+b.W > chartW+0.001 || b.Y+b.H > chartH {
			t.Errorf("bar outside the picture: %+v", b)
		}
	}
}

// sampleReport has every verdict, both chart kinds and text that needs
// escaping.
func sampleReport() Report {
	r := Report{Node: "node-a", Peer: "node-b", Started: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC), Duration: 3 * time.Second, Counts: map[Verdict]int{}}
	for _, x := range []Result{
		{Group: "latency", Name: "disk 0 latency (this node)", Verdict: Pass, Measured: "100 READs, p50 150µs", Chart: &Chart{Kind: ChartHistogram, Unit: "ms", Values: []float64{0.1, 0.15, 0.2, 3}}},
		{Group: "arbitration", Name: "Multiple Arbitration (PR)", Verdict: Pass, Measured: "20 rounds", Chart: &Chart{Kind: ChartRounds, Unit: "ms", Values: []float64{0.3, 0.4}, Labels: []string{"A", "B*"}}},
		{Group: "scsi3", Name: "PREEMPT AND ABORT", Verdict: Warn, Measured: "refused <24/00> & more", Hint: "prefer a target that supports it"},
		{Group: "timeouts", Name: "serial deadtime vs corosync (node-a)", Verdict: Fail, Measured: "deadtime 30s", Hint: "lower timers.deadtime_ms"},
		{Group: "timeouts", Name: "watchdog vs self-fence path (node-a)", Verdict: Skip, Measured: "self_fence.action event", Hint: "set it"},
	} {
		r.Results = append(r.Results, x)
		r.Counts[x.Verdict]++
	}
	return r
}

var tags = regexp.MustCompile(`<[^>]*>`)

// domText is the text of a page or DOM dump, tags removed and entities
// decoded.
func domText(dom string) string { return html.UnescapeString(tags.ReplaceAllString(dom, " ")) }

func TestWriteHTML(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport().WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	checkPage(t, page, sampleReport())
	if strings.Contains(page, "<24/00>") || !strings.Contains(page, "&lt;24/00&gt;") {
		t.Error("measured text not escaped")
	}
	if strings.Count(page, "<svg") != 2 {
		t.Errorf("%d charts, want 2", strings.Count(page, "<svg"))
	}
}

// checkPage checks a page (or its DOM) for the pair, every test with its
// verdict, and no external asset.
func checkPage(t *testing.T, page string, r Report) {
	t.Helper()
	text := domText(page)
	if !strings.Contains(text, r.Node+" / "+r.Peer) {
		t.Errorf("the pair %s / %s is not in the page", r.Node, r.Peer)
	}
	for _, x := range r.Results {
		if !strings.Contains(text, x.Name) {
			t.Errorf("test %q is not in the page", x.Name)
		}
	}
	for v, n := range r.Counts {
		if got := strings.Count(page, `data-verdict="`+string(v)+`"`); got != n {
			t.Errorf("%d rows marked %s, want %d", got, v, n)
		}
	}
	for _, ext := range []string{"src=", "href=", "url(", "<link", "@import", "http://", "https://"} {
		if strings.Contains(page, ext) {
			t.Errorf("the page refers to an external asset (%q)", ext)
		}
	}
}

// renderInChromium loads a page in headless chromium and returns its DOM.
func renderInChromium(t *testing.T, path string) string {
	t.Helper()
	testutil.SkipUnlessTools(t, "chromium")
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--user-data-dir="+t.TempDir(), "--dump-dom", "file://"+abs)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v: %s", err, errb.String())
	}
	return out.String()
}

// The page renders in a real browser with the pair and every test.
func TestHTMLInChromium(t *testing.T) {
	r := sampleReport()
	p := filepath.Join(t.TempDir(), "report.html")
	if err := writeFile(p, r.WriteHTML); err != nil {
		t.Fatal(err)
	}
	dom := renderInChromium(t, p)
	checkPage(t, dom, r)
	if !strings.Contains(dom, "<svg") || !strings.Contains(dom, "<rect") {
		t.Error("the charts are not in the DOM")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
}
