package runner

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/gameday/gameday/experiments"
	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/internal/errext"
	"github.com/gameday/gameday/metrics"
	"github.com/gameday/gameday/reports"
	"github.com/gameday/gameday/sut/client"
)

// abortConditions converts the experiment's abort conditions.
func abortConditions(as []experiments.Abort) []metrics.AbortCondition {
	out := make([]metrics.AbortCondition, 0, len(as))
	for i, a := range as {
		name := a.Name
		if name == "" {
			name = fmt.Sprintf("abortWhen[%d]", i)
		}
		out = append(out, metrics.AbortCondition{Name: name, Query: a.PromQL, Bound: a.Expect.Bound, For: a.For.D()})
	}
	return out
}

// actualWindow returns the actual window of a fault occurrence, from the
// timeline's events, falling back to the planned offsets.
func (r *run) actualWindow(o experiments.Occurrence) (time.Time, time.Time) {
	start := r.loadStart().Add(o.Start.D())
	end := r.loadStart().Add(o.End.D())
	for _, e := range r.events {
		if e.Fault != o.Fault || e.Occurrence != o.N-1 || e.Actual.IsZero() {
			continue
		}
		switch e.Action {
		case faults.Inject:
			start = e.Actual
		case faults.Revert:
			end = e.Actual
		}
	}
	if end.Before(start) {
		end = start
	}
	return start, end
}

// window maps a planned interval to wall-clock times, using actual fault
// times where the interval is a fault's.
func (r *run) window(ps experiments.PlannedSLO, iv experiments.Interval) (time.Time, time.Time) {
	start, end := r.loadStart().Add(iv.Start.D()), r.loadStart().Add(iv.End.D())
	for _, o := range r.plan.Faults {
		if o.Fault != ps.Fault {
			continue
		}
		as, ae := r.actualWindow(o)
		if ps.Window == experiments.WindowDuring && o.Interval == iv {
			return as, ae
		}
		if ps.Window == experiments.WindowAfter && o.N == o.Of {
			start = ae
		}
	}
	return start, end
}

// baselineWindow is before the first fault (or the whole run without faults).
func (r *run) baselineWindow() (time.Time, time.Time) {
	end := r.plan.Total.D()
	if len(r.plan.Faults) > 0 {
		end = r.plan.Faults[0].Start.D()
	}
	return r.loadStart(), r.loadStart().Add(end)
}

// evaluate judges the SLOs, the recovery objectives and the steady state
// after the faults.
func (r *run) evaluate(ctx context.Context, q metrics.Querier) {
	spec := r.exp.Spec
	step := spec.ScrapeInterval.D()
	aborted := r.record.Abort != nil
	total := r.loadStart().Add(r.plan.Total.D())

	for _, pc := range r.plan.SteadyState {
		if pc.When != experiments.CheckAfterFaults {
			continue
		}
		c := r.steadyCheck(pc, total)
		name := pc.Name
		if len(r.plan.Faults) > 0 {
			name += " (after faults)"
		}
		if aborted {
			r.addSkipped(reports.KindSteadyState, name, pc.PromQL, pc.Expect.Text, "after the last fault", c)
			continue
		}
		res := metrics.Evaluate(ctx, q, c)
		r.addCheck(reports.KindSteadyState, name, pc.PromQL, pc.Expect.Text, "after the last fault", c, res)
		if !res.Pass {
			r.fail(errext.Failed, "steady state %q did not hold after the faults: %s", pc.Name, res.Reason)
		}
	}

	for _, ps := range r.plan.SLOs {
		slo := spec.SLOs[ps.Index]
		if ps.Recovery {
			r.evaluateRecovery(ctx, q, ps, slo, total)
			continue
		}
		bound := slo.Expect.Bound
		var baseline *float64
		if bound.Relative() {
			bs, be := r.baselineWindow()
			b, _, err := metrics.MeasureBaseline(ctx, q, slo.PromQL, bs, be, step)
			if err != nil {
				r.addFailed(reports.KindSLO, slo.Name, slo.PromQL, slo.Expect.Text, describeWindow(ps), fmt.Sprintf("baseline: %v", err))
				r.fail(errext.Failed, "SLO %q: baseline: %v", slo.Name, err)
				continue
			}
			baseline = &b
		}
		for k, iv := range ps.Intervals {
			start, end := r.window(ps, iv)
			name := slo.Name
			if len(ps.Intervals) > 1 {
				name = fmt.Sprintf("%s (#%d)", slo.Name, k+1)
			}
			c := metrics.Check{
				Name: name, Query: slo.PromQL, Bound: bound, Start: start, End: end,
				Mode: slo.Mode, For: slo.For.D(), Step: slo.Step.D(), MinSamples: slo.MinSamples, Baseline: baseline,
			}
			if c.Step <= 0 {
				c.Step = step
			}
			if aborted && end.After(r.abortTime()) {
				r.addSkipped(reports.KindSLO, name, slo.PromQL, slo.Expect.Text, describeWindow(ps), c)
				continue
			}
			res := metrics.Evaluate(ctx, q, c)
			r.addCheck(reports.KindSLO, name, slo.PromQL, slo.Expect.Text, describeWindow(ps), c, res)
			if !res.Pass {
				r.fail(errext.Failed, "SLO %q failed: %s", name, res.Reason)
			}
		}
	}
}

