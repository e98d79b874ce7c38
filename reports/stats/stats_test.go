package stats_test

import (
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gameday/gameday/reports/stats"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestMedianQuantile(t *testing.T) {
	for _, tc := range []struct {
		xs   []float64
		want float64
	}{
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{7}, 7},
	} {
		if got := stats.Median(tc.xs); got != tc.want {
			t.Errorf("Median(%v) = %v, want %v", tc.xs, got, tc.want)
		}
	}
	if !math.IsNaN(stats.Median(nil)) {
		t.Error("Median(nil) is not NaN")
	}
	xs := []float64{10, 20, 30, 40, 50}
	if got := stats.Quantile(xs, 0.25); got != 20 {
		t.Errorf("Quantile 0.25 = %v, want 20", got)
	}
	if got := stats.Quantile(xs, 0.9); !near(got, 46, 1e-12) {
		t.Errorf("Quantile 0.9 = %v, want 46", got)
	}
	in := []float64{3, 1, 2}
	stats.Median(in)
	if in[0] != 3 || in[1] != 1 {
		t.Errorf("Median modified its input: %v", in)
	}
}

// The exact distribution of U for 3 against 3 has 20 equally likely splits
// with counts 1 1 2 3 3 3 3 2 1 1 for U = 0…9.
func TestMannWhitneyExactHandComputed(t *testing.T) {
	for _, tc := range []struct {
		name    string
		a, b    []float64
		u, p    float64
		minP    float64
		aLarger bool
	}{
		{"separated", []float64{1, 2, 3}, []float64{4, 5, 6}, 0, 2.0 / 20, 2.0 / 20, false},
		{"separated other way", []float64{9, 8, 7}, []float64{1, 2, 3}, 9, 2.0 / 20, 2.0 / 20, true},
		// ranks 1 3 5 → U = 9 - 6 = 3; |U-4.5| ≥ 1.5 for U ≤ 3 or U ≥ 6: 14 of 20.
		{"interleaved", []float64{1, 3, 5}, []float64{2, 4, 6}, 3, 14.0 / 20, 2.0 / 20, false},
		// ties: pooled ranks 1.5 1.5 3.5 3.5 5.5 5.5; A has 1.5 1.5 3.5 → U = 0.5;
		// as extreme: rank sums ≤ 6.5 (2 splits) or ≥ 14.5 (2 splits).
		{"ties", []float64{1, 1, 2}, []float64{2, 3, 3}, 0.5, 4.0 / 20, 4.0 / 20, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := stats.MannWhitneyU(tc.a, tc.b)
			if err != nil {
				t.Fatal(err)
			}
			if !res.Exact {
				t.Error("small samples not tested exactly")
			}
			if res.U != tc.u || !near(res.P, tc.p, 1e-12) || !near(res.MinP, tc.minP, 1e-12) {
				t.Errorf("U = %v p = %v minP = %v, want U = %v p = %v minP = %v", res.U, res.P, res.MinP, tc.u, tc.p, tc.minP)
			}
		})
	}
	// 5 against 5: the smallest two-sided p is 2/252.
	res, err := stats.MannWhitneyU([]float64{1, 2, 3, 4, 5}, []float64{6, 7, 8, 9, 10})
	if err != nil {
		t.Fatal(err)
	}
	if !near(res.P, 2.0/252, 1e-12) || !near(res.MinP, 2.0/252, 1e-12) {
		t.Errorf("5 v 5 separated: p = %v minP = %v, want %v", res.P, res.MinP, 2.0/252)
	}
	if _, err := stats.MannWhitneyU(nil, []float64{1}); err == nil {
		t.Error("empty sample accepted")
	}
}

func TestMannWhitneyNormalHandComputed(t *testing.T) {
	seq := func(from, n int) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = float64(from + i)
		}
		return out
	}
	// 15 against 15, separated: U = 0, mean 112.5, variance 15·15·31/12.
	res, err := stats.MannWhitneyU(seq(1, 15), seq(16, 15))
	if err != nil {
		t.Fatal(err)
	}
	z := (112.5 - 0.5) / math.Sqrt(15*15*31/12.0)
	want := math.Erfc(z / math.Sqrt2)
	if res.Exact || res.U != 0 || !near(res.P, want, want*1e-9) {
		t.Errorf("separated: exact %v U %v p %v, want normal U 0 p %v", res.Exact, res.U, res.P, want)
	}

	// Ties: A = ten 1s and five 2s, B = five 2s and ten 3s. Mid-ranks 5.5,
	// 15.5, 25.5; R1 = 55 + 77.5 = 132.5, U = 12.5; tie term 3·(10³-10).
	a := append(repeat(1, 10), repeat(2, 5)...)
	b := append(repeat(2, 5), repeat(3, 10)...)
	res, err = stats.MannWhitneyU(a, b)
	if err != nil {
		t.Fatal(err)
	}
	variance := 15 * 15 / 12.0 * (31 - 3*(1000-10)/(30.0*29))
	z = (100 - 0.5) / math.Sqrt(variance)
	want = math.Erfc(z / math.Sqrt2)
	if res.U != 12.5 || !near(res.P, want, want*1e-9) {
		t.Errorf("ties: U %v p %v, want U 12.5 p %v", res.U, res.P, want)
	}

	// All equal: nothing to tell apart.
	res, err = stats.MannWhitneyU(repeat(4, 20), repeat(4, 20))
	if err != nil || res.P != 1 {
		t.Errorf("all equal: p = %v, err %v; want 1", res.P, err)
	}
}

