package fleet

import (
	"context"
	"errors"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/gameday/gameday/faults"
)

func TestBackoffDoublesUpToTheCapAndResetsAfterALongRun(t *testing.T) {
	b := NewBackoff(RestartConfig{Delay: 300 * time.Millisecond, MaxDelay: 2 * time.Second, ResetAfter: 10 * time.Second})
	var got []time.Duration
	for range 5 {
		b.Ran(time.Second) // short runs: restarts in a row
		got = append(got, b.Next(300*time.Millisecond))
	}
	want := []time.Duration{300 * time.Millisecond, 600 * time.Millisecond, 1200 * time.Millisecond, 2 * time.Second, 2 * time.Second}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("delays %v, want %v", got, want)
		}
	}
	b.Ran(10 * time.Second)
	if d := b.Next(300 * time.Millisecond); d != 300*time.Millisecond {
		t.Errorf("after a run of ResetAfter: %v, want the base again", d)
	}
	if d := b.Next(0); d != 0 {
		t.Errorf("base 0: %v", d)
	}
	if d := b.Next(-time.Second); d != 0 {
		t.Errorf("negative base: %v, want 0", d)
	}
}

func TestBackoffSaturatesInsteadOfOverflowing(t *testing.T) {
	b := NewBackoff(RestartConfig{Delay: time.Hour, MaxDelay: math.MaxInt64})
	var last time.Duration
	for range 30 {
		d := b.Next(10 * time.Hour)
		if d < last {
			t.Fatalf("delay went down from %v to %v", last, d)
		}
		last = d
	}
	if last != math.MaxInt64 {
		t.Errorf("last delay %v, want the cap", last)
	}
}

func TestExitedFollowsTheFaultsPolicyThenTheConfig(t *testing.T) {
	cfg := RestartConfig{Delay: time.Second, MaxDelay: time.Minute, ResetAfter: time.Hour}
	for _, tc := range []struct {
		name      string
		cfg       RestartConfig
		pol       *faults.RestartPolicy
		wantDelay time.Duration
		wantWait  bool
	}{
		{"crash", cfg, nil, time.Second, false},
		{"crash, never", RestartConfig{Never: true}, nil, 0, true},
		{"kill, delay", cfg, &faults.RestartPolicy{Mode: faults.RestartAfterDelay, Delay: 3 * time.Second}, 3 * time.Second, false},
		{"stop, delay 0s", cfg, &faults.RestartPolicy{Mode: faults.RestartAfterDelay}, 0, false},
		{"kill, delay, never config", RestartConfig{Never: true}, &faults.RestartPolicy{Mode: faults.RestartAfterDelay, Delay: 2 * time.Second}, 2 * time.Second, false},
		{"kill, end", cfg, &faults.RestartPolicy{Mode: faults.RestartAtRevert}, 0, true},
		{"kill, never", cfg, &faults.RestartPolicy{Mode: faults.RestartNever}, 0, true},
	} {
		l := NewLife(tc.cfg)
		if tc.pol != nil {
			l.Pend(*tc.pol)
		}
		delay, wait := l.Exited(time.Second)
		if delay != tc.wantDelay || wait != tc.wantWait {
			t.Errorf("%s: delay %v wait %v, want %v %v", tc.name, delay, wait, tc.wantDelay, tc.wantWait)
		}
	}
}

func TestExitedForgetsThePolicyAndBacksOffAcrossKinds(t *testing.T) {
	l := NewLife(RestartConfig{Delay: 100 * time.Millisecond, MaxDelay: time.Minute, ResetAfter: time.Hour})
	l.Pend(faults.RestartPolicy{Mode: faults.RestartAtRevert})
	l.Unpend() // the kill failed: the next exit is a crash
	if d, wait := l.Exited(0); d != 100*time.Millisecond || wait {
		t.Errorf("after Unpend: %v %v", d, wait)
	}
	l.Pend(faults.RestartPolicy{Mode: faults.RestartAfterDelay, Delay: time.Second})
	if d, _ := l.Exited(0); d != 2*time.Second {
		t.Errorf("second restart in a row: %v, want 2s", d)
	}
	if d, _ := l.Exited(0); d != 400*time.Millisecond {
		t.Errorf("the policy was kept for the next exit: %v, want 400ms", d)
	}
	if d := l.FailedStart(); d != 800*time.Millisecond {
		t.Errorf("failed start: %v, want 800ms", d)
	}
}

func TestWakeEndsTheSleepAndUpReleasesAwaitUp(t *testing.T) {
	l := NewLife(RestartConfig{})
	ctx := context.Background()
	up := l.Wake()
	l.Wake() // a second wake before the sleep is one wake
	if !l.Sleep(ctx, 0, true) {
		t.Fatal("Sleep ended false")
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := AwaitUp(short, up, "orders-0"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("AwaitUp before Up: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- AwaitUp(ctx, up, "orders-0") }()
	l.Up()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if l.Restarts() != 1 {
		t.Errorf("restarts %d", l.Restarts())
	}
	select {
	case <-l.Wake():
		t.Error("the next Wake's channel is already closed")
	default:
	}
}

func TestSleepWaitsTheDelayOrEndsWithItsContext(t *testing.T) {
	l := NewLife(RestartConfig{})
	start := time.Now()
	if !l.Sleep(context.Background(), 30*time.Millisecond, false) {
		t.Fatal("Sleep ended false")
	}
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("slept %v, want 30ms", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if l.Sleep(ctx, time.Hour, false) || l.Sleep(ctx, 0, true) {
		t.Error("Sleep did not end false with its context")
	}
}

func TestReviveRetriesAFailedStartWithBackoff(t *testing.T) {
	var mu sync.Mutex
	l := NewLife(RestartConfig{Delay: time.Millisecond, MaxDelay: time.Hour, ResetAfter: time.Hour})
	mu.Lock()
	delay, wait := l.Exited(0) // 1ms, first in a row
	mu.Unlock()
	attempts := 0
	got, ok := Revive(context.Background(), l, &mu, delay, wait, func(context.Context) (string, error) {
		attempts++
		if attempts < 3 {
			return "", errors.New("no")
		}
		return "up", nil
	})
	if !ok || got != "up" || attempts != 3 {
		t.Fatalf("Revive: %q %v after %d attempts", got, ok, attempts)
	}
	// One exit and two failed starts in a row: the next delay is 1ms × 2³.
	if d, _ := l.Exited(0); d != 8*time.Millisecond {
		t.Errorf("next delay %v, want 8ms", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	called := false
	if _, ok := Revive(ctx, l, &mu, time.Hour, false, func(context.Context) (int, error) { called = true; return 1, nil }); ok || called {
		t.Errorf("Revive after its context ended: ok %v, start called %v", ok, called)
	}
}
