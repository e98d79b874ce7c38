package metrics

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// AbortCondition stops a run: it fires when Query meets Bound (for example
// `> 0.5` on an error ratio) without interruption for at least For.
type AbortCondition struct {
	Name, Query string
	// Bound is the firing condition; it must be absolute (resolve a
	// baseline-relative one first).
	Bound Bound
	For   time.Duration
}

// Abort reports the condition that fired.
type Abort struct {
	Condition AbortCondition
	// Since is when the condition was first seen true, At when it fired.
	Since, At time.Time
	Observed  float64
	Reason    string
}

// AbortWatcher evaluates abort conditions every Step (default 1s) at the
// current time. A condition is true when any series of its query meets its
// Bound; no data, NaN or a query error make it false (and reset its For
// timer).
type AbortWatcher struct {
	Querier    Querier
	Conditions []AbortCondition
	Step       time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives query errors (default: discarded).
	Logger *slog.Logger
}

// Run evaluates the conditions until one fires, which it returns, or until
// ctx is done (nil, ctx.Err()). It blocks: the caller owns the goroutine.
func (w *AbortWatcher) Run(ctx context.Context) (*Abort, error) {
	for _, c := range w.Conditions {
		if err := c.Bound.validate(); err != nil {
			return nil, fmt.Errorf("abort condition %q: %w", c.Name, err)
		}
		if c.Bound.Relative() {
			return nil, fmt.Errorf("abort condition %q: bound %s is relative; resolve it against the baseline first", c.Name, c.Bound)
		}
		if c.Query == "" {
			return nil, fmt.Errorf("abort condition %q has no query", c.Name)
		}
	}
	step := w.Step
	if step <= 0 {
		step = DefaultStep
	}
	now := w.Now
	if now == nil {
		now = time.Now
	}
	logger := w.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if len(w.Conditions) == 0 {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	since := make([]time.Time, len(w.Conditions))
	tick := time.NewTicker(step)
	defer tick.Stop()
	for {
		t := now()
		for i, c := range w.Conditions {
			v, ok, err := w.firing(ctx, c, t)
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				logger.Warn("abort condition query failed", "condition", c.Name, "err", err)
			}
			if !ok {
				since[i] = time.Time{}
				continue
			}
			if since[i].IsZero() {
				since[i] = t
			}
			if t.Sub(since[i]) >= c.For {
				return &Abort{
					Condition: c, Since: since[i], At: t, Observed: v,
					Reason: fmt.Sprintf("%s: %s %s since %s", c.Name, c.Query, describe(v, c.Bound), since[i].UTC().Format(time.RFC3339)),
				}, nil
			}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
}

// firing evaluates one condition at t: ok when a series meets the bound; v
// is the value furthest into the firing region.
func (w *AbortWatcher) firing(ctx context.Context, c AbortCondition, t time.Time) (v float64, ok bool, err error) {
	res, err := w.Querier.Instant(ctx, c.Query, t)
	if err != nil {
		return 0, false, err
	}
	vals, err := floatValues(res)
	if err != nil {
		return 0, false, err
	}
	for _, x := range vals {
		if !c.Bound.Holds(x.v) {
			continue
		}
		// For "> 0.5", the largest value is furthest into the firing region.
		if !ok || c.Bound.worse(v, x.v) {
			v = x.v
		}
		ok = true
	}
	return v, ok, nil
}
