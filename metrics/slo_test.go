package metrics

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"
)

func TestEvaluateEndMode(t *testing.T) {
	e := startEmbedded(t, EmbeddedConfig{})
	// 0..19 s: 0.1; 20..29 s: 0.9 (a slowdown); 30..59 s: 0.1 again.
	vals := append(append(repeat(0.1, 20), repeat(0.9, 10)...), repeat(0.1, 30)...)
	appendSeries(t, e, sli(), 0, vals...)
	q := e.Querier()
	ctx := context.Background()

	cases := []struct {
		name      string
		query     string
		bound     string
		start     time.Time
		end       time.Time
		pass      bool
		observed  float64
		samples   int
		minSample int
	}{
		{"value at window end holds", "sli", "< 0.5", at(0), at(19), true, 0.1, 20, 0},
		{"value at window end breaks", "sli", "< 0.5", at(20), at(29), false, 0.9, 10, 0},
		{"only the end matters", "sli", "< 0.5", at(0), at(40), true, 0.1, 41, 0},
		{"query carries its range", "max_over_time(sli[30s])", "< 0.5", at(10), at(40), false, 0.9, 31, 0},
		{"query range past the spike", "max_over_time(sli[9s])", "< 0.5", at(10), at(40), true, 0.1, 31, 0},
		{"no start: one sample at end", "sli", "<= 0.1", time.Time{}, at(5), true, 0.1, 1, 0},
		{"min samples met", "sli", "< 0.5", at(0), at(19), true, 0.1, 20, 20},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := ParseBound(tc.bound)
			if err != nil {
				t.Fatal(err)
			}
			r := Evaluate(ctx, q, Check{Name: tc.name, Query: tc.query, Bound: b, Start: tc.start, End: tc.end, Mode: ModeEnd, MinSamples: tc.minSample})
			if r.Pass != tc.pass || math.Abs(r.Observed-tc.observed) > 1e-9 || r.Samples != tc.samples {
				t.Fatalf("got pass=%v observed=%v samples=%d (%s), want pass=%v observed=%v samples=%d",
					r.Pass, r.Observed, r.Samples, r.Reason, tc.pass, tc.observed, tc.samples)
			}
			if !tc.start.IsZero() && len(r.Series) != tc.samples {
				t.Fatalf("series has %d points, want %d", len(r.Series), tc.samples)
			}
			if r.Reason == "" {
				t.Fatal("empty reason")
			}
		})
	}
}

func TestEvaluateContinuous(t *testing.T) {
	e := startEmbedded(t, EmbeddedConfig{})
	// error ratio: 0.01 everywhere, except a 3 s blip at 10..12 s and a
	// 8 s breach at 30..37 s.
	vals := repeat(0.01, 60)
	for i := 10; i <= 12; i++ {
		vals[i] = 0.2
	}
	for i := 30; i <= 37; i++ {
		vals[i] = 0.4
	}
	appendSeries(t, e, sli(), 0, vals...)
	q := e.Querier()
	ctx := context.Background()
	b, _ := ParseBound("< 0.05")

	cases := []struct {
		name       string
		start, end time.Time
		forDur     time.Duration
		pass       bool
		observed   float64
		reason     string
	}{
		{"clean window", at(0), at(9), 0, true, 0.01, "worst observed 0.01 holds"},
		{"any broken step fails", at(0), at(20), 0, false, 0.2, "breaks < 0.05 at 2026-01-02T10:00:10Z"},
		{"blip shorter than for", at(0), at(20), 5 * time.Second, true, 0.2, "never broken for 5s"},
		{"breach longer than for", at(0), at(50), 5 * time.Second, false, 0.4, "continuously from 2026-01-02T10:00:30Z to 2026-01-02T10:00:35Z"},
		{"breach exactly for (Prometheus for semantics)", at(25), at(50), 7 * time.Second, false, 0.4, "to 2026-01-02T10:00:37Z"},
		{"breach shorter than a longer for", at(25), at(50), 8 * time.Second, true, 0.4, "never broken for 8s"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := Evaluate(ctx, q, Check{Name: tc.name, Query: "sli", Bound: b, Start: tc.start, End: tc.end, Mode: ModeContinuous, For: tc.forDur})
			if r.Pass != tc.pass || math.Abs(r.Observed-tc.observed) > 1e-9 {
				t.Fatalf("got pass=%v observed=%v (%s), want pass=%v observed=%v", r.Pass, r.Observed, r.Reason, tc.pass, tc.observed)
			}
			if !strings.Contains(r.Reason, tc.reason) {
				t.Fatalf("reason %q does not contain %q", r.Reason, tc.reason)
			}
			if want := int(tc.end.Sub(tc.start)/time.Second) + 1; r.Samples != want {
				t.Fatalf("samples = %d, want %d", r.Samples, want)
			}
		})
	}
}