func repeat(v float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func TestBootstrapDeterministic(t *testing.T) {
	xs := []float64{12, 15, 11, 30, 14, 13, 18, 16, 12, 25}
	a := stats.BootstrapMedian(xs, 0.95, 1000, 42)
	b := stats.BootstrapMedian(xs, 0.95, 1000, 42)
	if a != b {
		t.Errorf("same seed, different intervals: %v %v", a, b)
	}
	if m := stats.Median(xs); a.Lo > m || a.Hi < m || a.Lo >= a.Hi {
		t.Errorf("interval %v does not surround the median %v", a, m)
	}
	one := stats.BootstrapMedian([]float64{5}, 0.95, 100, 1)
	if one.Lo != 5 || one.Hi != 5 {
		t.Errorf("one value: %v", one)
	}
	if e := stats.BootstrapMedian(nil, 0.95, 100, 1); !math.IsNaN(e.Lo) {
		t.Errorf("no values: %v", e)
	}
}

// The 95 % interval of the median should cover the true median about 95 %
// of the time (the percentile bootstrap is a little liberal for small n).
func TestBootstrapCoverage(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	const trials, n = 300, 25
	covered := 0
	for i := 0; i < trials; i++ {
		xs := make([]float64, n)
		for j := range xs {
			xs[j] = 10 + 2*rng.NormFloat64()
		}
		ci := stats.BootstrapMedian(xs, 0.95, 500, uint64(i))
		if ci.Lo <= 10 && 10 <= ci.Hi {
			covered++
		}
	}
	rate := float64(covered) / trials
	if rate < 0.88 || rate > 0.995 {
		t.Errorf("coverage %.3f, want about 0.95", rate)
	}
	t.Logf("coverage of the 95%% interval: %.3f", rate)
}

func lognormal(rng *rand.Rand, n int, mu float64) []float64 {
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = math.Exp(mu + 0.5*rng.NormFloat64())
	}
	return xs
}

// The A/A guard: samples of one distribution must come out "no significant
// difference", at most about as often as the rule's false-positive rate.
func TestAAGuard(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		n       int
		maxRate float64
	}{
		{3, 0},    // too few runs to tell: never a difference
		{5, 0.08}, // exact Mann-Whitney at 5 %
		{30, 0.08},
	} {
		const trials = 300
		fp := 0
		for i := 0; i < trials; i++ {
			c := stats.Compare(lognormal(rng, tc.n, 0), lognormal(rng, tc.n, 0), true, stats.Options{Seed: uint64(i), Resamples: 400})
			if c.Significant() {
				fp++
			}
		}
		rate := float64(fp) / trials
		t.Logf("A/A, %d v %d: false-positive rate %.3f", tc.n, tc.n, rate)
		if rate > tc.maxRate {
			t.Errorf("A/A %d v %d: false-positive rate %.3f > %.2f", tc.n, tc.n, rate, tc.maxRate)
		}
	}
	// And the same fixed sample twice is never a difference: too few runs
	// to tell at 3, no significant difference at 5.
	xs := []float64{0.1, 0.12, 0.09, 0.11, 0.1}
	if c := stats.Compare(xs[:3], xs[:3], true, stats.Options{}); c.Verdict != stats.TooFewRuns {
		t.Errorf("identical samples of 3: %s (%s)", c.Verdict, c.Method)
	}
	if c := stats.Compare(xs, xs, true, stats.Options{}); c.Verdict != stats.NoDifference {
		t.Errorf("identical samples of 5: %s (%s)", c.Verdict, c.Method)
	}
}

