// Package stats holds the small, pure statistics a comparison of variants
// needs: the median, a percentile bootstrap confidence interval with a seeded
// random source, the Mann-Whitney U test (exact for small samples, normal
// approximation with tie correction otherwise) and a verdict per metric.
//
// Nothing here holds state or reads the clock: the same samples and seed give
// the same answer.
package stats

import (
	"errors"
	"math"
	"math/rand/v2"
	"sort"
)

// Median returns the median of xs (the mean of the two middle values for an
// even count), NaN for no values. xs is not modified.
func Median(xs []float64) float64 {
	n := len(xs)
	if n == 0 {
		return math.NaN()
	}
	s := sorted(xs)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Quantile returns the q-quantile (0 ≤ q ≤ 1) of xs by linear interpolation
// between order statistics (R's type 7), NaN for no values.
func Quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	return quantileSorted(sorted(xs), q)
}

func quantileSorted(s []float64, q float64) float64 {
	if len(s) == 1 {
		return s[0]
	}
	q = math.Min(1, math.Max(0, q))
	h := q * float64(len(s)-1)
	lo := math.Floor(h)
	i := int(lo)
	if i >= len(s)-1 {
		return s[len(s)-1]
	}
	return s[i] + (h-lo)*(s[i+1]-s[i])
}

func sorted(xs []float64) []float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s
}

// Interval is a confidence interval.
type Interval struct {
	Lo, Hi float64
}

// Overlaps reports whether two intervals share a point.
func (a Interval) Overlaps(b Interval) bool { return a.Lo <= b.Hi && b.Lo <= a.Hi }

// DefaultResamples is the number of bootstrap resamples BootstrapMedian uses
// when asked for zero.
const DefaultResamples = 2000

// BootstrapMedian returns the percentile bootstrap confidence interval of the
// median of xs at the given level (e.g. 0.95), from resamples resamples drawn
// with a random source seeded with seed. One value gives a zero-width
// interval and no values NaN bounds: neither is a confidence interval, and
// for fewer than MinIntervalRuns(level) values the result is the range of
// the values, whose confidence is RangeCoverage(n), not level. Summarize
// says so; call it rather than this for a figure to show.
func BootstrapMedian(xs []float64, level float64, resamples int, seed uint64) Interval {
	return Bootstrap(xs, Median, level, resamples, seed)
}

// RangeCoverage is the probability that the range (smallest to largest) of n
// independent values of a continuous distribution holds its median: 1 −
// 2^(1−n), so 0 for one value, 0.5 for two, 0.75 for three, 0.9375 for five.
// No interval built from the order statistics of n values, which is what a
// bootstrap interval of the median is, can have more confidence than that.
func RangeCoverage(n int) float64 {
	if n < 2 {
		return 0
	}
	return 1 - math.Pow(2, float64(1-n))
}

// MinIntervalRuns is the smallest number of values whose range holds the
// median with at least the given confidence (RangeCoverage(n) ≥ level): 6
// for 95 %. With fewer values no interval of the median at that level
// exists. 0 for level ≥ 1.
func MinIntervalRuns(level float64) int {
	if level >= 1 {
		return 0
	}
	for n := 2; n <= maxRuns; n++ {
		if RangeCoverage(n) >= level {
			return n
		}
	}
	return 0
}

// Bootstrap is BootstrapMedian for any statistic.
func Bootstrap(xs []float64, stat func([]float64) float64, level float64, resamples int, seed uint64) Interval {
	n := len(xs)
	if n == 0 {
		return Interval{math.NaN(), math.NaN()}
	}
	if resamples <= 0 {
		resamples = DefaultResamples
	}
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	est := make([]float64, resamples)
	buf := make([]float64, n)
	for i := range est {
		for j := range buf {
			buf[j] = xs[rng.IntN(n)]
		}
		est[i] = stat(buf)
	}
	sort.Float64s(est)
	alpha := (1 - level) / 2
	return Interval{Lo: quantileSorted(est, alpha), Hi: quantileSorted(est, 1-alpha)}
}

// MannWhitney is the result of a two-sided Mann-Whitney U test.
type MannWhitney struct {
	// U is the statistic of the first sample: the number of pairs (a, b)
	// with a > b, ties counting one half.
	U float64 `json:"u"`
	// P is the two-sided p-value.
	P float64 `json:"p"`
	// Exact is true when P comes from the full permutation distribution
	// (small samples) rather than the normal approximation.
	Exact bool `json:"exact"`
	// MinP is the smallest two-sided p-value these sample sizes can give:
	// with 3 runs against 3 it is 0.1, so no test at 5 % can succeed.
	MinP float64 `json:"minP"`
}

// MinP is the smallest two-sided p-value MannWhitneyU can give for samples of
// n1 and n2 values without ties: 2/C(n1+n2, n1) where the test is exact (the
// two complete separations are the only splits that extreme), else the
// normal approximation's p for a complete separation. It is what the sample
// sizes allow at best: below alpha the test can decide, above it no data of
// these sizes can ever be significant. 1 when a sample is empty.
func MinP(n1, n2 int) float64 {
	if n1 <= 0 || n2 <= 0 {
		return 1
	}
	if c := choose(n1+n2, n1); c <= ExactLimit {
		return math.Min(1, 2/c)
	}
	return minPNormal(n1, n2)
}