func (r *run) abortTime() time.Time {
	if r.record.Abort == nil {
		return time.Time{}
	}
	return r.loadStart().Add(time.Duration(r.record.Abort.FiredAt * float64(time.Second)))
}

func (r *run) evaluateRecovery(ctx context.Context, q metrics.Querier, ps experiments.PlannedSLO, slo experiments.SLO, total time.Time) {
	query, expect := slo.PromQL, slo.Expect
	if query == "" {
		query = experiments.DefaultRecoveryPromQL
	}
	if expect.Text == "" {
		b, err := metrics.ParseBound(experiments.DefaultRecoveryExpect)
		if err == nil {
			expect = experiments.Bound{Bound: b, Text: experiments.DefaultRecoveryExpect}
		}
	}
	consecutive := slo.Consecutive
	if consecutive <= 0 {
		consecutive = experiments.DefaultConsecutive
	}
	step := slo.Step.D()
	if step <= 0 {
		step = r.exp.Spec.ScrapeInterval.D()
	}
	start, _ := r.window(ps, ps.Intervals[0])
	// The SLI is named by the SLO; the query and its bound are in the
	// scenario appended to the report.
	rec := reports.Recovery{Fault: ps.Fault, SLI: slo.Name, Bound: slo.RecoveryTime.Text}
	bound := expect.Bound
	if bound.Relative() {
		bs, be := r.baselineWindow()
		b, _, err := metrics.MeasureBaseline(ctx, q, query, bs, be, step)
		if err == nil {
			bound, err = bound.Resolve(&b)
		}
		if err != nil {
			r.record.Recovery = append(r.record.Recovery, rec)
			r.fail(errext.Failed, "recovery %q: %v", slo.Name, err)
			return
		}
	}
	if r.record.Abort != nil {
		r.record.Recovery = append(r.record.Recovery, rec)
		return
	}
	d, ok, err := metrics.RecoveryTime(ctx, q, query, bound, start, total, consecutive, step)
	if err != nil {
		r.record.Recovery = append(r.record.Recovery, rec)
		r.fail(errext.Failed, "recovery %q: %v", slo.Name, err)
		return
	}
	secs := d.Seconds()
	if ok {
		rec.Seconds = &secs
		rec.Pass = slo.RecoveryTime.Holds(secs)
	}
	r.record.Recovery = append(r.record.Recovery, rec)
	if !rec.Pass {
		if ok {
			r.fail(errext.Failed, "%s: recovered after %.1fs, want %s", slo.Name, secs, slo.RecoveryTime.Text)
		} else {
			r.fail(errext.Failed, "%s: did not recover within the run (%.0fs after the fault)", slo.Name, secs)
		}
	}
}

