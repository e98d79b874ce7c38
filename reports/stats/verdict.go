package stats

import (
	"fmt"
	"math"
)

// Verdict is the answer of Compare for one metric.
type Verdict string

// The verdicts of Compare.
const (
	ABetter       Verdict = "A better"
	BBetter       Verdict = "B better"
	NoDifference  Verdict = "no significant difference"
	defaultAlpha          = 0.05
	defaultLevel          = 0.95
	separationTag         = "complete separation and non-overlapping CIs"
)

// Options tune Compare; the zero value means alpha 0.05, 95 % intervals,
// DefaultResamples resamples and seed 0.
type Options struct {
	Alpha     float64
	Level     float64
	Resamples int
	Seed      uint64
}

func (o Options) withDefaults() Options {
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

// Summary is the median of a sample with its bootstrap confidence interval.
type Summary struct {
	N      int      `json:"n"`
	Median float64  `json:"median"`
	CI     Interval `json:"ci"`
}

// Summarize returns the median and its bootstrap interval.
func Summarize(xs []float64, o Options) Summary {
	o = o.withDefaults()
	return Summary{N: len(xs), Median: Median(xs), CI: BootstrapMedian(xs, o.Level, o.Resamples, o.Seed)}
}

// Comparison is the answer for one metric between samples A and B.
type Comparison struct {
	Verdict Verdict `json:"verdict"`
	// Method says how significance was decided.
	Method string      `json:"method"`
	Test   MannWhitney `json:"test"`
	A      Summary     `json:"a"`
	B      Summary     `json:"b"`
}

// Significant reports whether the verdict names a better sample.
func (c Comparison) Significant() bool { return c.Verdict != NoDifference }

// Compare decides whether A or B is better on a metric (lowerIsBetter: for
// latencies, error ratios, recovery times) or whether there is no significant
// difference.
//
// When the sample sizes allow a two-sided Mann-Whitney U test to reach
// alpha, the difference is significant when its p-value is at most alpha.
// With fewer runs (3 against 3 cannot give p below 0.1) the rank test cannot
// decide; the difference is then called significant only when every run of
// one sample is better than every run of the other and the bootstrap
// intervals of the medians do not overlap. That rule's false-positive rate,
// for two samples of the same continuous distribution, is Test.MinP (0.1 for
// 3 against 3): the Method says so. When even that rate would exceed twice
// alpha (1 or 2 runs a side), no difference is ever called.
func Compare(a, b []float64, lowerIsBetter bool, o Options) Comparison {
	o = o.withDefaults()
	ob := o
	ob.Seed++ // independent resamples for B
	c := Comparison{Verdict: NoDifference, A: Summarize(a, o), B: Summarize(b, ob)}
	test, err := MannWhitneyU(a, b)
	if err != nil {
		c.Method = "not enough data"
		return c
	}
	c.Test = test
	n1n2 := float64(len(a) * len(b))
	significant := false
	if test.MinP <= o.Alpha {
		kind := "normal approximation"
		if test.Exact {
			kind = "exact"
		}
		c.Method = fmt.Sprintf("Mann-Whitney U (%s), p = %.3g, alpha %.3g", kind, test.P, o.Alpha)
		significant = test.P <= o.Alpha
	} else if test.MinP > 2*o.Alpha+1e-9 {
		// 1 or 2 runs a side: even a complete separation happens by
		// chance too often (1 v 1: always) to be called a difference.
		c.Method = fmt.Sprintf("too few runs to tell (%d v %d: even a complete separation has p = %.2g)", len(a), len(b), test.MinP)
	} else {
		c.Method = fmt.Sprintf("%s (too few runs for Mann-Whitney at %.3g: its smallest p is %.2g, the false-positive rate of this rule)", separationTag, o.Alpha, test.MinP)
		separated := test.U == 0 || test.U == n1n2
		significant = separated && !c.A.CI.Overlaps(c.B.CI)
	}
	if !significant || math.Abs(test.U-n1n2/2) < 1e-9 {
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
