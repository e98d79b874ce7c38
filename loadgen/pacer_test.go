package loadgen

import (
	"errors"
	"math"
	"testing"
	"time"
)

func arrivals(stages []Stage) []time.Duration {
	p := newPacer(stages)
	var out []time.Duration
	for {
		off, ok := p.next()
		if !ok {
			return out
		}
		out = append(out, off)
	}
}

func TestPacerConstant(t *testing.T) {
	a := arrivals([]Stage{{Duration: 2 * time.Second, Rate: 100}})
	if len(a) != 200 {
		t.Fatalf("arrivals = %d, want 200", len(a))
	}
	for i, off := range a {
		want := time.Duration(i) * 10 * time.Millisecond
		if d := off - want; d < -time.Microsecond || d > time.Microsecond {
			t.Fatalf("arrival %d at %s, want %s", i, off, want)
		}
	}
}

func TestPacerRamp(t *testing.T) {
	// 1 s at 100/s, then a ramp 100 → 300/s over 2 s: 100 + 2·200 = 500 arrivals.
	st := []Stage{{Duration: time.Second, Rate: 100}, {Duration: 2 * time.Second, Rate: 300}}
	a := arrivals(st)
	if len(a) != 500 {
		t.Fatalf("arrivals = %d, want 500", len(a))
	}
	// The count up to t inside the ramp is 100 + 100(t-1) + 50(t-1)².
	for _, tt := range []float64{1.5, 2, 2.5, 2.99} {
		want := 100 + 100*(tt-1) + 50*(tt-1)*(tt-1)
		got := 0
		for _, off := range a {
			if off.Seconds() < tt {
				got++
			}
		}
		if math.Abs(float64(got)-want) > 1.01 {
			t.Errorf("arrivals before %.2fs = %d, want %.1f", tt, got, want)
		}
	}
	// Instantaneous rate from the gaps: about 200/s at t = 2 s.
	for i := 1; i < len(a); i++ {
		if a[i-1].Seconds() < 2 && a[i].Seconds() >= 2 {
			rate := 1 / (a[i] - a[i-1]).Seconds()
			if math.Abs(rate-200) > 2 {
				t.Errorf("rate at 2s = %.1f, want 200", rate)
			}
		}
		if a[i] < a[i-1] {
			t.Fatalf("arrival %d goes back in time", i)
		}
	}
	p := newPacer(st)
	if r := p.rateAt(500 * time.Millisecond); r != 100 {
		t.Errorf("rateAt(0.5s) = %v, want 100", r)
	}
	if r := p.rateAt(2 * time.Second); math.Abs(r-200) > 1e-9 {
		t.Errorf("rateAt(2s) = %v, want 200", r)
	}
}

func TestPacerRampFromZeroAndDown(t *testing.T) {
	// 0 → 100/s over 1 s (50 arrivals), then 100 → 0 over 1 s (50 more).
	a := arrivals([]Stage{{Duration: 0, Rate: 0}, {Duration: time.Second, Rate: 100}, {Duration: time.Second, Rate: 0}})
	if len(a) != 100 {
		t.Fatalf("arrivals = %d, want 100", len(a))
	}
	// n arrivals before t in the up ramp: 50 t², so arrival n is at sqrt(n/50).
	for _, n := range []int{1, 10, 49} {
		want := math.Sqrt(float64(n) / 50)
		if d := math.Abs(a[n].Seconds() - want); d > 1e-6 {
			t.Errorf("arrival %d at %v, want %.4fs", n, a[n], want)
		}
	}
	if last := a[len(a)-1]; last > 2*time.Second {
		t.Errorf("last arrival %v after the end", last)
	}
}

func TestVUsAt(t *testing.T) {
	st := []Stage{{Duration: time.Second, VUs: 2}, {Duration: 2 * time.Second, VUs: 10}}
	for _, c := range []struct {
		at   time.Duration
		want int
	}{{0, 2}, {999 * time.Millisecond, 2}, {time.Second, 2}, {2 * time.Second, 6}, {2900 * time.Millisecond, 10}, {3 * time.Second, 0}} {
		if got := vusAt(st, c.at); got != c.want {
			t.Errorf("vusAt(%v) = %d, want %d", c.at, got, c.want)
		}
	}
}

// fakeClock advances only when the scheduler sleeps; each sleep overshoots
// by a fixed amount, like a real timer.
type fakeClock struct {
	now       time.Duration
	overshoot time.Duration
	sleeps    int
	stopAt    time.Duration // sleep fails (cancellation) once now passes it
	stall     map[int]time.Duration
	calls     int
}

