package metrics

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/prometheus/common/model"
)

// Evaluation modes of a Check.
const (
	// ModeEnd evaluates the query once, at End; the query carries its own
	// range (for example rate(...[30s]) or a recording rule over 30s).
	ModeEnd = "end"
	// ModeContinuous evaluates the query at every Step in [Start, End]: the
	// check fails if any step breaks the bound, or, with For > 0, if the
	// bound is broken at every step for at least For.
	ModeContinuous = "continuous"
)

// DefaultStep is the evaluation step when a Check or a call leaves it zero.
const DefaultStep = time.Second

// Check is one SLO (or steady-state) check over a window of the run.
type Check struct {
	Name, Query string
	Bound       Bound
	Start, End  time.Time
	// Mode is ModeEnd (the default when empty) or ModeContinuous.
	Mode string
	// For (continuous only): how long the bound must be broken without
	// interruption before the check fails (0: any broken step fails).
	For time.Duration
	// Step is the resolution of continuous evaluation and of Result.Series
	// (default 1s).
	Step time.Duration
	// MinSamples is the minimum number of steps in [Start, End] at which
	// the query must return a value (default 1: no data always fails).
	MinSamples int
	// Baseline is the baseline value for a relative Bound (see
	// MeasureBaseline); ignored for an absolute one.
	Baseline *float64
}

// Point is one value of an SLI over time.
type Point struct {
	T time.Time
	V float64
}

// Result is the verdict of a Check.
type Result struct {
	Pass bool
	// Observed is the value the verdict is based on: the worst series at End
	// (ModeEnd) or the worst value over the window (ModeContinuous).
	Observed float64
	// Samples is the number of steps in [Start, End] at which the query
	// returned a value.
	Samples int
	// Series is the SLI at every Step in [Start, End] (the worst series at
	// each step), for reports.
	Series []Point
	// FirstBreach is the step at which a failed continuous check first
	// broke its bound (with For > 0: the first step of the streak that
	// lasted For), and the value there; nil otherwise.
	FirstBreach *Point
	// Reason says why the check failed, or what held when it passed.
	Reason string
}

