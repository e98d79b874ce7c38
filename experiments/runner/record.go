package runner

import (
	"context"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/internal/lib/errext"
	"github.com/gameday/gameday/loadgen"
	"github.com/gameday/gameday/metrics"
	"github.com/gameday/gameday/reports"
)

// finish completes the run record, writes it and its reports, prints the
// verdict table and returns the outcome.
func (r *run) finish() (*Outcome, error) {
	rec := r.record
	r.closePending(r.unjudgedReason())
	intervals, _ := r.live.snapshot()
	if r.result != nil {
		intervals = r.result.Intervals
	}
	if err := r.fillRecord(rec, intervals, r.events); err != nil {
		r.fail(errext.Platform, "record: %v", err)
	}
	rec.End = r.o.Now()
	rec.DurationSeconds = rec.End.Sub(rec.Start).Seconds()
	if cut := r.cutAt(); !cut.IsZero() && !r.loadStart().IsZero() {
		rec.StoppedAt = reports.Sec(cut.Sub(r.loadStart()))
	}
	rec.Verdict, rec.Reason = r.verdict()
	if err := rec.Save(filepath.Join(r.dir, "run.json")); err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	r.closeJournal()
	if err := reports.WriteAll(r.dir, rec); err != nil {
		return nil, fmt.Errorf("run: write reports: %w", err)
	}
	r.printVerdict(r.o.Out)
	return &Outcome{Run: rec, Dir: r.dir, Code: r.code}, nil
}

// fillRecord sets what a record holds of the timeline and the load: start,
// phases, faults with their actual times, per-interval series and per-phase
// histograms. It is used for the final record and for each checkpoint.
func (r *run) fillRecord(rec *reports.Run, intervals []loadgen.IntervalSummary, events []faults.Event) error {
	start := r.loadStart()
	if start.IsZero() {
		start = r.began
	}
	rec.Start = start
	rec.Phases, rec.Faults, rec.Requests, rec.Histograms = nil, nil, nil, nil
	names := phaseNames(r.plan)
	for i, ph := range r.plan.Phases {
		rec.Phases = append(rec.Phases, reports.Phase{Name: names[i], Start: ph.Start.D().Seconds(), End: ph.End.D().Seconds()})
	}
	if r.loadStart().IsZero() {
		return nil
	}
	rec.Faults = r.faultRecords(events)
	rec.Requests = r.requestSeries(intervals)
	hs, err := r.histograms()
	rec.Histograms = hs
	return err
}

// unjudgedReason says why the checks never reached were not evaluated.
func (r *run) unjudgedReason() string {
	switch {
	case r.unjudged != "":
		return r.unjudged
	case r.code == errext.Interrupted && r.loadStart().IsZero():
		return "not evaluated: the run was interrupted before the load started"
	case r.code == errext.Interrupted:
		return fmt.Sprintf("not evaluated: the run was interrupted at t=%s, before this check's moment", fmtOffset(r.offset(r.cutAt())))
	case r.record.Abort != nil:
		return fmt.Sprintf("not evaluated: the run was aborted at t=%s, before this check's moment", fmtOffset(r.record.Abort.FiredAt))
	case r.loadStart().IsZero():
		return "not evaluated: the run failed before the load started (" + strings.Join(r.reasons, "; ") + ")"
	}
	return "not evaluated: the run ended before this check's moment (" + strings.Join(r.reasons, "; ") + ")"
}

func (r *run) verdict() (reports.Verdict, string) {
	reason := strings.Join(r.reasons, "; ")
	switch {
	case r.code == errext.Interrupted:
		return reports.VerdictInterrupted, reason
	case r.code == errext.Platform || r.code == errext.Invalid:
		return reports.VerdictError, reason
	case r.record.Abort != nil:
		return reports.VerdictAborted, reason
	case r.code == errext.Failed:
		return reports.VerdictFail, reason
	}
	// The renderers word a pass themselves (how many checks held).
	return reports.VerdictPass, ""
}

// faultRecords files every planned occurrence with its actual times.
func (r *run) faultRecords(events []faults.Event) []reports.Fault {
	start := r.loadStart()
	spec := r.exp.Spec
	var out []reports.Fault
	for _, o := range r.plan.Faults {
		f := spec.Faults[o.Index]
		name := f.Name
		if o.Of > 1 {
			name = fmt.Sprintf("%s #%d", f.Name, o.N)
		}
		rf := reports.Fault{
			Name: name, Type: f.Type, Target: describeTarget(f.Target.Service, f.Target.From, f.Target.Instances, f.Target.Groups),
			Params: f.Params, PlannedInject: o.Start.D().Seconds(), PlannedRevert: o.End.D().Seconds(),
		}
		for _, e := range events {
			if e.Fault != f.Name || e.Occurrence != o.N-1 || e.Actual.IsZero() {
				continue
			}
			at := e.Actual.Sub(start)
			switch e.Action {
			case faults.Inject:
				if e.Error == "" {
					rf.InjectedAt = reports.Sec(at)
				}
			case faults.Revert:
				rf.RevertedAt = reports.Sec(at)
			}
			if e.Error != "" {
				rf.Error = e.Error
			}
		}
		out = append(out, rf)
	}
	return out
}

func describeTarget(service, from, instances string, groups [][]string) string {
	switch {
	case len(groups) > 0:
		var parts []string
		for _, g := range groups {
			parts = append(parts, strings.Join(g, ","))
		}
		return strings.Join(parts, " | ")
	case from != "":
		return from + " → " + service
	case instances != "":
		return fmt.Sprintf("%s (%s)", service, instances)
	}
	return service
}