func TestShiftedIsSignificant(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	a, b := lognormal(rng, 5, 0), lognormal(rng, 5, 3)
	c := stats.Compare(a, b, true, stats.Options{Seed: 1})
	if c.Verdict != stats.ABetter {
		t.Errorf("A much lower, lower is better: %s (%s)", c.Verdict, c.Method)
	}
	if c := stats.Compare(a, b, false, stats.Options{Seed: 1}); c.Verdict != stats.BBetter {
		t.Errorf("A much lower, higher is better: %s (%s)", c.Verdict, c.Method)
	}
	if !c.Test.Exact || c.Test.P > 0.05 {
		t.Errorf("5 v 5 shifted: %+v", c.Test)
	}

	// 4 runs each: error ratios of a naive and a resilient design, every
	// naive run worse: p = 2/70.
	naive := []float64{0.31, 0.36, 0.29, 0.33}
	resilient := []float64{0.004, 0.0, 0.011, 0.002}
	c = stats.Compare(naive, resilient, true, stats.Options{Seed: 9})
	if c.Verdict != stats.BBetter || !near(c.Test.P, 2.0/70, 1e-12) {
		t.Errorf("naive v resilient, 4 v 4: %s (%s)", c.Verdict, c.Method)
	}
	if c.A.Median != 0.32 || c.B.Median != 0.003 {
		t.Errorf("medians %v %v", c.A.Median, c.B.Median)
	}
	// Overlapping 4 v 4 samples: the test could have told, and did not.
	if c := stats.Compare([]float64{1, 2, 4, 7}, []float64{3, 5, 6, 8}, true, stats.Options{}); c.Verdict != stats.NoDifference {
		t.Errorf("overlapping 4 v 4: %s (%s)", c.Verdict, c.Method)
	}
	if c := stats.Compare(nil, []float64{1}, true, stats.Options{}); c.Significant() || c.Verdict != stats.TooFewRuns || !strings.HasPrefix(c.Method, "not enough data") {
		t.Errorf("empty: %+v", c)
	}
}

// Issue #12: 1, 2 or 3 runs a side can never be significant at 5 %, so the
// verdict is "too few runs to tell", never "no significant difference",
// however far apart the runs are (3.00 s against 533 ms).
func TestCompareTooFewRuns(t *testing.T) {
	slow := []float64{3001, 2998, 3004, 3002}
	fast := []float64{533, 540, 529, 536}
	for n := 1; n <= 3; n++ {
		c := stats.Compare(slow[:n], fast[:n], true, stats.Options{})
		if c.Verdict != stats.TooFewRuns || c.Significant() {
			t.Errorf("%d v %d: %s (%s), want %q", n, n, c.Verdict, c.Method, stats.TooFewRuns)
		}
		if c.MinRuns != 4 || !strings.Contains(c.Method, "4 v 4 is the least") {
			t.Errorf("%d v %d: minimum runs %d, method %q", n, n, c.MinRuns, c.Method)
		}
		if sep := strings.Contains(c.Method, "every run of one beat every run of the other"); sep != (n > 1) {
			t.Errorf("%d v %d: method %q (separation noted: %v)", n, n, c.Method, sep)
		}
	}
	// Unequal sizes (runs without the metric): 5 v 3 can reach 5 %
	// (2/56), 4 v 3 cannot (2/35).
	if c := stats.Compare(append(slow, 2997), fast[:3], true, stats.Options{}); c.Verdict != stats.BBetter {
		t.Errorf("5 v 3: %s (%s)", c.Verdict, c.Method)
	}
	if c := stats.Compare(slow, fast[:3], true, stats.Options{}); c.Verdict != stats.TooFewRuns {
		t.Errorf("4 v 3: %s (%s)", c.Verdict, c.Method)
	}
	// At alpha 0.01, 4 v 4 is too few (2/70 > 0.01) and 5 v 5 is needed.
	c := stats.Compare(slow, fast, true, stats.Options{Alpha: 0.01})
	if c.Verdict != stats.TooFewRuns || c.MinRuns != 5 || !strings.Contains(c.Method, "5 v 5 is the least") {
		t.Errorf("4 v 4 at alpha 0.01: %s (%s), minimum %d", c.Verdict, c.Method, c.MinRuns)
	}
}

