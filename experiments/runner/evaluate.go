package runner

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gameday/gameday/experiments"
	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/internal/lib/errext"
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
// after the faults. A window, or the part of one, that lies after the run's
// actual end (an interrupt, an abort) has no data: its check is not
// evaluated, and says why (see judgeWindow).
func (r *run) evaluate(ctx context.Context, q metrics.Querier) {
	spec := r.exp.Spec
	step := spec.ScrapeInterval.D()
	total := r.loadStart().Add(r.plan.Total.D())

	for _, pc := range r.plan.SteadyState {
		if pc.When != experiments.CheckAfterFaults {
			continue
		}
		c := r.steadyCheck(pc, total)
		key := steadyKey(pc)
		pre := r.pending(key)
		if _, skip := r.judgeWindow(c.Start, c.End, false); skip != "" {
			r.setCheck(key, r.notEvaluated(pre, c, skip))
			continue
		}
		res := metrics.Evaluate(ctx, q, c)
		r.setCheck(key, r.judged(pre, c, res))
		if !res.Pass {
			r.fail(errext.Failed, "steady state %q did not hold after the faults: %s", pc.Name, r.offsets(res.Reason))
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
		var baselineErr string
		if bound.Relative() {
			bs, be := r.baselineWindow()
			if _, skip := r.judgeWindow(bs, be, false); skip != "" {
				baselineErr = "its baseline window " + strings.TrimPrefix(skip, "the run ")
			} else if b, _, err := metrics.MeasureBaseline(ctx, q, slo.PromQL, bs, be, step); err != nil {
				baselineErr = fmt.Sprintf("baseline: %v", err)
			} else {
				baseline = &b
			}
		}
		for k, iv := range ps.Intervals {
			start, end := r.window(ps, iv)
			key := sloKey(ps.Index, k)
			pre := r.pending(key)
			c := metrics.Check{
				Name: pre.Name, Query: slo.PromQL, Bound: bound, Start: start, End: end,
				Mode: slo.Mode, For: slo.For.D(), Step: slo.Step.D(), MinSamples: slo.MinSamples, Baseline: baseline,
			}
			if c.Step <= 0 {
				c.Step = step
			}
			evalEnd, skip := r.judgeWindow(start, end, slo.Mode == metrics.ModeContinuous)
			if skip == "" && baselineErr != "" {
				if strings.HasPrefix(baselineErr, "its baseline window") {
					skip = "not evaluated: " + baselineErr
				} else {
					ch := r.notEvaluated(pre, c, "")
					ch.Status, ch.Reason = reports.StatusFail, baselineErr
					r.setCheck(key, ch)
					r.fail(errext.Failed, "SLO %q: %s", pre.Name, baselineErr)
					continue
				}
			}
			if skip != "" {
				r.setCheck(key, r.notEvaluated(pre, c, skip))
				continue
			}
			partial := evalEnd.Before(end)
			if partial {
				c.End = evalEnd
			}
			res := metrics.Evaluate(ctx, q, c)
			ch := r.judged(pre, c, res)
			ch.WindowEnd = r.offset(end)
			if partial {
				if res.Pass || res.FirstBreach == nil {
					// No breach in the part that ran; the rest was never measured.
					part := "over the part that ran it held"
					if !res.Pass {
						part = "the part that ran: " + r.offsets(res.Reason)
					}
					ch.Status = reports.StatusNotEvaluated
					ch.Reason = fmt.Sprintf("not evaluated: %s at t=%s, %s before this window's end (t=%s); %s",
						r.endWord(), fmtOffset(r.offset(evalEnd)), fmtGap(end.Sub(evalEnd)), fmtOffset(r.offset(end)), part)
					r.setCheck(key, ch)
					continue
				}
				// Judged on the part that ran: the window recorded is that part.
				ch.WindowEnd = r.offset(evalEnd)
				ch.Reason = fmt.Sprintf("judged on t=%s–%s, the part of the window (planned to t=%s) before %s; broken there: %s",
					fmtOffset(ch.WindowStart), fmtOffset(ch.WindowEnd), fmtOffset(r.offset(end)), r.endWord(), ch.Reason)
			}
			r.setCheck(key, ch)
			if !res.Pass {
				r.fail(errext.Failed, "SLO %q failed: %s", pre.Name, r.offsets(res.Reason))
			}
		}
	}
}

// judgeWindow relates a check's window to the run's actual end. For a run
// that completed it returns end and no reason. For a run cut short at E: a
// window that begins at or after E is not evaluated; one that ends after E
// is not evaluated either, unless continuous is set, when it is judged over
// the part before E (a breach there is real; a pass there says nothing of
// the rest): evalEnd is then E. skip is the reason a check is not
// evaluated, "" when it is.
func (r *run) judgeWindow(start, end time.Time, continuous bool) (evalEnd time.Time, skip string) {
	cut := r.cutAt()
	if cut.IsZero() || !end.After(cut) {
		return end, ""
	}
	at := fmtOffset(r.offset(cut))
	if !start.Before(cut) {
		return time.Time{}, fmt.Sprintf("not evaluated: %s at t=%s, before this window began (t=%s–%s): it has no data",
			r.endWord(), at, fmtOffset(r.offset(start)), fmtOffset(r.offset(end)))
	}
	if !continuous {
		return time.Time{}, fmt.Sprintf("not evaluated: %s at t=%s, before this window's end (t=%s), where it is judged: that moment has no data",
			r.endWord(), at, fmtOffset(r.offset(end)))
	}
	return cut, ""
}

// cutAt is when the run stopped short of its plan (the interrupt or the
// abort: when the load stopped), zero for a run that completed.
func (r *run) cutAt() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cut
}