// minPNormal is the normal approximation's p-value (continuity corrected) of
// a complete separation of n1 against n2 values without ties.
func minPNormal(n1, n2 int) float64 {
	n := float64(n1 + n2)
	prod := float64(n1) * float64(n2)
	return math.Min(1, 2*normalSF((prod/2-0.5)/math.Sqrt(prod*(n+1)/12)))
}

// maxRuns bounds the searches of MinRuns and MinIntervalRuns.
const maxRuns = 100_000

// MinRuns is the smallest number of runs per sample (n against n) for which
// MannWhitneyU can give a two-sided p-value at most alpha (MinP(n, n) ≤
// alpha): 4 at alpha 0.05 (2/70), 5 at 0.01 (2/252). Fewer runs can never
// show a difference at that level, whatever the data. 0 when no n up to
// 100 000 can (alpha ≤ 0, or smaller than float64 can tell from 0).
func MinRuns(alpha float64) int {
	if alpha <= 0 {
		return 0
	}
	for n := 1; n <= maxRuns; n++ {
		if MinP(n, n) <= alpha {
			return n
		}
	}
	return 0
}

// ExactLimit is the largest number of ways to split the pooled sample
// (n1+n2 choose n1) for which MannWhitneyU enumerates every split.
const ExactLimit = 200_000

// ErrEmpty is returned for a test on an empty sample.
var ErrEmpty = errors.New("stats: empty sample")

// MannWhitneyU tests whether a and b come from the same distribution. Ties
// get mid-ranks. For small samples (at most ExactLimit splits) the p-value is
// exact: the share of all splits of the pooled ranks whose U is at least as
// far from its mean as the observed one, which stays exact with ties.
// Otherwise it uses the normal approximation with the tie-corrected variance
// and a continuity correction.
func MannWhitneyU(a, b []float64) (MannWhitney, error) {
	n1, n2 := len(a), len(b)
	if n1 == 0 || n2 == 0 {
		return MannWhitney{}, ErrEmpty
	}
	pooled := make([]float64, 0, n1+n2)
	pooled = append(pooled, a...)
	pooled = append(pooled, b...)
	ranks := midRanks(pooled)
	var r1 float64
	for i := 0; i < n1; i++ {
		r1 += ranks[i]
	}
	u := r1 - float64(n1*(n1+1))/2
	mean := float64(n1*n2) / 2
	res := MannWhitney{U: u}

	if c := choose(n1+n2, n1); c <= ExactLimit {
		res.Exact = true
		dev := math.Abs(u - mean)
		var extreme, total, minDevCount float64
		maxDev := 0.0
		// Enumerate every subset of n1 positions of the pooled ranks.
		idx := make([]int, n1)
		for i := range idx {
			idx[i] = i
		}
		devs := make(map[float64]float64)
		for {
			var s float64
			for _, k := range idx {
				s += ranks[k]
			}
			d := math.Abs(s - float64(n1*(n1+1))/2 - mean)
			total++
			if d >= dev-1e-9 {
				extreme++
			}
			devs[d]++
			if d > maxDev {
				maxDev = d
			}
			if !nextCombination(idx, n1+n2) {
				break
			}
		}
		for d, cnt := range devs {
			if d >= maxDev-1e-9 {
				minDevCount += cnt
			}
		}
		res.P = extreme / total
		res.MinP = minDevCount / total
		return res, nil
	}

	// Normal approximation with tie correction.
	n := float64(n1 + n2)
	var ties float64
	counts := map[float64]int{}
	for _, x := range pooled {
		counts[x]++
	}
	for _, t := range counts {
		ft := float64(t)
		ties += ft*ft*ft - ft
	}
	variance := float64(n1*n2) / 12 * ((n + 1) - ties/(n*(n-1)))
	res.MinP = minPNormal(n1, n2)
	if variance <= 0 { // every value equal
		res.P = 1
		return res, nil
	}
	z := (math.Abs(u-mean) - 0.5) / math.Sqrt(variance)
	if z < 0 {
		z = 0
	}
	res.P = math.Min(1, 2*normalSF(z))
	return res, nil
}

// midRanks returns the 1-based rank of each value, ties getting the mean of
// the ranks they span.
func midRanks(xs []float64) []float64 {
	order := make([]int, len(xs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool { return xs[order[i]] < xs[order[j]] })
	ranks := make([]float64, len(xs))
	for i := 0; i < len(order); {
		j := i
		for j+1 < len(order) && xs[order[j+1]] == xs[order[i]] {
			j++
		}
		r := float64(i+j)/2 + 1
		for k := i; k <= j; k++ {
			ranks[order[k]] = r
		}
		i = j + 1
	}
	return ranks
}

// nextCombination advances idx (k increasing indices below n) to the next
// combination in lexicographic order; false after the last.
func nextCombination(idx []int, n int) bool {
	k := len(idx)
	i := k - 1
	for i >= 0 && idx[i] == n-k+i {
		i--
	}
	if i < 0 {
		return false
	}
	idx[i]++
	for j := i + 1; j < k; j++ {
		idx[j] = idx[j-1] + 1
	}
	return true
}

func choose(n, k int) float64 {
	c := 1.0
	for i := 1; i <= k; i++ {
		c = c * float64(n-k+i) / float64(i)
	}
	return c
}

// normalSF is the upper tail of the standard normal distribution.
func normalSF(z float64) float64 { return 0.5 * math.Erfc(z/math.Sqrt2) }