// requestSeries files the per-interval statistics of every request name.
func (r *run) requestSeries(intervals []loadgen.IntervalSummary) []reports.RequestSeries {
	ms := func(d interface{ Nanoseconds() int64 }) float64 { return float64(d.Nanoseconds()) / 1e6 }
	var out []reports.RequestSeries
	for _, name := range r.mixNames() {
		series := reports.RequestSeries{Name: name}
		for _, iv := range intervals {
			s, ok := iv.ByName[name]
			if !ok {
				continue
			}
			series.Intervals = append(series.Intervals, reports.Interval{
				At: iv.Start.Sub(r.loadStart()).Seconds(), Count: s.Count, Errors: nonZero(s.Errors), Cancelled: s.Cancelled,
				P50: ms(s.Corrected.P50), P90: ms(s.Corrected.P90), P99: ms(s.Corrected.P99),
				P999: ms(s.Corrected.P999), Max: ms(s.Corrected.Max),
			})
		}
		out = append(out, series)
	}
	return out
}

// mixNames are the request names of the load, in mix order.
func (r *run) mixNames() []string {
	if r.result != nil {
		return r.result.Names
	}
	var names []string
	for _, m := range r.exp.Spec.Load.Mix {
		names = append(names, m.Name)
	}
	return names
}

// histograms encodes the per-phase histograms merged so far.
func (r *run) histograms() ([]reports.Histogram, error) {
	if r.phases == nil {
		return nil, nil
	}
	r.phases.mu.Lock()
	defer r.phases.mu.Unlock()
	var out []reports.Histogram
	for _, ph := range r.phases.phases {
		names := make([]string, 0, len(ph.byName))
		for n := range ph.byName {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			h := ph.byName[n]
			enc, err := reports.NewHistogram(ph.name, n, "ns", h.corrected, h.uncorrected)
			if err != nil {
				return nil, err
			}
			out = append(out, enc)
		}
	}
	return out, nil
}

func nonZero(m map[string]int64) map[string]int64 {
	var out map[string]int64
	for k, v := range m {
		if v == 0 {
			continue
		}
		if out == nil {
			out = map[string]int64{}
		}
		out[k] = v
	}
	return out
}

// printVerdict writes the verdict table a person reads at the end of a run
// (the same list of checks as every report) and where the report is.
func (r *run) printVerdict(w io.Writer) {
	if err := reports.WriteTerminal(w, r.record); err != nil {
		r.o.Logger.Warn("verdict table", "err", err)
	}
	fmt.Fprintf(w, "report: %s\n", filepath.Join(r.dir, "report.html"))
}

// Queries of the shop summary (docs/metrics.md): attempts over logical calls
// on every call edge, and the number of breakers open at each step.
const (
	retryAmplificationQuery = `sum(increase(shop_client_attempts_total[%s])) / sum(increase(shop_client_calls_total[%s]))`
	breakersOpenQuery       = `count(shop_circuit_breaker_state == 2)`
)

// recordShop summarises the shop's metrics for comparisons of variants:
// retry amplification during each fault and the time breakers spent open.
// It needs the store, so it runs before the store closes; a query that fails
// leaves its figure out and is logged.
func (r *run) recordShop(ctx context.Context, q metrics.Querier) {
	if r.loadStart().IsZero() || r.dep == nil {
		return
	}
	step := r.exp.Spec.ScrapeInterval.D()
	if step <= 0 {
		step = time.Second
	}
	start, end := r.loadStart(), r.loadStart().Add(r.plan.Total.D())
	if now := r.o.Now(); now.Before(end) {
		end = now // an aborted or interrupted run
	}
	shop := &reports.Shop{}
	var open []model.SamplePair
	m, err := q.Range(ctx, breakersOpenQuery, start, end, step)
	if err != nil {
		r.o.Logger.Warn("shop summary: breakers", "err", err)
	}
	for _, s := range m {
		open = append(open, s.Values...)
	}
	for _, p := range open {
		shop.BreakerOpenSeconds += float64(p.Value) * step.Seconds()
	}
	for _, o := range r.plan.Faults {
		name := r.exp.Spec.Faults[o.Index].Name
		if o.Of > 1 {
			name = fmt.Sprintf("%s #%d", name, o.N)
		}
		fs, fe := r.actualWindow(o)
		sf := reports.ShopFault{Fault: name}
		for _, p := range open {
			if t := p.Timestamp.Time(); !t.Before(fs) && t.Before(fe) {
				sf.BreakerOpenSeconds += float64(p.Value) * step.Seconds()
			}
		}
		if fe.Before(end.Add(time.Second)) && fe.Sub(fs) >= step {
			rng := model.Duration(fe.Sub(fs).Round(time.Second)).String()
			v, err := q.Instant(ctx, fmt.Sprintf(retryAmplificationQuery, rng, rng), fe)
			if err != nil {
				r.o.Logger.Warn("shop summary: retry amplification", "fault", name, "err", err)
			} else if vec, ok := v.(model.Vector); ok && len(vec) == 1 {
				if x := float64(vec[0].Value); !math.IsNaN(x) && !math.IsInf(x, 0) {
					sf.RetryAmplification = &x
				}
			}
		}
		shop.Faults = append(shop.Faults, sf)
	}
	r.record.Shop = shop
}