func describeWindow(ps experiments.PlannedSLO) string {
	switch ps.Window {
	case experiments.WindowDuring:
		return "during " + ps.Fault
	case experiments.WindowAfter:
		return "after " + ps.Fault
	case experiments.WindowBefore:
		return "before the first fault"
	}
	return "whole run"
}

func (r *run) offset(t time.Time) float64 { return t.Sub(r.loadStart()).Seconds() }

func (r *run) addCheck(kind, name, query, bound, window string, c metrics.Check, res metrics.Result) {
	ch := reports.Check{
		Name: name, Kind: kind, Query: query, Bound: bound, Window: window,
		WindowStart: r.offset(c.Start), WindowEnd: r.offset(c.End),
		Pass: res.Pass, Reason: res.Reason, Samples: res.Samples,
	}
	if !math.IsNaN(res.Observed) && !math.IsInf(res.Observed, 0) {
		v := res.Observed
		ch.Observed = &v
	}
	// The bound as an absolute value (resolved against the baseline for a
	// relative one), so the report can draw it on the SLI's chart.
	if b, err := c.Bound.Resolve(c.Baseline); err == nil && !b.Relative() {
		th := b.Value
		ch.Threshold = &th
	}
	for _, p := range res.Series {
		if math.IsNaN(p.V) || math.IsInf(p.V, 0) {
			continue
		}
		ch.Series = append(ch.Series, reports.Point{T: r.offset(p.T), V: p.V})
	}
	r.mu.Lock()
	r.record.Checks = append(r.record.Checks, ch)
	r.mu.Unlock()
}

func (r *run) addSkipped(kind, name, query, bound, window string, c metrics.Check) {
	ch := reports.Check{
		Name: name, Kind: kind, Query: query, Bound: bound, Window: window,
		WindowStart: r.offset(c.Start), WindowEnd: r.offset(c.End),
		Skipped: true, Reason: "not evaluated: the run was aborted before this window ended",
	}
	r.mu.Lock()
	r.record.Checks = append(r.record.Checks, ch)
	r.mu.Unlock()
}

func (r *run) addFailed(kind, name, query, bound, window, reason string) {
	r.mu.Lock()
	r.record.Checks = append(r.record.Checks, reports.Check{Name: name, Kind: kind, Query: query, Bound: bound, Window: window, Reason: reason})
	r.mu.Unlock()
}

// checkIntegrity asks the shop whether every acknowledged order exists and
// was paid exactly once, and whether stock adds up.
func (r *run) checkIntegrity(ctx context.Context) {
	if r.dep == nil {
		return
	}
	rep, err := client.Integrity(ctx, r.dep.GatewayURL(), r.dep.AdminToken())
	in := &reports.Integrity{Checked: true}
	if err != nil {
		in.Problems = []string{fmt.Sprintf("integrity check failed: %v", err)}
		r.record.Integrity = in
		r.fail(errext.Failed, "integrity: %v", err)
		return
	}
	in.OK = rep.OK
	in.Problems = rep.Problems
	in.Counts = map[string]int64{
		"acknowledged": int64(rep.Acknowledged), "orders": int64(rep.Orders), "paid": int64(rep.Paid),
		"charges": int64(rep.Charges), "missing": int64(len(rep.Missing)), "unpaid": int64(len(rep.Unpaid)),
		"chargedTwice": int64(len(rep.ChargedTwice)), "stockMismatches": int64(len(rep.StockMismatches)),
		"cartChargedTwice": int64(len(rep.CartChargedTwice)),
	}
	r.record.Integrity = in
	if !rep.OK {
		r.fail(errext.Failed, "integrity: %d problem(s): %v", len(rep.Problems), rep.Problems)
	}
}
