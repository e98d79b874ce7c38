package stats

import (
	"fmt"
	"math"
)

// Verdict is the answer of Compare for one metric.
type Verdict string

// The verdicts of Compare: a significant difference with its direction, no
// significant difference (the test could have shown one and did not), or too
// few runs to tell (the test could not have shown one, whatever the data).
const (
	ABetter      Verdict = "A better"
	BBetter      Verdict = "B better"
	NoDifference Verdict = "no significant difference"
	TooFewRuns   Verdict = "too few runs to tell"
	defaultAlpha         = 0.05
	defaultLevel         = 0.95
)

// Options tune Compare; the zero value means alpha 0.05, 95 % intervals,
// DefaultResamples resamples and seed 0.
type Options struct {
	Alpha     float64
	Level     float64
	Resamples int
	Seed      uint64
}

// WithDefaults returns o with its zero fields set to the defaults Compare and
// Summarize use.
func (o Options) WithDefaults() Options {
	if o.Alpha <= 0 {
		o.Alpha = defaultAlpha
	}
	if o.Level <= 0 {
		o.Level = defaultLevel
	}
	if o.Resamples <= 0 {
		o.Resamples = DefaultResamples
	}
	return o
}

// Summary is the median of a sample with its confidence interval.
type Summary struct {
	N      int     `json:"n"`
	Median float64 `json:"median"`
	// CI is the confidence interval of the median; nil with fewer than two
	// values (one run gives no interval, and a zero-width one would read as
	// exact).
	CI *Interval `json:"ci,omitempty"`
	// Level is the confidence CI has: the level asked for (a percentile
	// bootstrap) from MinIntervalRuns(level) values on; with fewer, CI is
	// the range of the values and Level its RangeCoverage (0.75 for three),
	// since no interval of the median from so few values reaches the level.
	Level float64 `json:"level,omitempty"`
	// Range is true when CI is the range of the values (fewer than
	// MinIntervalRuns(level)) rather than an interval at the level asked for.
	Range bool `json:"range,omitempty"`
}

// Summarize returns the median and its confidence interval: none for fewer
// than two values, the range of the values with its own confidence for fewer
// than MinIntervalRuns(o.Level), else the percentile bootstrap interval at
// o.Level.
func Summarize(xs []float64, o Options) Summary {
	o = o.WithDefaults()
	s := Summary{N: len(xs), Median: Median(xs)}
	switch {
	case len(xs) < 2:
	case len(xs) < MinIntervalRuns(o.Level):
		srt := sorted(xs)
		s.CI = &Interval{Lo: srt[0], Hi: srt[len(srt)-1]}
		s.Level, s.Range = RangeCoverage(len(xs)), true
	default:
		ci := BootstrapMedian(xs, o.Level, o.Resamples, o.Seed)
		s.CI, s.Level = &ci, o.Level
	}
	return s
}

// Comparison is the answer for one metric between samples A and B.
type Comparison struct {
	Verdict Verdict `json:"verdict"`
	// Method says how significance was decided, or why it could not be.
	Method string      `json:"method"`
	Test   MannWhitney `json:"test"`
	// MinRuns is the number of runs a side from which the test can reach
	// alpha (MinRuns(alpha)).
	MinRuns int     `json:"minRuns"`
	A       Summary `json:"a"`
	B       Summary `json:"b"`
}

// Significant reports whether the verdict names a better sample.
func (c Comparison) Significant() bool { return c.Verdict == ABetter || c.Verdict == BBetter }

// Compare decides whether A or B is better on a metric (lowerIsBetter: for
// latencies, error ratios, recovery times), whether there is no significant
// difference, or whether there are too few runs to tell.
//
// The test is the two-sided Mann-Whitney U at alpha. When the sample sizes
// cannot give a p-value at most alpha (MinP(len(a), len(b)) > alpha: 3
// against 3 cannot go below 0.1), no data could be significant, and the
// verdict is TooFewRuns, never NoDifference: the Method names the runs that
// would be needed and says when every run of one sample beat every run of the
// other (the best these sizes can show). Otherwise the difference is
// significant when p ≤ alpha and the verdict names the better sample.
func Compare(a, b []float64, lowerIsBetter bool, o Options) Comparison {
	o = o.WithDefaults()
	ob := o
	ob.Seed++ // independent resamples for B
	c := Comparison{Verdict: TooFewRuns, MinRuns: MinRuns(o.Alpha), A: Summarize(a, o), B: Summarize(b, ob)}
	test, err := MannWhitneyU(a, b)
	if err != nil {
		c.Method = fmt.Sprintf("not enough data (%d v %d runs with a value)", len(a), len(b))
		return c
	}
	c.Test = test
	n1n2 := float64(len(a) * len(b))
	if minP := MinP(len(a), len(b)); minP > o.Alpha {
		c.Method = fmt.Sprintf("too few runs to tell: with %d v %d runs the smallest p Mann-Whitney U can give is %.2g, above alpha %.3g; %d v %d is the least that can show a difference",
			len(a), len(b), minP, o.Alpha, c.MinRuns, c.MinRuns)
		if len(a) > 1 || len(b) > 1 {
			if test.U == 0 || test.U == n1n2 {
				c.Method += fmt.Sprintf(" (every run of one beat every run of the other: p = %.2g)", test.P)
			}
		}
		return c
	}
	kind := "normal approximation"
	if test.Exact {
		kind = "exact"
	}
	c.Method = fmt.Sprintf("Mann-Whitney U (%s), p = %.3g, alpha %.3g", kind, test.P, o.Alpha)
	c.Verdict = NoDifference
	if test.P > o.Alpha || math.Abs(test.U-n1n2/2) < 1e-9 {
		return c
	}
	aLarger := test.U > n1n2/2
	if aLarger == lowerIsBetter {
		c.Verdict = BBetter
	} else {
		c.Verdict = ABetter
	}
	return c
}
