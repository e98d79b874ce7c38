package reports_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gameday/gameday/reports"
	"github.com/gameday/gameday/reports/reportstest"
	"github.com/gameday/gameday/reports/stats"
)

// syntheticComparison is naive (failing runs) against resilient, repeat
// runs each, interleaved like the orchestrator runs them.
func syntheticComparison(t *testing.T, variants []string, failing map[string]bool, repeat int) (*reports.Comparison, []*reports.Run) {
	t.Helper()
	c := &reports.Comparison{Scenario: "payment-slowdown", Variants: variants, Repeat: repeat, Seed: 1,
		WallSeconds: 400, RunSeconds: 390, OverheadSeconds: 10}
	var records []*reports.Run
	for rep := 1; rep <= repeat; rep++ {
		for vi, v := range variants {
			seed := uint64(rep*10 + vi)
			r := reportstest.New(reportstest.Options{Failing: failing[v], Seed: seed, Duration: 90e9})
			r.Variant = v
			amp := 1.0
			if !failing[v] {
				amp = 1.3 + 0.01*float64(rep)
			}
			r.Shop = &reports.Shop{BreakerOpenSeconds: float64(rep)}
			for _, f := range r.Faults {
				a := amp
				r.Shop.Faults = append(r.Shop.Faults, reports.ShopFault{Fault: f.Name, RetryAmplification: &a})
			}
			records = append(records, r)
			c.Runs = append(c.Runs, reports.ComparedRun{Variant: v, Repeat: rep, Seed: int64(seed), ID: r.ID, Dir: v + "-" + string(rune('0'+rep)),
				Verdict: r.Verdict, WallSeconds: 130})
		}
	}
	if err := c.Analyze(records, stats.Options{Seed: 1}); err != nil {
		t.Fatal(err)
	}
	return c, records
}

func metricByKey(c *reports.Comparison, key string) *reports.VariantMetric {
	for i := range c.Metrics {
		if c.Metrics[i].Key == key {
			return &c.Metrics[i]
		}
	}
	return nil
}

func TestAnalyzeVariants(t *testing.T) {
	c, _ := syntheticComparison(t, []string{"naive", "resilient"}, map[string]bool{"naive": true}, 5)
	for _, key := range []string{"slo-pass", "p99:slow-payment", "errors:slow-payment", "retry:slow-payment",
		"recovery:kill-orders:availability", "breaker-open"} {
		if metricByKey(c, key) == nil {
			t.Errorf("no metric %q", key)
		}
	}
	pass := metricByKey(c, "slo-pass")
	if pass == nil || pass.Variants[0].Mean != 0 || pass.Variants[1].Mean != 1 {
		t.Fatalf("pass rates: %+v", pass)
	}
	if pass.Best != "resilient" || pass.Pairs[0].Better != "resilient" {
		t.Errorf("pass rate: best %q, pair %+v", pass.Best, pass.Pairs[0])
	}
	rec := metricByKey(c, "recovery:kill-orders:availability")
	if rec.Variants[0].Median != 14 || rec.Variants[1].Median != 6.5 || rec.Pairs[0].Better != "resilient" {
		t.Errorf("recovery: %+v", rec)
	}
	// Retries amplify: resilient has the higher (worse) amplification.
	if amp := metricByKey(c, "retry:slow-payment"); amp.Pairs[0].Better != "naive" {
		t.Errorf("retry amplification: %+v", amp.Pairs[0])
	}
	// Identical breaker times: no difference.
	if br := metricByKey(c, "breaker-open"); br.Pairs[0].Better != "" || br.Best != "" || br.Pairs[0].Stats.Verdict != stats.NoDifference {
		t.Errorf("breaker-open: %+v", br.Pairs[0])
	}
	if len(c.Timelines) != 2 || len(c.Timelines[0].Points) < 60 {
		t.Fatalf("timelines: %d", len(c.Timelines))
	}
	for _, p := range c.Timelines[0].Points {
		if p.N != 5 || p.Lo > p.Median || p.Median > p.Hi {
			t.Fatalf("timeline point %+v", p)
		}
	}
	if c.Runs[0].Values["errors:slow-payment"] == nil {
		t.Error("run values not filled")
	}
}

// A/A: the same variant twice, from the same generator with other seeds.
func TestAnalyzeAA(t *testing.T) {
	c, _ := syntheticComparison(t, []string{"resilient", "resilient-again"}, nil, 5)
	for _, m := range c.Metrics {
		for _, p := range m.Pairs {
			if p.Better != "" && m.Key != "retry:slow-payment" {
				t.Errorf("A/A: %s: %s better (%s)", m.Name, p.Better, p.Stats.Method)
			}
		}
	}
}