// Evaluate runs a Check against q. It never returns a pass without data: no
// value at all is a failure whose Reason contains "no data", fewer than
// MinSamples values likewise; a query error is a failure carrying the error.
// When the query returns several series, every series must meet the bound
// and the worst one is Observed. NaN values (0/0 ratios over windows without
// traffic) count as no data.
func Evaluate(ctx context.Context, q Querier, c Check) Result {
	res := Result{Observed: math.NaN()}
	fail := func(format string, args ...any) Result {
		res.Pass = false
		res.Reason = fmt.Sprintf(format, args...)
		return res
	}
	if c.Query == "" {
		return fail("check %q has no query", c.Name)
	}
	if c.End.IsZero() {
		return fail("check %q has no window end", c.Name)
	}
	mode := c.Mode
	if mode == "" {
		mode = ModeEnd
	}
	if mode != ModeEnd && mode != ModeContinuous {
		return fail("check %q: mode %q is not valid (want %q or %q)", c.Name, c.Mode, ModeEnd, ModeContinuous)
	}
	if mode == ModeContinuous && (c.Start.IsZero() || c.Start.After(c.End)) {
		return fail("check %q: continuous evaluation needs a window with Start before End", c.Name)
	}
	step := c.Step
	if step <= 0 {
		step = DefaultStep
	}
	minSamples := max(c.MinSamples, 1)
	bound, err := c.Bound.Resolve(c.Baseline)
	if err != nil {
		return fail("check %q: %v", c.Name, err)
	}

	// The SLI over the window: the series for the report, the sample count,
	// and (continuous mode) the verdict.
	var steps []stepValues
	if !c.Start.IsZero() && !c.Start.After(c.End) {
		steps, err = rangeSteps(ctx, q, c.Query, c.Start, c.End, step)
		if err != nil {
			return fail("check %q: %v", c.Name, err)
		}
		res.Samples = len(steps)
		for _, s := range steps {
			res.Series = append(res.Series, Point{T: s.t, V: s.worst(bound)})
		}
	}

	if mode == ModeEnd {
		v, err := q.Instant(ctx, c.Query, c.End)
		if err != nil {
			return fail("check %q: %v", c.Name, err)
		}
		vals, err := floatValues(v)
		if err != nil {
			return fail("check %q: %v", c.Name, err)
		}
		if len(vals) == 0 {
			return fail("no data: %s returned nothing at %s", c.Query, c.End.UTC().Format(time.RFC3339))
		}
		if c.Start.IsZero() {
			res.Samples = 1
		}
		sv := stepValues{t: c.End}
		for _, x := range vals {
			sv.vals = append(sv.vals, x.v)
			sv.labels = append(sv.labels, x.labels)
		}
		res.Observed = sv.worst(bound)
		if res.Samples < minSamples {
			return fail("no data: only %d of the required %d samples in the window", res.Samples, minSamples)
		}
		if broken := sv.broken(bound); broken != "" {
			return fail("%s at the end of the window (%s)", describe(res.Observed, bound), broken)
		}
		res.Pass = true
		res.Reason = fmt.Sprintf("%s at the end of the window", describe(res.Observed, bound))
		return res
	}

	// Continuous.
	if len(steps) == 0 {
		return fail("no data: %s returned nothing between %s and %s", c.Query, c.Start.UTC().Format(time.RFC3339), c.End.UTC().Format(time.RFC3339))
	}
	for i, p := range res.Series {
		if i == 0 || bound.worse(p.V, res.Observed) {
			res.Observed = p.V
		}
	}
	if res.Samples < minSamples {
		return fail("no data: only %d of the required %d samples in the window", res.Samples, minSamples)
	}
	var runStart, runEnd time.Time // current run of broken steps
	var runVal float64
	for i, s := range steps {
		if s.broken(bound) == "" {
			runStart = time.Time{}
			continue
		}
		contiguous := i > 0 && !runStart.IsZero() && s.t.Sub(steps[i-1].t) <= step+step/2
		if !contiguous {
			runStart, runVal = s.t, res.Series[i].V
		}
		runEnd = s.t
		if bound.worse(res.Series[i].V, runVal) {
			runVal = res.Series[i].V
		}
		if c.For <= 0 {
			res.FirstBreach = &Point{T: s.t, V: res.Series[i].V}
			return fail("%s at %s (%s)", describe(res.Series[i].V, bound), s.t.UTC().Format(time.RFC3339), s.broken(bound))
		}
		if runEnd.Sub(runStart) >= c.For {
			for j := range steps {
				if steps[j].t.Equal(runStart) {
					res.FirstBreach = &Point{T: runStart, V: res.Series[j].V}
				}
			}
			return fail("%s continuously from %s to %s (at least %s)", describe(runVal, bound),
				runStart.UTC().Format(time.RFC3339), runEnd.UTC().Format(time.RFC3339), c.For)
		}
	}
	res.Pass = true
	if c.For > 0 {
		res.Reason = fmt.Sprintf("worst %s; never broken for %s", describe(res.Observed, bound), c.For)
	} else {
		res.Reason = fmt.Sprintf("worst %s over %d samples", describe(res.Observed, bound), res.Samples)
	}
	return res
}

func describe(v float64, b Bound) string {
	verb := "holds"
	if !b.Holds(v) {
		verb = "breaks"
	}
	return fmt.Sprintf("observed %s %s %s", strconv.FormatFloat(v, 'g', 6, 64), verb, b)
}

// stepValues holds every series' value at one evaluation step.
type stepValues struct {
	t      time.Time
	vals   []float64
	labels []string
}

func (s stepValues) worst(b Bound) float64 {
	w := s.vals[0]
	for _, v := range s.vals[1:] {
		if b.worse(v, w) {
			w = v
		}
	}
	return w
}

// broken describes the first series that breaks the bound, "" if all hold.
func (s stepValues) broken(b Bound) string {
	n := 0
	first := ""
	for i, v := range s.vals {
		if !b.Holds(v) {
			if n == 0 {
				first = s.labels[i]
			}
			n++
		}
	}
	switch {
	case n == 0:
		return ""
	case len(s.vals) == 1:
		return "series " + first
	default:
		return fmt.Sprintf("%d of %d series, first %s", n, len(s.vals), first)
	}
}