func (c *fakeClock) since() time.Duration {
	c.calls++
	if d, ok := c.stall[c.calls]; ok { // the scheduler's thread was descheduled
		c.now += d
	}
	return c.now
}

func (c *fakeClock) sleep(d time.Duration) error {
	c.sleeps++
	c.now += d + c.overshoot
	if c.stopAt > 0 && c.now >= c.stopAt {
		return errors.New("cancelled")
	}
	return nil
}

func TestScheduleFakeClock(t *testing.T) {
	clk := &fakeClock{overshoot: 30 * time.Microsecond}
	var offs, lags []time.Duration
	schedule(clk, newPacer([]Stage{{Duration: time.Second, Rate: 1000}}), time.Second, wakeQuantum, func(n int64, off, lag time.Duration) bool {
		if n != int64(len(offs)) {
			t.Fatalf("sequence %d, want %d", n, len(offs))
		}
		offs = append(offs, off)
		lags = append(lags, lag)
		return true
	})
	if len(offs) != 1000 {
		t.Fatalf("dispatched %d, want 1000", len(offs))
	}
	for i, l := range lags {
		// Arrival 0 is due at once; every other one waits and is late by the overshoot.
		want := clk.overshoot
		if i == 0 {
			want = 0
		}
		if l != want {
			t.Fatalf("lag of arrival %d = %v, want %v", i, l, want)
		}
		if offs[i] != time.Duration(i)*time.Millisecond {
			t.Fatalf("arrival %d due at %v", i, offs[i])
		}
	}
}

func TestScheduleCatchesUpAfterStall(t *testing.T) {
	// The scheduler loses 50 ms once: the arrivals due meanwhile go out at
	// once, late, with their lag measured; none is skipped.
	clk := &fakeClock{stall: map[int]time.Duration{21: 50 * time.Millisecond}}
	var lags []time.Duration
	schedule(clk, newPacer([]Stage{{Duration: 200 * time.Millisecond, Rate: 1000}}), 200*time.Millisecond, wakeQuantum, func(_ int64, _, lag time.Duration) bool {
		lags = append(lags, lag)
		return true
	})
	if len(lags) != 200 {
		t.Fatalf("dispatched %d, want 200", len(lags))
	}
	late := 0
	var worst time.Duration
	for _, l := range lags {
		if l > 0 {
			late++
			worst = max(worst, l)
		}
	}
	if late < 45 || late > 55 || worst < 45*time.Millisecond {
		t.Errorf("late arrivals = %d (worst %v), want about 50 late by up to 50ms", late, worst)
	}
}

func TestScheduleStops(t *testing.T) {
	clk := &fakeClock{stopAt: 100 * time.Millisecond}
	n := 0
	schedule(clk, newPacer([]Stage{{Duration: time.Second, Rate: 1000}}), time.Second, wakeQuantum, func(int64, time.Duration, time.Duration) bool {
		n++
		return true
	})
	if n < 99 || n > 101 {
		t.Errorf("dispatched %d before cancellation at 100ms, want ~100", n)
	}
	n = 0
	schedule(&fakeClock{}, newPacer([]Stage{{Duration: time.Second, Rate: 1000}}), time.Second, wakeQuantum, func(int64, time.Duration, time.Duration) bool {
		n++
		return n < 10
	})
	if n != 10 {
		t.Errorf("dispatch returning false after 10: dispatched %d", n)
	}
}

func TestScheduleQuantum(t *testing.T) {
	// 20,000/s: arrivals 50 µs apart go out in batches of about 4 per 200 µs wake.
	clk := &fakeClock{}
	var worst time.Duration
	n := 0
	schedule(clk, newPacer([]Stage{{Duration: 100 * time.Millisecond, Rate: 20000}}), 100*time.Millisecond, 200*time.Microsecond, func(_ int64, _, lag time.Duration) bool {
		n++
		worst = max(worst, lag)
		return true
	})
	if n != 2000 {
		t.Fatalf("dispatched %d, want 2000", n)
	}
	if clk.sleeps > 520 || clk.sleeps < 480 {
		t.Errorf("%d wakes for 100 ms, want ~500 (one per 200 µs)", clk.sleeps)
	}
	if worst > 200*time.Microsecond {
		t.Errorf("worst lag %v beyond the quantum", worst)
	}
}