// TestEvaluateFirstBreachAndWorstAreApart: a failed continuous check
// reports both the first breach (where it broke) and the worst value (what
// Observed holds), so that no view mistakes one for the other.
func TestEvaluateFirstBreachAndWorstAreApart(t *testing.T) {
	e := startEmbedded(t, EmbeddedConfig{})
	vals := repeat(0.01, 60)
	vals[10] = 0.2 // the first breach
	for i := 30; i <= 37; i++ {
		vals[i] = 0.4 // the worst
	}
	appendSeries(t, e, sli(), 0, vals...)
	b, _ := ParseBound("< 0.05")
	for _, tc := range []struct {
		name      string
		forDur    time.Duration
		at        time.Time
		firstV    float64
		observedW float64
	}{
		{"any step", 0, at(10), 0.2, 0.4},
		{"for 5s: the streak that lasted", 5 * time.Second, at(30), 0.4, 0.4},
	} {
		r := Evaluate(context.Background(), e.Querier(), Check{Name: "c", Query: "sli", Bound: b, Start: at(0), End: at(50), Mode: ModeContinuous, For: tc.forDur})
		if r.Pass || r.FirstBreach == nil {
			t.Fatalf("%s: pass=%v first breach %v", tc.name, r.Pass, r.FirstBreach)
		}
		if !r.FirstBreach.T.Equal(tc.at) || r.FirstBreach.V != tc.firstV || r.Observed != tc.observedW {
			t.Errorf("%s: first breach %v at %v, worst %v; want %v at %v, worst %v", tc.name, r.FirstBreach.V, r.FirstBreach.T, r.Observed, tc.firstV, tc.at, tc.observedW)
		}
	}
	r := Evaluate(context.Background(), e.Querier(), Check{Name: "c", Query: "sli", Bound: b, Start: at(0), End: at(9), Mode: ModeContinuous})
	if !r.Pass || r.FirstBreach != nil {
		t.Errorf("clean window: pass=%v first breach %v", r.Pass, r.FirstBreach)
	}
}

func TestEvaluateBaselineRelative(t *testing.T) {
	e := startEmbedded(t, EmbeddedConfig{})
	// p99 latency: about 0.2 s in the baseline (0..19 s), 0.28 s during a
	// mild fault (20..39 s), 0.5 s during a bad one (40..59 s).
	var vals []float64
	for i := range 20 {
		vals = append(vals, 0.19+0.02*float64(i%2)) // mean 0.2
	}
	vals = append(vals, repeat(0.28, 20)...)
	vals = append(vals, repeat(0.5, 20)...)
	appendSeries(t, e, sli("scenario", "checkout"), 0, vals...)
	q := e.Querier()
	ctx := context.Background()

	baseline, n, err := MeasureBaseline(ctx, q, "sli", at(0), at(19), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(baseline-0.2) > 1e-9 || n != 20 {
		t.Fatalf("baseline = %v over %d steps, want 0.2 over 20", baseline, n)
	}
	b, err := ParseBound("< 1.5 * baseline")
	if err != nil {
		t.Fatal(err)
	}
	mild := Evaluate(ctx, q, Check{Query: "sli", Bound: b, Start: at(20), End: at(39), Mode: ModeContinuous, Baseline: &baseline})
	if !mild.Pass {
		t.Fatalf("0.28 < 1.5 × 0.2 should hold: %s", mild.Reason)
	}
	bad := Evaluate(ctx, q, Check{Query: "sli", Bound: b, Start: at(40), End: at(59), Mode: ModeContinuous, Baseline: &baseline})
	if bad.Pass || !strings.Contains(bad.Reason, "breaks < 0.3") {
		t.Fatalf("0.5 < 1.5 × 0.2 should break with the resolved bound in the reason: %+v", bad)
	}
	missing := Evaluate(ctx, q, Check{Query: "sli", Bound: b, Start: at(40), End: at(59)})
	if missing.Pass || !strings.Contains(missing.Reason, "no baseline") {
		t.Fatalf("relative bound without baseline must fail: %+v", missing)
	}
	if _, _, err := MeasureBaseline(ctx, q, "nothing_here", at(0), at(19), time.Second); err == nil || !strings.Contains(err.Error(), "no data") {
		t.Fatalf("baseline without data: err = %v, want no data", err)
	}
}

func TestEvaluateNoDataNeverPasses(t *testing.T) {
	e := startEmbedded(t, EmbeddedConfig{})
	appendSeries(t, e, sli(), 0, 1, 1, 1) // 0..2 s
	// A ratio over no traffic: 0/0.
	appendSeries(t, e, map[string]string{"__name__": "errs"}, 0, repeat(0, 30)...)
	appendSeries(t, e, map[string]string{"__name__": "reqs"}, 0, repeat(0, 30)...)
	q := e.Querier()
	ctx := context.Background()
	lt, _ := ParseBound("< 10")
	gt, _ := ParseBound(">= 0")

	cases := []struct {
		name string
		c    Check
		want string
	}{
		{"missing metric, end", Check{Query: "absent_metric", Bound: lt, Start: at(0), End: at(2)}, "no data"},
		{"missing metric, continuous", Check{Query: "absent_metric", Bound: lt, Start: at(0), End: at(2), Mode: ModeContinuous}, "no data"},
		{"too few samples, end", Check{Query: "sli", Bound: lt, Start: at(0), End: at(2), MinSamples: 10}, "no data: only 3 of the required 10"},
		{"too few samples, continuous", Check{Query: "sli", Bound: lt, Start: at(0), End: at(2), Mode: ModeContinuous, MinSamples: 4}, "no data: only 3 of the required 4"},
		{"0/0 is no data", Check{Query: "rate(errs[10s]) / rate(reqs[10s])", Bound: gt, Start: at(10), End: at(20), Mode: ModeContinuous}, "no data"},
		{"empty comparison result", Check{Query: "sli > 5", Bound: lt, Start: at(0), End: at(2)}, "no data"},
		{"query error", Check{Query: "sum(", Bound: lt, Start: at(0), End: at(2)}, "parse error"},
		{"range vector", Check{Query: "sli[5s]", Bound: lt, End: at(2)}, "range vector"},
		{"bad mode", Check{Query: "sli", Bound: lt, End: at(2), Mode: "sometimes"}, "not valid"},
		{"zero bound", Check{Query: "sli", End: at(2)}, "is not one of"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := Evaluate(ctx, q, tc.c)
			if r.Pass {
				t.Fatalf("passed: %+v", r)
			}
			if !strings.Contains(r.Reason, tc.want) {
				t.Fatalf("reason %q does not contain %q", r.Reason, tc.want)
			}
		})
	}
}

