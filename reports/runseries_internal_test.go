package reports

import (
	"math"
	"testing"
)

func TestMixQuantile(t *testing.T) {
	a := newDist(Interval{Count: 100, P50: 10, P90: 20, P99: 30, P999: 40, Max: 50})
	if got := mixQuantile([]dist{a}, 0.5); got != 10 {
		t.Errorf("single p50 = %v, want 10", got)
	}
	if got := mixQuantile([]dist{a}, 0.95); math.Abs(got-(20+10*0.05/0.09)) > 1e-9 {
		t.Errorf("single p95 = %v", got)
	}
	// Two equal-weight intervals, one ten times slower: the median lies
	// between them, the p99 is the slow one's p98.
	b := newDist(Interval{Count: 100, P50: 100, P90: 200, P99: 300, P999: 400, Max: 500})
	med := mixQuantile([]dist{a, b}, 0.5)
	if med < 20 || med > 100 {
		t.Errorf("mixed median = %v, want within [20,100]", med)
	}
	p99 := mixQuantile([]dist{a, b}, 0.99)
	if want := b.quantile(0.98); math.Abs(p99-want) > 0.01 {
		t.Errorf("mixed p99 = %v, want %v", p99, want)
	}
	// Weight matters: a tiny slow interval barely moves the median.
	c := b
	c.w = 1
	if m := mixQuantile([]dist{a, c}, 0.5); m > 11 {
		t.Errorf("weighted median = %v, want ≈10", m)
	}
	if got := mixQuantile(nil, 0.5); got != 0 {
		t.Errorf("empty = %v", got)
	}
}

func TestDownsampleKeepsPeaks(t *testing.T) {
	ts := make([]tick, 3600)
	for i := range ts {
		ts[i] = tick{At: float64(i), Count: 100, Seconds: 1, P50: 10, P99: 20, Max: 30}
	}
	ts[1234].Max, ts[1234].P99 = 9000, 5000
	ts[2000].ErrRatio = 0.5
	ds := downsample(ts, 600)
	if len(ds) != 600 {
		t.Fatalf("len = %d, want 600", len(ds))
	}
	var maxMax, maxP99, maxErr float64
	for _, d := range ds {
		maxMax, maxP99, maxErr = math.Max(maxMax, d.Max), math.Max(maxP99, d.P99), math.Max(maxErr, d.ErrRatio)
		if d.rate() != 100 {
			t.Fatalf("bucket rate = %v, want 100", d.rate())
		}
	}
	if maxMax != 9000 || maxP99 != 5000 || maxErr != 0.5 {
		t.Errorf("peaks lost: max %v p99 %v err %v", maxMax, maxP99, maxErr)
	}
	if got := downsample(ts[:10], 600); len(got) != 10 {
		t.Errorf("short series resampled to %d", len(got))
	}
}

func TestDelta(t *testing.T) {
	cases := []struct {
		b, x  float64
		hiBad bool
		want  string
		worse bool
	}{
		{100, 150, true, "+50%", true},
		{100, 105, true, "+5.0%", false},
		{100, 50, false, "−50%", true},
		{0, 0, true, "±0", false},
		{0, 3, true, "new", true},
		{100, 100.01, true, "±0", false},
		{1, 55, true, "×55", true},
	}
	for _, c := range cases {
		got, worse := delta(c.b, c.x, c.hiBad)
		if got != c.want || worse != c.worse {
			t.Errorf("delta(%v,%v) = %q,%v, want %q,%v", c.b, c.x, got, worse, c.want, c.worse)
		}
	}
}

func TestParseBound(t *testing.T) {
	for in, want := range map[string]float64{"< 1.2": 1.2, ">= 0.99": 0.99, "<10s": 10, "< 250ms": 0.25, ">= 99.5%": 0.995} {
		_, v, ok := parseBound(in)
		if !ok || math.Abs(v-want) > 1e-12 {
			t.Errorf("parseBound(%q) = %v,%v, want %v", in, v, ok, want)
		}
	}
	if _, _, ok := parseBound("between 1 and 2"); ok {
		t.Error("parseBound accepted text without an operator")
	}
}

func TestDownsamplePointsKeepsExtremes(t *testing.T) {
	ps := make([]Point, 720)
	for i := range ps {
		ps[i] = Point{T: float64(i * 5), V: 0.999}
	}
	ps[100].V, ps[500].V = 0.5, 1.7
	ds := downsamplePoints(ps, 150)
	if len(ds) > 300 {
		t.Fatalf("len = %d, want ≤ 300", len(ds))
	}
	lo, hi := 1.0, 0.0
	for i, p := range ds {
		lo, hi = math.Min(lo, p.V), math.Max(hi, p.V)
		if i > 0 && p.T <= ds[i-1].T {
			t.Fatalf("points out of time order at %d", i)
		}
	}
	if lo != 0.5 || hi != 1.7 {
		t.Errorf("extremes lost: min %v max %v", lo, hi)
	}
}
