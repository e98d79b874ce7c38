package reports_test

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gameday/gameday/reports"
	"github.com/gameday/gameday/reports/reportstest"
	"github.com/gameday/gameday/reports/stats"
)

// syntheticComparison is naive (failing runs) against resilient, 3 repeats,
// interleaved like the orchestrator runs them.
func syntheticComparison(t *testing.T, variants []string, failing map[string]bool) (*reports.Comparison, []*reports.Run) {
	t.Helper()
	c := &reports.Comparison{Scenario: "payment-slowdown", Variants: variants, Repeat: 3, Seed: 1,
		WallSeconds: 400, RunSeconds: 390, OverheadSeconds: 10}
	var records []*reports.Run
	for rep := 1; rep <= 3; rep++ {
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
	c, _ := syntheticComparison(t, []string{"naive", "resilient"}, map[string]bool{"naive": true})
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
	if br := metricByKey(c, "breaker-open"); br.Pairs[0].Better != "" || br.Best != "" {
		t.Errorf("breaker-open: %+v", br.Pairs[0])
	}
	if len(c.Timelines) != 2 || len(c.Timelines[0].Points) < 60 {
		t.Fatalf("timelines: %d", len(c.Timelines))
	}
	for _, p := range c.Timelines[0].Points {
		if p.N != 3 || p.Lo > p.Median || p.Median > p.Hi {
			t.Fatalf("timeline point %+v", p)
		}
	}
	if c.Runs[0].Values["errors:slow-payment"] == nil {
		t.Error("run values not filled")
	}
}

// A/A: the same variant twice, from the same generator with other seeds.
func TestAnalyzeAA(t *testing.T) {
	c, _ := syntheticComparison(t, []string{"resilient", "resilient-again"}, nil)
	for _, m := range c.Metrics {
		for _, p := range m.Pairs {
			if p.Better != "" && m.Key != "retry:slow-payment" {
				t.Errorf("A/A: %s: %s better (%s)", m.Name, p.Better, p.Stats.Method)
			}
		}
	}
}

func TestVariantsHTMLAndJSON(t *testing.T) {
	c, _ := syntheticComparison(t, []string{"naive", "resilient"}, map[string]bool{"naive": true})
	var buf bytes.Buffer
	if err := reports.WriteVariantsHTML(&buf, c); err != nil {
		t.Fatal(err)
	}
	doc := buf.String()
	score, lat, per := strings.Index(doc, `id="s-scorecard"`), strings.Index(doc, `id="s-latency"`), strings.Index(doc, `id="s-metrics"`)
	if score < 0 || lat < score || per < lat {
		t.Errorf("sections out of order: scorecard %d, latency %d, metrics %d", score, lat, per)
	}
	for _, want := range []string{"resilient better than naive", "0/3", "3/3", `class="area"`, `data-name="naive"`,
		`href="naive-1/report.html"`, "harness overhead", "error ratio during slow-payment"} {
		if !strings.Contains(doc, want) {
			t.Errorf("page lacks %q", want)
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