func TestVariantsHTMLAndJSON(t *testing.T) {
	c, _ := syntheticComparison(t, []string{"naive", "resilient"}, map[string]bool{"naive": true}, 6)
	var buf bytes.Buffer
	if err := reports.WriteVariantsHTML(&buf, c); err != nil {
		t.Fatal(err)
	}
	doc := buf.String()
	score, lat, per := strings.Index(doc, `id="s-scorecard"`), strings.Index(doc, `id="s-latency"`), strings.Index(doc, `id="s-metrics"`)
	if score < 0 || lat < score || per < lat {
		t.Errorf("sections out of order: scorecard %d, latency %d, metrics %d", score, lat, per)
	}
	for _, want := range []string{"resilient better than naive", "0/6", "6/6", `class="area"`, `data-name="naive"`,
		`href="naive-1/report.html"`, "harness overhead", "error ratio during slow-payment",
		"naive vs resilient: no significant difference", "with its 95 % bootstrap interval", "], 95 %"} {
		if !strings.Contains(doc, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, not := range []string{"too few runs to tell</li>", `id="too-few"`, "range,"} {
		if strings.Contains(doc, not) {
			t.Errorf("page of 6 repeats says %q", not)
		}
	}
	path := filepath.Join(t.TempDir(), "compare.json")
	if err := c.Save(path); err != nil {
		t.Fatal(err)
	}
	back, err := reports.LoadComparison(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Metrics) != len(c.Metrics) || back.Metrics[0].Pairs[0].Stats.Verdict != c.Metrics[0].Pairs[0].Stats.Verdict {
		t.Errorf("round trip lost metrics")
	}
	if err := reports.WriteVariantsHTML(&bytes.Buffer{}, &reports.Comparison{}); err == nil {
		t.Error("rendered a comparison of no variants")
	}
}

func scorecard(t *testing.T, doc string) string {
	t.Helper()
	i, j := strings.Index(doc, `id="s-scorecard"`), strings.Index(doc, `id="s-latency"`)
	if i < 0 || j < i {
		t.Fatalf("no scorecard section")
	}
	return doc[i:j]
}

// Issue #12: one run a side (3.00 s against 533 ms) cannot be tested, so no
// row may say "no significant difference": every verdict says "too few runs
// to tell", the page says how many repeats could tell, and no interval is
// printed from one run (a zero-width one would read as exact).
func TestVariantsOneRunEach(t *testing.T) {
	c, _ := syntheticComparison(t, []string{"naive", "resilient"}, map[string]bool{"naive": true}, 1)
	p99 := metricByKey(c, "p99:slow-payment")
	if p99 == nil || p99.Variants[0].N != 1 || p99.Variants[0].CI != nil {
		t.Fatalf("p99 metric: %+v", p99)
	}
	if c.MinRepeat != 4 || c.Alpha != 0.05 {
		t.Errorf("minimum repeat %d at alpha %v, want 4 at 0.05", c.MinRepeat, c.Alpha)
	}
	for _, m := range c.Metrics {
		for _, p := range m.Pairs {
			if p.Stats.Verdict != stats.TooFewRuns || p.Better != "" || p.Verdict != "naive vs resilient: too few runs to tell" {
				t.Errorf("%s: %q (%s: %s)", m.Name, p.Verdict, p.Stats.Verdict, p.Stats.Method)
			}
		}
	}
	var buf bytes.Buffer
	if err := reports.WriteVariantsHTML(&buf, c); err != nil {
		t.Fatal(err)
	}
	doc := buf.String()
	sc := scorecard(t, doc)
	if n, want := strings.Count(sc, "naive vs resilient: too few runs to tell"), len(c.Metrics); n != want {
		t.Errorf("scorecard: %d rows say too few runs to tell, want %d", n, want)
	}
	for _, not := range []string{"no significant difference</", "better than naive", "better than resilient", "≈", "same"} {
		if strings.Contains(doc, not) {
			t.Errorf("page of 1 run a side says %q", not)
		}
	}
	for _, want := range []string{"no interval from 1 run", "none from 1 run", `id="too-few"`,
		"1 repeat: with 1 v 1 runs the smallest p-value Mann-Whitney U can give is 1, above alpha 0.05", "4 repeats are the fewest that can show one",
		"no 95 % interval of a median exists from fewer than 6 runs"} {
		if !strings.Contains(doc, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	path := filepath.Join(t.TempDir(), "compare.json")
	if err := c.Save(path); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	js := string(raw)
	if strings.Contains(js, "no significant difference") || !strings.Contains(js, `"verdict": "too few runs to tell"`) ||
		!strings.Contains(js, `"minRepeat": 4`) || strings.Contains(js, `"ci"`) {
		t.Errorf("compare.json of 1 run a side:\n%.3000s", js)
	}
}

// Three runs a side: still too few at 5 % (smallest p 0.1), and the
// intervals are the runs' ranges, which hold the median with 75 %, not 95 %.
func TestVariantsThreeRunsEach(t *testing.T) {
	c, _ := syntheticComparison(t, []string{"naive", "resilient"}, map[string]bool{"naive": true}, 3)
	var buf bytes.Buffer
	if err := reports.WriteVariantsHTML(&buf, c); err != nil {
		t.Fatal(err)
	}
	doc := buf.String()
	for _, want := range []string{"3 repeats: with 3 v 3 runs the smallest p-value Mann-Whitney U can give is 0.1", "range, 75 %", "the range of 3 runs, 75 %",
		"every run of one beat every run of the other: p = 0.1"} {
		if !strings.Contains(doc, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if sc := scorecard(t, doc); strings.Contains(sc, "no significant difference</") || strings.Contains(sc, "better than naive") || strings.Contains(sc, "better than resilient") {
		t.Errorf("scorecard of 3 runs a side claims a verdict")
	}
}
