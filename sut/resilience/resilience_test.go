package resilience

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func TestBackoffNoJitterDoublesUpToCap(t *testing.T) {
	rnd := func() float64 { t.Fatal("no jitter must not draw"); return 0 }
	want := []time.Duration{10, 20, 40, 80, 100, 100}
	for i, w := range want {
		got := Backoff(10*time.Millisecond, 100*time.Millisecond, JitterNone, i+1, rnd)
		if got != w*time.Millisecond {
			t.Errorf("retry %d: got %s, want %s", i+1, got, w*time.Millisecond)
		}
	}
	if got := Backoff(10*time.Millisecond, 0, JitterNone, 70, rnd); got <= 0 {
		t.Errorf("uncapped huge retry overflowed: %s", got)
	}
	if got := Backoff(10*time.Millisecond, time.Second, JitterNone, 0, rnd); got != 0 {
		t.Errorf("retry 0: got %s, want 0", got)
	}
}

func TestBackoffJitterBoundsAndSpread(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	base, cap := 10*time.Millisecond, 80*time.Millisecond
	for _, tc := range []struct {
		jitter   string
		lo, hi   float64 // as a share of the un-jittered delay
		wantMean float64
	}{
		{JitterFull, 0, 1, 0.5},
		{JitterEqual, 0.5, 1, 0.75},
	} {
		for retry := 1; retry <= 5; retry++ {
			d := math.Min(float64(base)*math.Pow(2, float64(retry-1)), float64(cap))
			var sum float64
			const n = 4000
			min, max := math.Inf(1), math.Inf(-1)
			for i := 0; i < n; i++ {
				got := float64(Backoff(base, cap, tc.jitter, retry, r.Float64)) / d
				if got < tc.lo || got > tc.hi {
					t.Fatalf("%s retry %d: %g of the delay, outside [%g, %g]", tc.jitter, retry, got, tc.lo, tc.hi)
				}
				sum += got
				min, max = math.Min(min, got), math.Max(max, got)
			}
			if mean := sum / n; math.Abs(mean-tc.wantMean) > 0.02 {
				t.Errorf("%s retry %d: mean %g, want %g", tc.jitter, retry, mean, tc.wantMean)
			}
			// jitter must actually spread the retries over the range
			if min > tc.lo+0.05 || max < tc.hi-0.05 {
				t.Errorf("%s retry %d: values span [%g, %g], want about [%g, %g]", tc.jitter, retry, min, max, tc.lo, tc.hi)
			}
		}
	}
}

func TestBudgetCapsRetriesAtRatioOfCalls(t *testing.T) {
	clk := newFakeClock()
	b := NewBudget(clk, 0.1, 2, 10*time.Second)
	for i := 0; i < 100; i++ {
		b.Call()
	}
	granted := 0
	for i := 0; i < 50; i++ {
		if b.TryRetry() {
			granted++
		}
	}
	if granted != 12 { // 10% of 100 calls + 2 minimum
		t.Fatalf("granted %d retries for 100 calls at 10%% + 2, want 12", granted)
	}
	// More calls earn more retries.
	for i := 0; i < 10; i++ {
		b.Call()
	}
	if !b.TryRetry() {
		t.Fatal("10 more calls must earn one more retry")
	}
	if b.TryRetry() {
		t.Fatal("budget must be spent again")
	}
	// The window slides: after it has passed, old calls and retries no longer count.
	clk.Advance(11 * time.Second)
	granted = 0
	for i := 0; i < 10; i++ {
		if b.TryRetry() {
			granted++
		}
	}
	if granted != 2 {
		t.Fatalf("after the window, with no calls, granted %d, want the minimum 2", granted)
	}
	var nilBudget *Budget
	nilBudget.Call()
	if !nilBudget.TryRetry() {
		t.Fatal("no budget must allow every retry")
	}
}

func TestBudgetWindowSlidesGradually(t *testing.T) {
	clk := newFakeClock()
	b := NewBudget(clk, 0.5, 0, 10*time.Second)
	for i := 0; i < 20; i++ {
		b.Call()
	}
	clk.Advance(6 * time.Second)
	for i := 0; i < 20; i++ {
		b.Call()
	}
	clk.Advance(5 * time.Second) // the first 20 calls left the window
	granted := 0
	for i := 0; i < 40; i++ {
		if b.TryRetry() {
			granted++
		}
	}
	if granted != 10 {
		t.Fatalf("granted %d, want 10 (50%% of the 20 calls still in the window)", granted)
	}
}

type transition struct{ from, to BreakerState }

func TestBreakerTransitions(t *testing.T) {
	clk := newFakeClock()
	var got []transition
	b := NewBreaker(clk, BreakerConfig{FailureRatio: 0.5, MinRequests: 10, Window: 10 * time.Second, OpenFor: 5 * time.Second, HalfOpenProbes: 2},
		func(from, to BreakerState) { got = append(got, transition{from, to}) })
	call := func(ok bool) bool {
		if !b.Allow() {
			return false
		}
		b.Done(ok)
		return true
	}
	// Below minRequests, even all failures keep it closed.
	for i := 0; i < 9; i++ {
		call(false)
	}
	if s := b.State(); s != Closed {
		t.Fatalf("after 9 failures (< minRequests 10): %s, want closed", s)
	}
	// The 10th request reaches minRequests with 100% failures: open.
	call(false)
	if s := b.State(); s != Open {
		t.Fatalf("after 10 failures: %s, want open", s)
	}
	if call(true) {
		t.Fatal("an open breaker let a call through")
	}
	clk.Advance(4 * time.Second)
	if b.Allow() {
		t.Fatal("open breaker allowed a call before openFor")
	}
	clk.Advance(time.Second)
	if s := b.State(); s != HalfOpen {
		t.Fatalf("after openFor: %s, want half_open", s)
	}
	// Half-open lets exactly halfOpenProbes through.
	if !b.Allow() || !b.Allow() {
		t.Fatal("half-open must let 2 probes through")
	}
	if b.Allow() {
		t.Fatal("half-open let a third probe through")
	}
	b.Done(true)
	b.Done(false) // one failed probe reopens
	if s := b.State(); s != Open {
		t.Fatalf("after a failed probe: %s, want open", s)
	}
	clk.Advance(5 * time.Second)
	if !call(true) || !call(true) {
		t.Fatal("probes refused after the second openFor")
	}
	if s := b.State(); s != Closed {
		t.Fatalf("after 2 successful probes: %s, want closed", s)
	}
	want := []transition{{Closed, Open}, {Open, HalfOpen}, {HalfOpen, Open}, {Open, HalfOpen}, {HalfOpen, Closed}}
	if len(got) != len(want) {
		t.Fatalf("transitions %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("transition %d: %v, want %v (all: %v)", i, got[i], want[i], got)
		}
	}
}

