package finesleep

import (
	"context"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"
)

// The point of the package: a 200 µs sleep takes about 200 µs, where a
// runtime timer takes about a millisecond. The median of many sleeps is
// compared with the request, not timed against a budget: the check is that
// the overshoot is well under the runtime timer's millisecond.
func TestSleepIsPreciseBelowAMillisecond(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("timerfd is Linux only")
	}
	var p Pool
	const d = 200 * time.Microsecond
	var took []time.Duration
	for i := 0; i < 200; i++ {
		start := time.Now()
		if !p.Sleep(context.Background(), d) {
			t.Fatal("an uncancelled sleep reported cancellation")
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	med := took[len(took)/2]
	if med < d {
		t.Fatalf("median sleep %v is shorter than the %v asked", med, d)
	}
	if med > d+600*time.Microsecond {
		t.Errorf("median sleep %v for %v asked: no better than a runtime timer", med, d)
	}
	t.Logf("200 µs asked: median %v, p90 %v", med, took[len(took)*9/10])
}

func TestSleepEndsWhenTheContextEnds(t *testing.T) {
	var p Pool
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan bool)
	go func() { done <- p.Sleep(ctx, time.Hour) }()
	cancel()
	select {
	case whole := <-done:
		if whole {
			t.Fatal("a cancelled sleep reported it waited the whole hour")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the sleep did not end with its context")
	}
	// A cancelled timer is not reused: the next sleep waits its full time.
	start := time.Now()
	if !p.Sleep(context.Background(), 5*time.Millisecond) || time.Since(start) < 5*time.Millisecond {
		t.Fatal("a sleep after a cancellation ended early")
	}
}

func TestTimerSleep(t *testing.T) {
	tm, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer tm.Close()
	start := time.Now()
	if err := tm.Sleep(2 * time.Millisecond); err != nil || time.Since(start) < 2*time.Millisecond {
		t.Fatalf("Sleep(2ms): %v after %v", err, time.Since(start))
	}
	if err := tm.SleepContext(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
}

func TestBoundTimerEndsEverySleepWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	tm, err := NewBound(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tm.Close()
	if err := tm.Sleep(time.Millisecond); err != nil {
		t.Fatalf("a sleep before the cancellation: %v", err)
	}
	done := make(chan error)
	go func() { done <- tm.Sleep(time.Hour) }()
	cancel()
	select {
	case err := <-done:
		if err != context.Canceled {
			t.Fatalf("a cancelled sleep returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the sleep did not end with its context")
	}
	if err := tm.Sleep(time.Hour); err != context.Canceled {
		t.Fatalf("a sleep after the cancellation returned %v", err)
	}
}

// BenchmarkPoolSleep is the shop's service time: a 100 µs sleep on a pooled
// Timer. cpu-ns/op is the process's CPU time (user + system) per sleep, the
// cost that matters on a machine where every system call is expensive.
func BenchmarkPoolSleep(b *testing.B) {
	var p Pool
	ctx, cancel := context.WithCancel(context.Background()) // cancellable, like a request's
	defer cancel()
	start := cpuTime(b)
	for b.Loop() {
		if !p.Sleep(ctx, 100*time.Microsecond) {
			b.Fatal("an uncancelled sleep reported cancellation")
		}
	}
	b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
}

// BenchmarkBoundTimerSleep is the load generator's scheduler: 200 µs sleeps
// on one bound Timer.
func BenchmarkBoundTimerSleep(b *testing.B) {
	tm, err := NewBound(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	defer tm.Close()
	start := cpuTime(b)
	for b.Loop() {
		if err := tm.Sleep(200 * time.Microsecond); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// A Timer never reads its timerfd: an expiry the previous sleep did not
// wait for (its deadline had passed before it waited) must neither end the
// next sleep early nor be missed by it. Sleeps of mixed lengths, some far
// shorter than a wake-up, on one Timer each last at least their time.
func TestMixedSleepsOnOneTimerEachLastTheirTime(t *testing.T) {
	tm, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer tm.Close()
	lengths := []time.Duration{time.Nanosecond, 300 * time.Microsecond, time.Microsecond, 2 * time.Microsecond,
		50 * time.Microsecond, 0, 1500 * time.Microsecond, time.Nanosecond, 200 * time.Microsecond}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := 0; i < 50; i++ {
		for j, d := range lengths {
			start := time.Now()
			var err error
			if j%2 == 0 {
				err = tm.Sleep(d)
			} else {
				err = tm.SleepContext(ctx, d)
			}
			if took := time.Since(start); err != nil || took < d {
				t.Fatalf("sleep %d of %v: %v after %v", i*len(lengths)+j, d, err, took)
			}
		}
	}
}
