// What the views read off one run record: its timeline of intervals, the
// statistics of a window of it, merged histograms and downsampled series.
// (reports/stats is another thing: the statistics of comparing runs.)

package reports

import (
	"math"
	"sort"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// tick is the load of every request name over one interval (or, after
// downsampling, over a bucket of intervals).
type tick struct {
	At       float64
	Count    int64
	Errors   int64
	Seconds  float64 // covered time
	P50      float64
	P99      float64
	Max      float64
	ErrRatio float64 // errors/count; after downsampling the bucket's maximum
}

func (t tick) rate() float64 {
	if t.Seconds <= 0 {
		return 0
	}
	return float64(t.Count) / t.Seconds
}

func (r *Run) intervalSeconds() float64 {
	if r.IntervalSeconds > 0 {
		return r.IntervalSeconds
	}
	return 1
}

// dist approximates the latency distribution of one interval by a piecewise
// linear CDF through its recorded percentiles.
type dist struct {
	w  float64
	xs [6]float64
}

var distPs = [6]float64{0, 0.5, 0.9, 0.99, 0.999, 1}

func newDist(iv Interval) dist {
	d := dist{w: float64(iv.Count), xs: [6]float64{0, iv.P50, iv.P90, iv.P99, iv.P999, iv.Max}}
	for i := 1; i < len(d.xs); i++ { // percentiles never decrease
		d.xs[i] = math.Max(d.xs[i], d.xs[i-1])
	}
	return d
}

func (d dist) cdf(x float64) float64 {
	if x >= d.xs[5] {
		return 1
	}
	for i := 1; i < 6; i++ {
		if x < d.xs[i] {
			span := d.xs[i] - d.xs[i-1]
			return distPs[i-1] + (distPs[i]-distPs[i-1])*(x-d.xs[i-1])/span
		}
	}
	return 1
}

func (d dist) quantile(q float64) float64 {
	for i := 1; i < 6; i++ {
		if q <= distPs[i] {
			f := (q - distPs[i-1]) / (distPs[i] - distPs[i-1])
			return d.xs[i-1] + f*(d.xs[i]-d.xs[i-1])
		}
	}
	return d.xs[5]
}

// mixQuantile is the q-quantile of the count-weighted mixture of ds. It is
// the honest way to combine percentiles of several intervals (averaging
// percentiles is not).
func mixQuantile(ds []dist, q float64) float64 {
	var total, hi float64
	n := 0
	last := -1
	for i, d := range ds {
		if d.w <= 0 {
			continue
		}
		total += d.w
		hi = math.Max(hi, d.xs[5])
		n++
		last = i
	}
	switch n {
	case 0:
		return 0
	case 1:
		return ds[last].quantile(q)
	}
	lo := 0.0
	for range 40 {
		mid := (lo + hi) / 2
		var f float64
		for _, d := range ds {
			if d.w > 0 {
				f += d.w * d.cdf(mid)
			}
		}
		if f/total < q {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi
}

// timeline merges the request names into one tick per interval, sorted by
// time. Only request names in names are used (all when names is nil).
func (r *Run) timeline(names map[string]bool) []tick {
	type group struct {
		at    float64
		ivs   []Interval
		count int64
	}
	groups := map[int64]*group{}
	for _, rs := range r.Requests {
		if names != nil && !names[rs.Name] {
			continue
		}
		for _, iv := range rs.Intervals {
			k := int64(math.Round(iv.At * 1000))
			g := groups[k]
			if g == nil {
				g = &group{at: iv.At}
				groups[k] = g
			}
			g.ivs = append(g.ivs, iv)
		}
	}
	keys := make([]int64, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	out := make([]tick, 0, len(keys))
	ds := make([]dist, 0, len(r.Requests))
	sec := r.intervalSeconds()
	for _, k := range keys {
		g := groups[k]
		t := tick{At: g.at, Seconds: sec}
		ds = ds[:0]
		for _, iv := range g.ivs {
			t.Count += iv.Count
			t.Errors += iv.ErrorCount()
			t.Max = math.Max(t.Max, iv.Max)
			ds = append(ds, newDist(iv))
		}
		t.P50 = mixQuantile(ds, 0.5)
		t.P99 = mixQuantile(ds, 0.99)
		if t.Count > 0 {
			t.ErrRatio = float64(t.Errors) / float64(t.Count)
		}
		out = append(out, t)
	}
	return out
}

// downsample reduces ticks to at most n points without losing peaks: p99,
// max and the error ratio take the bucket's maximum, p50 the count-weighted
// mean, throughput the bucket's total over its time.
func downsample(ts []tick, n int) []tick {
	if n <= 0 || len(ts) <= n {
		return ts
	}
	k := (len(ts) + n - 1) / n
	out := make([]tick, 0, n)
	for i := 0; i < len(ts); i += k {
		j := min(i+k, len(ts))
		b := tick{At: ts[i].At}
		var wsum, p50 float64
		for _, t := range ts[i:j] {
			b.Count += t.Count
			b.Errors += t.Errors
			b.Seconds += t.Seconds
			b.P99 = math.Max(b.P99, t.P99)
			b.Max = math.Max(b.Max, t.Max)
			b.ErrRatio = math.Max(b.ErrRatio, t.ErrRatio)
			wsum += float64(t.Count)
			p50 += float64(t.Count) * t.P50
		}
		if wsum > 0 {
			b.P50 = p50 / wsum
		}
		out = append(out, b)
	}
	return out
}

// windowStats summarises the load between two offsets.
type windowStats struct {
	From, To float64
	Count    int64
	Errors   int64
	Seconds  float64
	P50, P99 float64
	Max      float64
}

func (w windowStats) rate() float64 {
	if w.Seconds <= 0 {
		return 0
	}
	return float64(w.Count) / w.Seconds
}

func (w windowStats) errPct() float64 {
	if w.Count == 0 {
		return 0
	}
	return 100 * float64(w.Errors) / float64(w.Count)
}

// statsIn summarises the intervals starting in [from, to) of the request
// names in names (all when nil).
func (r *Run) statsIn(from, to float64, names map[string]bool) windowStats {
	w := windowStats{From: from, To: to}
	var ds []dist
	seen := map[int64]bool{}
	for _, rs := range r.Requests {
		if names != nil && !names[rs.Name] {
			continue
		}
		for _, iv := range rs.Intervals {
			if iv.At < from || iv.At >= to {
				continue
			}
			seen[int64(math.Round(iv.At*1000))] = true
			w.Count += iv.Count
			w.Errors += iv.ErrorCount()
			w.Max = math.Max(w.Max, iv.Max)
			ds = append(ds, newDist(iv))
		}
	}
	w.Seconds = float64(len(seen)) * r.intervalSeconds()
	w.P50 = mixQuantile(ds, 0.5)
	w.P99 = mixQuantile(ds, 0.99)
	return w
}

// faultWindows returns, for a fault, the before/during/after windows: during
// is the actual fault window, before and after are as long as it (at least
// one interval), clipped to the run.
func (r *Run) faultWindows(f Fault) (before, during, after windowStats) {
	s, e := f.Window()
	l := math.Max(e-s, r.intervalSeconds())
	before = r.statsIn(math.Max(0, s-l), s, nil)
	during = r.statsIn(s, math.Max(e, s+r.intervalSeconds()), nil)
	after = r.statsIn(e, e+l, nil)
	return before, during, after
}

// mergedHist is the merge of several histograms, with their unit.
type mergedHist struct {
	corrected, uncorrected *hdrhistogram.Histogram
	toMs                   float64
}

// mergeHistograms merges the record's histograms by key (phase or request
// name), in first-seen order. Histograms whose unit differs from the first
// one of their key are left out.
func (r *Run) mergeHistograms(key func(Histogram) string) (keys []string, out map[string]*mergedHist, err error) {
	out = map[string]*mergedHist{}
	units := map[string]string{}
	for _, h := range r.Histograms {
		k := key(h)
		c, u, err := h.Decode()
		if err != nil {
			return nil, nil, err
		}
		m := out[k]
		if m == nil {
			m = &mergedHist{toMs: msPerUnit(h.Unit)}
			out[k] = m
			units[k] = h.Unit
			keys = append(keys, k)
		} else if units[k] != h.Unit {
			continue
		}
		m.corrected = mergeInto(m.corrected, c)
		m.uncorrected = mergeInto(m.uncorrected, u)
	}
	return keys, out, nil
}

func mergeInto(dst, src *hdrhistogram.Histogram) *hdrhistogram.Histogram {
	if src == nil {
		return dst
	}
	if dst == nil {
		return src.Clone()
	}
	dst.Merge(src)
	return dst
}

// spectrumPercentiles are the percentiles of the spectrum chart, evenly
// spaced on the -log10(1-p) axis from 50% to 99.999%.
func spectrumPercentiles(n int) []float64 {
	lo, hi := math.Log10(2), 5.0
	ps := make([]float64, n+1)
	for i := range ps {
		x := lo + (hi-lo)*float64(i)/float64(n)
		ps[i] = 100 * (1 - math.Pow(10, -x))
	}
	return ps
}

// downsamplePoints reduces an SLI series to at most 2n points, keeping each
// bucket's lowest and highest value (in time order), so that a dip below or
// a peak above a bound stays visible.
func downsamplePoints(ps []Point, n int) []Point {
	if n <= 0 || len(ps) <= 2*n {
		return ps
	}
	k := (len(ps) + n - 1) / n
	out := make([]Point, 0, 2*n)
	for i := 0; i < len(ps); i += k {
		j := min(i+k, len(ps))
		lo, hi := i, i
		for x := i; x < j; x++ {
			if ps[x].V < ps[lo].V {
				lo = x
			}
			if ps[x].V > ps[hi].V {
				hi = x
			}
		}
		switch {
		case lo == hi:
			out = append(out, ps[lo])
		case lo < hi:
			out = append(out, ps[lo], ps[hi])
		default:
			out = append(out, ps[hi], ps[lo])
		}
	}
	return out
}
