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
// interval; no values give NaN bounds.
func BootstrapMedian(xs []float64, level float64, resamples int, seed uint64) Interval {
	return Bootstrap(xs, Median, level, resamples, seed)
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
	res.MinP = 2 * normalSF((float64(n1*n2)/2-0.5)/math.Sqrt(float64(n1*n2)*(n+1)/12))
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