// MinP is the test's own smallest p for the sizes: what MannWhitneyU gives
// for a complete separation, on both sides of the exact/normal switch
// (10 v 10 is exact, 11 v 11 the normal approximation).
func TestMinPAndMinRuns(t *testing.T) {
	seq := func(from, n int) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = float64(from + i)
		}
		return out
	}
	for n1 := 1; n1 <= 12; n1++ {
		for _, n2 := range []int{n1, n1 + 1} {
			res, err := stats.MannWhitneyU(seq(0, n1), seq(100, n2))
			if err != nil {
				t.Fatal(err)
			}
			if got := stats.MinP(n1, n2); !near(got, res.MinP, 1e-12) || !near(got, res.P, 1e-12) {
				t.Errorf("MinP(%d, %d) = %v; the test's minP %v, p of a separation %v", n1, n2, got, res.MinP, res.P)
			}
		}
	}
	for n, want := range map[int]float64{1: 1, 2: 2.0 / 6, 3: 2.0 / 20, 4: 2.0 / 70, 5: 2.0 / 252} {
		if got := stats.MinP(n, n); !near(got, want, 1e-12) {
			t.Errorf("MinP(%d, %d) = %v, want %v", n, n, got, want)
		}
	}
	if stats.MinP(0, 3) != 1 {
		t.Error("MinP of an empty sample is not 1")
	}
	for alpha, want := range map[float64]int{0.05: 4, 0.01: 5, 0.1: 3, 0.2: 3, 0.001: 7, 1: 1, 0: 0, -1: 0} {
		if got := stats.MinRuns(alpha); got != want {
			t.Errorf("MinRuns(%v) = %d, want %d", alpha, got, want)
		}
	}
	// The defining property, on both sides of the exact/normal switch.
	for _, alpha := range []float64{0.05, 0.01, 1e-4, 1e-6, 1e-9} {
		m := stats.MinRuns(alpha)
		if m < 2 || stats.MinP(m, m) > alpha || stats.MinP(m-1, m-1) <= alpha {
			t.Errorf("MinRuns(%v) = %d: MinP there %v, one less %v", alpha, m, stats.MinP(m, m), stats.MinP(m-1, m-1))
		}
	}
}

// No interval from one run; from 2 to 5 runs the range of the runs with the
// confidence it really has; from 6 (95 %) the bootstrap interval.
func TestSummarizeSmallSamples(t *testing.T) {
	xs := []float64{3001, 2990, 3010, 2995, 3005, 3000, 2999}
	if s := stats.Summarize(nil, stats.Options{}); s.N != 0 || s.CI != nil || !math.IsNaN(s.Median) {
		t.Errorf("no values: %+v", s)
	}
	if s := stats.Summarize(xs[:1], stats.Options{}); s.N != 1 || s.Median != 3001 || s.CI != nil || s.Level != 0 {
		t.Errorf("one value: %+v (CI %v), want no interval", s, s.CI)
	}
	for n, cov := range map[int]float64{2: 0.5, 3: 0.75, 4: 0.875, 5: 0.9375} {
		s := stats.Summarize(xs[:n], stats.Options{})
		lo, hi := slices.Min(xs[:n]), slices.Max(xs[:n])
		if s.CI == nil || s.CI.Lo != lo || s.CI.Hi != hi || !s.Range || !near(s.Level, cov, 1e-12) {
			t.Errorf("%d values: %+v (CI %v), want the range [%v, %v] at %v", n, s, s.CI, lo, hi, cov)
		}
	}
	for _, n := range []int{6, 7} {
		s := stats.Summarize(xs[:n], stats.Options{Seed: 3})
		want := stats.BootstrapMedian(xs[:n], 0.95, stats.DefaultResamples, 3)
		if s.CI == nil || *s.CI != want || s.Range || s.Level != 0.95 {
			t.Errorf("%d values: %+v (CI %v), want the bootstrap %v at 0.95", n, s, s.CI, want)
		}
	}
	for level, want := range map[float64]int{0.95: 6, 0.9: 5, 0.5: 2, 0.99: 8, 1: 0} {
		if got := stats.MinIntervalRuns(level); got != want {
			t.Errorf("MinIntervalRuns(%v) = %d, want %d", level, got, want)
		}
	}
	// The range of 3 values of a continuous distribution holds its median
	// with probability 0.75, not 0.95.
	rng := rand.New(rand.NewPCG(5, 5))
	const trials = 4000
	held := 0
	for range trials {
		s := stats.Summarize(lognormal(rng, 3, 0), stats.Options{})
		if s.CI.Lo <= 1 && 1 <= s.CI.Hi {
			held++
		}
	}
	if rate := float64(held) / trials; math.Abs(rate-0.75) > 0.03 {
		t.Errorf("range of 3 held the median %.3f of the time, want 0.75", rate)
	}
}

func TestCompareDeterministic(t *testing.T) {
	a, b := []float64{1, 5, 2, 8, 3}, []float64{4, 9, 7, 6, 10}
	x := stats.Compare(a, b, true, stats.Options{Seed: 5})
	y := stats.Compare(a, b, true, stats.Options{Seed: 5})
	if !reflect.DeepEqual(x, y) {
		t.Errorf("same seed, different results: %+v %+v", x, y)
	}
}