// endWord names how the run ended early, for reasons.
func (r *run) endWord() string {
	switch {
	case r.record.Abort != nil:
		return "the run was aborted"
	case r.code == errext.Interrupted:
		return "the run was interrupted"
	}
	return "the run ended"
}

func (r *run) abortTime() time.Time {
	if r.record.Abort == nil {
		return time.Time{}
	}
	return r.loadStart().Add(time.Duration(r.record.Abort.FiredAt * float64(time.Second)))
}

func (r *run) evaluateRecovery(ctx context.Context, q metrics.Querier, ps experiments.PlannedSLO, slo experiments.SLO, total time.Time) {
	key := recoveryKey(ps.Index)
	pre := r.pending(key)
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
	rec := reports.Recovery{Fault: ps.Fault, SLI: slo.Name, Bound: slo.RecoveryTime.Text}
	until := total // the end of what is judged: the deadline, or where the run was cut
	done := func(st reports.Status, reason string) {
		ch := reports.RecoveryCheck(rec, st, reason)
		ch.Name, ch.Query = pre.Name, query
		ch.WindowStart, ch.WindowEnd = r.offset(start), r.offset(until)
		r.mu.Lock()
		r.record.Recovery = append(r.record.Recovery, rec)
		r.mu.Unlock()
		r.setCheck(key, ch)
		if st == reports.StatusFail {
			r.fail(errext.Failed, "%s: %s", slo.Name, reason)
		}
	}
	if cut := r.cutAt(); !cut.IsZero() && cut.Before(total) {
		if !cut.After(start) {
			done(reports.StatusNotEvaluated, fmt.Sprintf("not evaluated: %s at t=%s, before %s was reverted", r.endWord(), fmtOffset(r.offset(cut)), ps.Fault))
			return
		}
		until = cut
	}
	bound := expect.Bound
	if bound.Relative() {
		bs, be := r.baselineWindow()
		if _, skip := r.judgeWindow(bs, be, false); skip != "" {
			done(reports.StatusNotEvaluated, "not evaluated: the baseline window "+strings.TrimPrefix(skip, "not evaluated: "))
			return
		}
		b, _, err := metrics.MeasureBaseline(ctx, q, query, bs, be, step)
		if err == nil {
			bound, err = bound.Resolve(&b)
		}
		if err != nil {
			done(reports.StatusFail, err.Error())
			return
		}
	}
	d, ok, err := metrics.RecoveryTime(ctx, q, query, bound, start, until, consecutive, step)
	if err != nil {
		if until.Before(total) && errors.Is(err, metrics.ErrNoData) {
			done(reports.StatusNotEvaluated, fmt.Sprintf("not evaluated: %s at t=%s, with no data after the revert", r.endWord(), fmtOffset(r.offset(until))))
			return
		}
		done(reports.StatusFail, err.Error())
		return
	}
	secs := d.Seconds()
	switch {
	case ok:
		rec.Seconds = &secs
		if slo.RecoveryTime.Holds(secs) {
			done(reports.StatusPass, "")
		} else {
			done(reports.StatusFail, fmt.Sprintf("recovered after %.1fs, want %s", secs, slo.RecoveryTime.Text))
		}
	case until.Before(total) && slo.RecoveryTime.Holds(secs):
		// Cut short before the bound ran out: it might still have recovered.
		done(reports.StatusNotEvaluated, fmt.Sprintf("not evaluated: %s at t=%s, %.1fs after the revert, before it recovered and before %s ran out",
			r.endWord(), fmtOffset(r.offset(until)), secs, slo.RecoveryTime.Text))
	default:
		done(reports.StatusFail, fmt.Sprintf("did not recover within %.0fs after the fault (want %s)", secs, slo.RecoveryTime.Text))
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

// fmtOffset formats an offset in seconds since the load's start: "34.0s".
func fmtOffset(s float64) string { return strconv.FormatFloat(s, 'f', 1, 64) + "s" }

func fmtGap(d time.Duration) string { return d.Round(100 * time.Millisecond).String() }

var rfc3339 = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z`)

// offsets rewrites the absolute times in a metrics reason as offsets since
// the load's start ("t=34.0s"), the clock every view uses.
func (r *run) offsets(s string) string {
	return rfc3339.ReplaceAllStringFunc(s, func(ts string) string {
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			return ts
		}
		return "t=" + fmtOffset(r.offset(t))
	})
}

// judged turns a metrics result into the check's record.
func (r *run) judged(pre reports.Check, c metrics.Check, res metrics.Result) reports.Check {
	ch := pre
	ch.WindowStart, ch.WindowEnd = r.offset(c.Start), r.offset(c.End)
	ch.Samples = res.Samples
	ch.Status = reports.StatusPass
	if !res.Pass {
		ch.Status = reports.StatusFail
	}
	ch.ObservedAs = reports.ObservedAtEnd
	if c.Mode == metrics.ModeContinuous {
		ch.ObservedAs = reports.ObservedWorst
	}
	if !math.IsNaN(res.Observed) && !math.IsInf(res.Observed, 0) {
		v := res.Observed
		ch.Observed = &v
	}
	if c.Baseline != nil && c.Bound.Relative() {
		b := *c.Baseline
		ch.Baseline = &b
	}
	// The bound as an absolute value (resolved against the baseline for a
	// relative one), so the report can draw it on the SLI's chart.
	if b, err := c.Bound.Resolve(c.Baseline); err == nil && !b.Relative() {
		th := b.Value
		ch.Threshold = &th
	}
	if fb := res.FirstBreach; fb != nil {
		ch.FirstBreach = &reports.Point{T: r.offset(fb.T), V: fb.V}
	}
	ch.Reason = ""
	if !res.Pass {
		ch.Reason = r.offsets(res.Reason)
	}
	for _, p := range res.Series {
		if math.IsNaN(p.V) || math.IsInf(p.V, 0) {
			continue
		}
		ch.Series = append(ch.Series, reports.Point{T: r.offset(p.T), V: p.V})
	}
	return ch
}

// notEvaluated records a check that could not be judged, with its window.
func (r *run) notEvaluated(pre reports.Check, c metrics.Check, reason string) reports.Check {
	ch := pre
	if !c.Start.IsZero() {
		ch.WindowStart = r.offset(c.Start)
	}
	if !c.End.IsZero() {
		ch.WindowEnd = r.offset(c.End)
	}
	ch.Status, ch.Reason = reports.StatusNotEvaluated, reason
	return ch
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
		r.setCheck(integrityKey, reports.IntegrityCheck(in, ""))
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
	r.setCheck(integrityKey, reports.IntegrityCheck(in, ""))
	if !rep.OK {
		r.fail(errext.Failed, "integrity: %d problem(s): %v", len(rep.Problems), rep.Problems)
	}
}
