package reports_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/gameday/gameday/reports"
	"github.com/gameday/gameday/reports/reportstest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// outline renders the element structure of an HTML document: one line per
// element with its id and class, the data attributes the charts are checked
// by, and the text of headings, cells and labels. Path data, scripts and
// styles are left out, so the golden files show structure and content.
func outline(t *testing.T, doc []byte) string {
	t.Helper()
	root, err := html.Parse(bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	keep := map[string]bool{"id": true, "class": true, "data-name": true, "data-series": true, "data-bands": true, "data-fault": true, "for": true, "type": true}
	var walk func(n *html.Node, depth int)
	walk = func(n *html.Node, depth int) {
		switch n.Type {
		case html.ElementNode:
			if n.Data == "style" || n.Data == "script" {
				fmt.Fprintf(&b, "%s<%s>…\n", strings.Repeat(" ", depth), n.Data)
				return
			}
			fmt.Fprintf(&b, "%s<%s", strings.Repeat(" ", depth), n.Data)
			for _, a := range n.Attr {
				if keep[a.Key] {
					fmt.Fprintf(&b, " %s=%q", a.Key, a.Val)
				}
			}
			b.WriteString(">\n")
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				walk(c, depth+1)
			}
			return
		case html.TextNode:
			if s := strings.Join(strings.Fields(n.Data), " "); s != "" {
				if len(s) > 100 {
					s = s[:100] + "…"
				}
				fmt.Fprintf(&b, "%s%q\n", strings.Repeat(" ", depth), s)
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, depth)
		}
	}
	walk(root, 0)
	return b.String()
}

func golden(t *testing.T, name string, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./reports -update to create it)", err)
	}
	if string(want) != got {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) && i < len(wl); i++ {
			if gl[i] != wl[i] {
				t.Fatalf("%s differs at line %d:\n got %s\nwant %s\n(run go test ./reports -update if the change is intended)", path, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("%s differs in length: got %d lines, want %d (go test ./reports -update)", path, len(gl), len(wl))
	}
}

func render(t testing.TB, r *reports.Run) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := reports.WriteHTML(&buf, r); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestHTMLGolden(t *testing.T) {
	t.Parallel()
	for name, r := range map[string]*reports.Run{
		"report-pass": reportstest.Short(),
		"report-fail": reportstest.New(reportstest.Options{Failing: true}),
	} {
		t.Run(name, func(t *testing.T) {
			doc := render(t, r)
			if again := render(t, r); !bytes.Equal(doc, again) {
				t.Fatal("two renders of the same record differ: the report is not deterministic")
			}
			golden(t, name+".html", outline(t, doc))
		})
	}
}

func TestHTMLOrderAndContent(t *testing.T) {
	t.Parallel()
	r := reportstest.New(reportstest.Options{Failing: true})
	r.Abort = &reports.Abort{Condition: "gameday:error:ratio10s > 0.5", FiredAt: 75, Observed: 0.61}
	doc := string(render(t, r))
	// The sections come in the order the reader needs them.
	order := []string{`id="verdict"`, `id="s-latency"`, `id="s-throughput"`, `id="s-faults"`, `id="s-slos"`, `id="s-requests"`, `id="s-spectrum"`, `id="s-recovery"`, `id="s-appendix"`}
	last := -1
	for _, s := range order {
		i := strings.Index(doc, s)
		if i < 0 {
			t.Fatalf("section %s missing", s)
		}
		if i < last {
			t.Errorf("section %s is out of order", s)
		}
		last = i
	}
	for _, want := range []string{
		`SLO “checkout p99 during slowdown” failed during slow-payment: first breach at t=29.0 s: 1.25 s, worst 1.42 s; expected &lt; 1.2.`,
		`Recovery “availability” failed after kill-orders: recovered after 14.0 s; expected &lt; 10s.`,
		`Aborted at 1:15`,
		`data-fault="slow-payment"`, `data-fault="kill-orders"`,
		`class="band-label"`, `class="phase"`, `class="bound"`, `class="phase abort"`,
		`apiVersion: gameday/v1`, `sha256:4f2a9c0d1e7b`,
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// The latency chart has its three series and one band per fault.
	m := regexp.MustCompile(`<figure class="chart" id="latency">[\s\S]*?</figure>`).FindString(doc)
	if strings.Count(m, `class="band-label"`) != 2 || !strings.Contains(m, `data-name="p99"`) || !strings.Contains(m, `data-name="max"`) {
		t.Errorf("latency chart lacks bands or series")
	}
}

// TestHTMLSelfContained checks the report loads nothing from elsewhere.
func TestHTMLSelfContained(t *testing.T) {
	t.Parallel()
	doc := string(render(t, reportstest.Short()))
	for _, re := range []string{`<link\b`, `\bsrc=`, `@import`, `url\(`, `https?://[^"\s]*\.(js|css|woff2?|png)`} {
		if loc := regexp.MustCompile(re).FindStringIndex(doc); loc != nil {
			t.Errorf("report refers to an outside resource (%s): %q", re, doc[max(0, loc[0]-40):min(len(doc), loc[1]+40)])
		}
	}
	if !strings.Contains(doc, "<svg") || !strings.Contains(doc, "<script>") {
		t.Error("report has no inline SVG or script")
	}
}

func TestHTMLHourSize(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("short mode")
	}
	doc := render(t, reportstest.Hour())
	if len(doc) > 3<<20 {
		t.Errorf("report of a one-hour run is %d bytes, want < 3 MB", len(doc))
	}
	// Downsampling: no time chart draws more than 600 points.
	for _, m := range regexp.MustCompile(`data-px="([^"]*)"`).FindAllStringSubmatch(string(doc), -1) {
		if n := strings.Count(m[1], ",") + 1; n > 601 {
			t.Errorf("a chart series has %d points", n)
		}
	}
}

func TestHTMLMinimalRecord(t *testing.T) {
	// A record of a run that failed before load started still renders.
	r := &reports.Run{SchemaVersion: reports.SchemaVersion, Verdict: reports.VerdictError, Reason: "deploy: payment did not become ready"}
	doc := string(render(t, r))
	if !strings.Contains(doc, "deploy: payment did not become ready") || !strings.Contains(doc, "ERROR") {
		t.Error("minimal report lacks verdict and reason")
	}
}

func TestHTMLNotInjectedFaultIsNotShaded(t *testing.T) {
	r := reportstest.Short()
	r.Faults[1].InjectedAt, r.Faults[1].RevertedAt = nil, nil
	doc := string(render(t, r))
	m := regexp.MustCompile(`<figure class="chart" id="latency">[\s\S]*?</figure>`).FindString(doc)
	if n := strings.Count(m, `class="band-label"`); n != 1 {
		t.Errorf("latency chart has %d fault bands, want 1 (kill-orders was never injected)", n)
	}
	if !strings.Contains(doc, "not injected") {
		t.Error("fault table does not say kill-orders was not injected")
	}
}
