package runner

import (
	"fmt"

	"github.com/gameday/gameday/experiments"
	"github.com/gameday/gameday/metrics"
	"github.com/gameday/gameday/reports"
)

// The run record lists every check the plan holds from the start, each
// "not evaluated" until it is judged: so a run cut short, or crashed, still
// shows every check, and every view counts the same list. The keys below
// name a check's slot in that list.

const integrityKey = "integrity"

func steadyKey(pc experiments.PlannedCheck) string {
	return fmt.Sprintf("steady/%s/%d", pc.When, pc.Index)
}

func sloKey(index, interval int) string { return fmt.Sprintf("slo/%d/%d", index, interval) }

func recoveryKey(index int) string { return fmt.Sprintf("recovery/%d", index) }

// pendingReason is the reason of a check that has not been judged yet.
const pendingReason = "not evaluated yet: the run has not reached this check"

// planChecks fills the record's list of checks from the plan, in the order
// a reader meets them: the steady state before the faults, the SLOs and
// recovery objectives in the scenario's order, the steady state after the
// faults, the integrity check.
func (r *run) planChecks() {
	spec := r.exp.Spec
	r.slots = map[string]int{}
	add := func(key string, c reports.Check) {
		c.Status = reports.StatusNotEvaluated
		c.Reason = pendingReason
		r.slots[key] = len(r.record.Checks)
		r.record.Checks = append(r.record.Checks, c)
	}
	steady := func(when string) {
		for _, pc := range r.plan.SteadyState {
			if pc.When != when {
				continue
			}
			name, window := pc.Name, "before the first fault"
			switch {
			case when == experiments.CheckBeforeFaults:
				name += " (before faults)"
			case len(r.plan.Faults) > 0:
				name, window = name+" (after faults)", "after the last fault"
			default:
				window = "at the end of the run"
			}
			c := reports.Check{
				Name: name, Kind: reports.KindSteadyState, Query: pc.PromQL, Bound: pc.Expect.Text, Window: window,
				WindowStart: pc.Window.Start.D().Seconds(), WindowEnd: pc.Window.End.D().Seconds(),
				Unit: reports.InferUnit(pc.PromQL, pc.Expect.Text), ObservedAs: reports.ObservedAtEnd,
			}
			if spec.SteadyState[pc.Index].For.D() > 0 {
				c.ObservedAs = reports.ObservedWorst
			}
			add(steadyKey(pc), c)
		}
	}
	steady(experiments.CheckBeforeFaults)
	for _, ps := range r.plan.SLOs {
		slo := spec.SLOs[ps.Index]
		if ps.Recovery {
			query := slo.PromQL
			if query == "" {
				query = experiments.DefaultRecoveryPromQL
			}
			c := reports.Check{
				Name: slo.Name, Kind: reports.KindRecovery, Query: query, Bound: slo.RecoveryTime.Text,
				Window: "after " + ps.Fault, Unit: reports.UnitSeconds, ObservedAs: reports.ObservedRecovery,
			}
			if len(ps.Intervals) > 0 {
				c.WindowStart, c.WindowEnd = ps.Intervals[0].Start.D().Seconds(), r.plan.Total.D().Seconds()
			}
			add(recoveryKey(ps.Index), c)
			continue
		}
		for k, iv := range ps.Intervals {
			name := slo.Name
			if len(ps.Intervals) > 1 {
				name = fmt.Sprintf("%s (#%d)", slo.Name, k+1)
			}
			c := reports.Check{
				Name: name, Kind: reports.KindSLO, Query: slo.PromQL, Bound: slo.Expect.Text, Window: describeWindow(ps),
				WindowStart: iv.Start.D().Seconds(), WindowEnd: iv.End.D().Seconds(),
				Unit: reports.InferUnit(slo.PromQL, slo.Expect.Text), ObservedAs: reports.ObservedAtEnd,
			}
			if slo.Mode == metrics.ModeContinuous {
				c.ObservedAs = reports.ObservedWorst
			}
			add(sloKey(ps.Index, k), c)
		}
	}
	steady(experiments.CheckAfterFaults)
	if spec.Integrity {
		c := reports.IntegrityCheck(nil, "")
		add(integrityKey, c)
	}
}

// pending returns the check in a slot as planned (its name, kind, query,
// bound, window and unit).
func (r *run) pending(key string) reports.Check {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.record.Checks[r.slots[key]]
}

// setCheck records the verdict of the check in a slot.
func (r *run) setCheck(key string, c reports.Check) {
	r.mu.Lock()
	defer r.mu.Unlock()
	i, ok := r.slots[key]
	if !ok {
		return
	}
	r.record.Checks[i] = c
	r.judgedKeys[key] = true
}

// closePending gives every check that was never reached the reason why.
func (r *run) closePending(reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for key, i := range r.slots {
		if r.judgedKeys[key] {
			continue
		}
		c := &r.record.Checks[i]
		c.Status, c.Reason = reports.StatusNotEvaluated, reason
	}
}