// rangeSteps runs a range query and groups the float values by step, in time
// order. Steps without any (non-NaN) value are absent.
func rangeSteps(ctx context.Context, q Querier, query string, start, end time.Time, step time.Duration) ([]stepValues, error) {
	m, err := q.Range(ctx, query, start, end, step)
	if err != nil {
		return nil, err
	}
	byT := map[model.Time]*stepValues{}
	for _, ss := range m {
		if len(ss.Histograms) > 0 {
			return nil, fmt.Errorf("query %q returns native histograms (series %s): wrap it in histogram_quantile, histogram_avg or similar", query, ss.Metric)
		}
		lbl := ss.Metric.String()
		for _, p := range ss.Values {
			if math.IsNaN(float64(p.Value)) {
				continue
			}
			sv := byT[p.Timestamp]
			if sv == nil {
				sv = &stepValues{t: p.Timestamp.Time()}
				byT[p.Timestamp] = sv
			}
			sv.vals = append(sv.vals, float64(p.Value))
			sv.labels = append(sv.labels, lbl)
		}
	}
	out := make([]stepValues, 0, len(byT))
	for _, sv := range byT {
		out = append(out, *sv)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].t.Before(out[j].t) })
	return out, nil
}

// ErrNoData is wrapped by MeasureBaseline and RecoveryTime when the query
// returned nothing.
var ErrNoData = errors.New("no data")

// MeasureBaseline measures the baseline of a query over the baseline window:
// the mean of all its values at every step in [start, end] (default step 1s),
// and how many steps had a value. It is the value "baseline" stands for in a
// relative bound ("< 1.5 * baseline").
func MeasureBaseline(ctx context.Context, q Querier, query string, start, end time.Time, step time.Duration) (float64, int, error) {
	if step <= 0 {
		step = DefaultStep
	}
	if !start.Before(end) {
		return 0, 0, fmt.Errorf("measure baseline of %q: empty window %s..%s", query, start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))
	}
	steps, err := rangeSteps(ctx, q, query, start, end, step)
	if err != nil {
		return 0, 0, fmt.Errorf("measure baseline: %w", err)
	}
	var sum float64
	var n int
	for _, s := range steps {
		for _, v := range s.vals {
			sum += v
			n++
		}
	}
	if n == 0 {
		return 0, 0, fmt.Errorf("measure baseline of %q: %w in the baseline window", query, ErrNoData)
	}
	return sum / float64(n), len(steps), nil
}

// RecoveryTime returns how long after faultEnd the SLI came back within bound
// (an absolute bound: resolve a relative one first) and stayed there for
// `consecutive` consecutive steps (every series meeting it, a step without
// data interrupting the streak), looking at steps in [faultEnd, until]. The
// recovery time is measured to the first step of that streak; 0 means the
// SLI was within bound when the fault ended. recovered is false when no such
// streak started in the window; the duration is then until-faultEnd.
func RecoveryTime(ctx context.Context, q Querier, query string, bound Bound, faultEnd, until time.Time, consecutive int, step time.Duration) (time.Duration, bool, error) {
	if err := bound.validate(); err != nil {
		return 0, false, fmt.Errorf("recovery time of %q: %w", query, err)
	}
	if bound.Relative() {
		return 0, false, fmt.Errorf("recovery time of %q: bound %s is relative; resolve it against the baseline first", query, bound)
	}
	if step <= 0 {
		step = DefaultStep
	}
	consecutive = max(consecutive, 1)
	if until.Before(faultEnd) {
		return 0, false, fmt.Errorf("recovery time of %q: window ends (%s) before the fault does (%s)", query, until.UTC().Format(time.RFC3339), faultEnd.UTC().Format(time.RFC3339))
	}
	steps, err := rangeSteps(ctx, q, query, faultEnd, until, step)
	if err != nil {
		return 0, false, fmt.Errorf("recovery time: %w", err)
	}
	if len(steps) == 0 {
		return 0, false, fmt.Errorf("recovery time of %q: %w after the fault", query, ErrNoData)
	}
	streak := 0
	var streakStart, prev time.Time
	for _, s := range steps {
		if s.broken(bound) != "" {
			streak = 0
			continue
		}
		if streak > 0 && s.t.Sub(prev) > step+step/2 { // a gap without data
			streak = 0
		}
		if streak == 0 {
			streakStart = s.t
		}
		streak++
		prev = s.t
		if streak >= consecutive {
			return max(streakStart.Sub(faultEnd), 0), true, nil
		}
	}
	return until.Sub(faultEnd), false, nil
}