func TestEvaluateEverySeriesMustHold(t *testing.T) {
	e := startEmbedded(t, EmbeddedConfig{})
	appendSeries(t, e, sli("scenario", "browse"), 0, repeat(0.999, 10)...)
	appendSeries(t, e, sli("scenario", "checkout"), 0, repeat(0.95, 10)...)
	q := e.Querier()
	ctx := context.Background()
	b, _ := ParseBound(">= 99%")
	for _, mode := range []string{ModeEnd, ModeContinuous} {
		r := Evaluate(ctx, q, Check{Query: "sli", Bound: b, Start: at(0), End: at(9), Mode: mode})
		if r.Pass || r.Observed != 0.95 || !strings.Contains(r.Reason, `checkout`) {
			t.Fatalf("%s: want a failure naming checkout with observed 0.95, got %+v", mode, r)
		}
		if len(r.Series) != 10 || r.Series[0].V != 0.95 {
			t.Fatalf("%s: series should carry the worst value per step: %v", mode, r.Series)
		}
	}
	r := Evaluate(ctx, q, Check{Query: `sli{scenario="browse"}`, Bound: b, Start: at(0), End: at(9)})
	if !r.Pass {
		t.Fatalf("browse alone holds: %+v", r)
	}
}

func TestRecoveryTime(t *testing.T) {
	e := startEmbedded(t, EmbeddedConfig{})
	// Fault 10..19 s (ratio 0.5). Recovery flaps: good at 22 s only, bad
	// 23..25 s, good from 26 s on. A second SLI never recovers.
	vals := append(repeat(0.0, 10), repeat(0.5, 10)...)
	vals = append(vals, 0.5, 0.5, 0.0, 0.5, 0.5, 0.5)
	vals = append(vals, repeat(0.0, 34)...)
	appendSeries(t, e, sli(), 0, vals...)
	appendSeries(t, e, map[string]string{"__name__": "stuck"}, 0, repeat(0.5, 60)...)
	q := e.Querier()
	ctx := context.Background()
	b, _ := ParseBound("< 0.1")

	cases := []struct {
		name        string
		query       string
		faultEnd    time.Time
		consecutive int
		want        time.Duration
		recovered   bool
	}{
		{"flap does not count", "sli", at(20), 3, 6 * time.Second, true},
		{"single good step counts with consecutive 1", "sli", at(20), 1, 2 * time.Second, true},
		{"already within bound", "sli", at(30), 5, 0, true},
		{"never recovers", "stuck", at(20), 3, 39 * time.Second, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, ok, err := RecoveryTime(ctx, q, tc.query, b, tc.faultEnd, at(59), tc.consecutive, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if d != tc.want || ok != tc.recovered {
				t.Fatalf("got %s recovered=%v, want %s recovered=%v", d, ok, tc.want, tc.recovered)
			}
		})
	}
	if _, _, err := RecoveryTime(ctx, q, "absent_metric", b, at(20), at(59), 3, time.Second); err == nil || !strings.Contains(err.Error(), "no data") {
		t.Fatalf("want no data error, got %v", err)
	}
	rel, _ := ParseBound("< 2 * baseline")
	if _, _, err := RecoveryTime(ctx, q, "sli", rel, at(20), at(59), 3, time.Second); err == nil {
		t.Fatal("relative bound must be resolved first")
	}
	// The recovery time itself is asserted with a duration bound.
	db, _ := ParseDurationBound("< 10s")
	if !db.Holds((6 * time.Second).Seconds()) || db.Holds((39 * time.Second).Seconds()) {
		t.Fatal("duration bound < 10s")
	}
}