func TestBreakerRatioOverSlidingWindow(t *testing.T) {
	clk := newFakeClock()
	b := NewBreaker(clk, BreakerConfig{FailureRatio: 0.5, MinRequests: 10, Window: 10 * time.Second, OpenFor: time.Second}, nil)
	done := func(ok bool) {
		if !b.Allow() {
			t.Fatal("refused while closed")
		}
		b.Done(ok)
	}
	// 40% failures never opens.
	for i := 0; i < 100; i++ {
		done(i%5 < 3)
	}
	if s := b.State(); s != Closed {
		t.Fatalf("40%% failures: %s, want closed", s)
	}
	// Old successes leave the window; new failures then dominate.
	clk.Advance(11 * time.Second)
	for i := 0; i < 4; i++ {
		done(true)
	}
	for i := 0; i < 5; i++ {
		done(false)
	}
	if s := b.State(); s != Closed {
		t.Fatalf("9 requests (< min 10): %s, want closed", s)
	}
	done(false) // 6 of 10 failed
	if s := b.State(); s != Open {
		t.Fatalf("60%% failures over 10 requests: %s, want open", s)
	}
}

func TestBalancersSpreadAsDocumented(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	intn := func(n int) int { return r.IntN(n) }
	all := func(int) bool { return true }
	zero := func(int) int64 { return 0 }
	const n, calls = 3, 30000

	t.Run("round_robin exact turns, skipping ineligible", func(t *testing.T) {
		lb := NewBalancer(RoundRobin, intn)
		counts := make([]int, n)
		for i := 0; i < calls; i++ {
			counts[lb.Pick(n, all, zero)]++
		}
		for i, c := range counts {
			if c != calls/n {
				t.Errorf("replica %d got %d, want exactly %d", i, c, calls/n)
			}
		}
		not1 := func(i int) bool { return i != 1 }
		for i := 0; i < 100; i++ {
			if lb.Pick(n, not1, zero) == 1 {
				t.Fatal("picked an ineligible replica")
			}
		}
		if got := lb.Pick(n, func(int) bool { return false }, zero); got != -1 {
			t.Fatalf("no eligible replica: got %d, want -1", got)
		}
	})
	t.Run("random uniform", func(t *testing.T) {
		lb := NewBalancer(Random, intn)
		counts := make([]int, n)
		for i := 0; i < calls; i++ {
			counts[lb.Pick(n, all, zero)]++
		}
		for i, c := range counts {
			if math.Abs(float64(c)-calls/n) > 0.05*calls/n {
				t.Errorf("replica %d got %d, want %d ± 5%%", i, c, calls/n)
			}
		}
	})
	// For the load-aware policies, simulate replicas where replica 0 is slow:
	// each pick adds a call in flight, and each step completes calls at a
	// per-replica rate.
	loadAware := func(t *testing.T, policy string) []int {
		lb := NewBalancer(policy, intn)
		inflight := make([]int64, n)
		counts := make([]int, n)
		rate := []int64{1, 3, 3} // calls completed per step (of 7 picks)
		for i := 0; i < calls; i++ {
			p := lb.Pick(n, all, func(i int) int64 { return inflight[i] })
			counts[p]++
			inflight[p]++
			if i%7 == 6 {
				for k := range inflight {
					inflight[k] = max(0, inflight[k]-rate[k])
				}
			}
		}
		return counts
	}
	t.Run("least_inflight avoids the slow replica", func(t *testing.T) {
		c := loadAware(t, LeastInflight)
		if c[0] >= c[1]/2 || c[0] >= c[2]/2 {
			t.Errorf("slow replica got %v calls, want well under half of each fast one", c)
		}
		if d := math.Abs(float64(c[1] - c[2])); d > 0.1*float64(c[1]) {
			t.Errorf("fast replicas unevenly loaded: %v", c)
		}
	})
	t.Run("p2c avoids the slow replica, still probes it", func(t *testing.T) {
		c := loadAware(t, P2C)
		if c[0] >= c[1]*2/3 || c[0] == 0 {
			t.Errorf("slow replica got %v, want fewer than 2/3 of a fast one but some", c)
		}
	})
	t.Run("least_inflight and p2c spread evenly when equal", func(t *testing.T) {
		for _, p := range []string{LeastInflight, P2C} {
			lb := NewBalancer(p, intn)
			counts := make([]int, n)
			for i := 0; i < calls; i++ {
				counts[lb.Pick(n, all, zero)]++
			}
			for i, c := range counts {
				if math.Abs(float64(c)-calls/n) > 0.05*calls/n {
					t.Errorf("%s: replica %d got %d, want %d ± 5%%", p, i, c, calls/n)
				}
			}
		}
	})
}
