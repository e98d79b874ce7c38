package experiments

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Plan is the timeline of an experiment: every offset is from the start of
// the load (time 0). The runner executes it; `gameday plan` prints it.
type Plan struct {
	Name           string   `json:"name"`
	Description    string   `json:"description,omitempty"`
	Runtime        string   `json:"runtime"`
	Variant        string   `json:"variant"`
	Model          string   `json:"model"`
	Total          Duration `json:"total"`
	ScrapeInterval Duration `json:"scrapeInterval"`

	Stages      []PlannedStage `json:"stages"`
	Phases      []Phase        `json:"phases"`
	Faults      []Occurrence   `json:"faults"`
	SteadyState []PlannedCheck `json:"steadyState"`
	SLOs        []PlannedSLO   `json:"slos"`
	Aborts      []Abort        `json:"abortWhen,omitempty"`

	// Experiment is what the plan was made from.
	Experiment *Experiment `json:"-"`
}

// Interval is a span of the run, [Start, End).
type Interval struct {
	Start Duration `json:"start"`
	End   Duration `json:"end"`
}

// PlannedStage is one load stage placed on the timeline. The first stage
// holds its value; each later one ramps linearly from the previous stage's
// value to its own (loadgen semantics).
type PlannedStage struct {
	Interval
	Rate float64 `json:"rate,omitempty"`
	VUs  int     `json:"vus,omitempty"`
}

// Phase kinds.
const (
	PhaseBaseline = "baseline" // warm-up and baseline, before the first fault
	PhaseFault    = "fault"    // at least one fault is active
	PhaseRecovery = "recovery" // no fault is active, after one was
)

// Phase is a span of the run in which the set of active faults is constant.
type Phase struct {
	Interval
	Kind   string   `json:"kind"`
	Faults []string `json:"faults,omitempty"` // active faults, for PhaseFault
}

// Occurrence is one planned injection of a fault: injected at Start,
// reverted at End (Start == End for an instantaneous fault such as kill).
type Occurrence struct {
	Interval
	Fault string `json:"fault"`
	Type  string `json:"type"`
	N     int    `json:"n"`  // 1-based occurrence number
	Of    int    `json:"of"` // number of occurrences of this fault
	// Index of the fault in Experiment.Spec.Faults.
	Index int `json:"index"`
}

// PlannedCheck is one evaluation of a steady-state check: over Window,
// at its end.
type PlannedCheck struct {
	Name   string   `json:"name"`
	When   string   `json:"when"` // before-faults | after-faults
	Window Interval `json:"window"`
	PromQL string   `json:"promql"`
	Expect Bound    `json:"expect"`
	// Index of the check in Experiment.Spec.SteadyState.
	Index int `json:"index"`
}

// Steady-state check moments.
const (
	CheckBeforeFaults = "before-faults"
	CheckAfterFaults  = "after-faults"
)

// SLO window kinds.
const (
	WindowRun    = "run"
	WindowBefore = "before"
	WindowDuring = "during"
	WindowAfter  = "after"
)

// PlannedSLO is an SLO with its window(s) as offsets. A during window of a
// repeated fault has one interval per occurrence; after is from the end of
// the fault's last occurrence to the end of the run. For a recovery SLO,
// Deadline is the latest offset by which the SLI must be back in bound.
type PlannedSLO struct {
	Name      string     `json:"name"`
	Window    string     `json:"window"`          // run | before | during | after
	Fault     string     `json:"fault,omitempty"` // for during/after
	Intervals []Interval `json:"intervals"`
	Mode      string     `json:"mode"`
	Recovery  bool       `json:"recovery,omitempty"`
	Deadline  *Duration  `json:"deadline,omitempty"`
	// Index of the SLO in Experiment.Spec.SLOs.
	Index int `json:"index"`
}

// TotalDuration is the sum of the load stages.
func (e *Experiment) TotalDuration() time.Duration {
	var t time.Duration
	for _, s := range e.Spec.Load.Stages {
		t += s.Duration.D()
	}
	return t
}

// Plan lays the experiment out on its timeline.
func (e *Experiment) Plan() (*Plan, error) {
	total := e.TotalDuration()
	if total <= 0 {
		return nil, fmt.Errorf("plan %s: the load has no duration", e.Metadata.Name)
	}
	p := &Plan{
		Name: e.Metadata.Name, Description: e.Metadata.Description,
		Runtime: e.Spec.Runtime, Variant: e.Spec.SUT.Variant, Model: e.Spec.Load.Model,
		Total: Duration(total), ScrapeInterval: e.Spec.ScrapeInterval,
		Aborts: e.Spec.AbortWhen, Experiment: e,
		Stages: []PlannedStage{}, Faults: []Occurrence{}, SteadyState: []PlannedCheck{}, SLOs: []PlannedSLO{},
	}
	var at time.Duration
	for _, s := range e.Spec.Load.Stages {
		p.Stages = append(p.Stages, PlannedStage{Interval: iv(at, at+s.Duration.D()), Rate: s.Rate, VUs: s.VUs})
		at += s.Duration.D()
	}
	byName := map[string][]Occurrence{}
	for i, f := range e.Spec.Faults {
		occ := expand(f, total)
		for _, o := range occ {
			if o.end > total {
				return nil, fmt.Errorf("plan %s: fault %s occurrence %d ends at %s, after the run (%s)", e.Metadata.Name, f.Name, o.n, Duration(o.end), Duration(total))
			}
			oc := Occurrence{Interval: iv(o.start, o.end), Fault: f.Name, Type: f.Type, N: o.n, Of: len(occ), Index: i}
			p.Faults = append(p.Faults, oc)
			byName[f.Name] = append(byName[f.Name], oc)
		}
	}
	sort.SliceStable(p.Faults, func(i, j int) bool { return p.Faults[i].Start < p.Faults[j].Start })
	p.Phases = phases(p.Faults, total)

	firstStart := total
	if len(p.Faults) > 0 {
		firstStart = p.Faults[0].Start.D()
	}
	for i, c := range e.Spec.SteadyState {
		if len(p.Faults) > 0 {
			p.SteadyState = append(p.SteadyState, PlannedCheck{Name: c.Name, When: CheckBeforeFaults, Window: iv(max(0, firstStart-c.For.D()), firstStart), PromQL: c.PromQL, Expect: c.Expect, Index: i})
		}
		p.SteadyState = append(p.SteadyState, PlannedCheck{Name: c.Name, When: CheckAfterFaults, Window: iv(max(0, total-c.For.D()), total), PromQL: c.PromQL, Expect: c.Expect, Index: i})
	}
	for i, s := range e.Spec.SLOs {
		ps := PlannedSLO{Name: s.Name, Mode: s.Mode, Recovery: s.IsRecovery(), Index: i}
		switch {
		case s.During != "":
			ps.Window, ps.Fault = WindowDuring, s.During
			for _, o := range byName[s.During] {
				ps.Intervals = append(ps.Intervals, o.Interval)
			}
		case s.After != "":
			ps.Window, ps.Fault = WindowAfter, s.After
			occ := byName[s.After]
			if len(occ) > 0 {
				ps.Intervals = []Interval{iv(occ[len(occ)-1].End.D(), total)}
			}
		case s.Before:
			ps.Window = WindowBefore
			ps.Intervals = []Interval{iv(0, firstStart)}
		default:
			ps.Window = WindowRun
			ps.Intervals = []Interval{iv(0, total)}
		}
		if len(ps.Intervals) == 0 {
			return nil, fmt.Errorf("plan %s: SLO %q refers to fault %q, which is not planned", e.Metadata.Name, s.Name, ps.Fault)
		}
		if s.IsRecovery() && len(ps.Intervals) > 0 {
			d := Duration(min(ps.Intervals[0].Start.D()+s.RecoveryTime.Max(), total))
			ps.Deadline = &d
		}
		p.SLOs = append(p.SLOs, ps)
	}
	return p, nil
}

func iv(a, b time.Duration) Interval { return Interval{Start: Duration(a), End: Duration(b)} }

// phases cuts [0, total) wherever the set of active faults changes: a sweep
// over the injections and reverts, O(n log n) in the occurrences.
func phases(occ []Occurrence, total time.Duration) []Phase {
	type event struct {
		t     time.Duration
		fault string
		delta int
	}
	var evs []event
	first := total
	cuts := map[time.Duration]bool{0: true, total: true}
	for _, o := range occ {
		first = min(first, o.Start.D())
		cuts[o.Start.D()] = true
		if o.Start < o.End {
			evs = append(evs, event{o.Start.D(), o.Fault, +1}, event{o.End.D(), o.Fault, -1})
			cuts[o.End.D()] = true
		}
	}
	sort.Slice(evs, func(i, j int) bool { return evs[i].t < evs[j].t })
	pts := make([]time.Duration, 0, len(cuts))
	for c := range cuts {
		if c <= total {
			pts = append(pts, c)
		}
	}
	sort.Slice(pts, func(i, j int) bool { return pts[i] < pts[j] })
	activeCount := map[string]int{}
	var out []Phase
	j := 0
	for i := 0; i+1 < len(pts); i++ {
		a, b := pts[i], pts[i+1]
		for ; j < len(evs) && evs[j].t <= a; j++ {
			activeCount[evs[j].fault] += evs[j].delta
		}
		var active []string
		for name, n := range activeCount {
			if n > 0 {
				active = append(active, name)
			}
		}
		sort.Strings(active)
		kind := PhaseBaseline
		switch {
		case len(active) > 0:
			kind = PhaseFault
		case a >= first:
			kind = PhaseRecovery
		}
		if n := len(out); n > 0 && out[n-1].Kind == kind && strings.Join(out[n-1].Faults, ",") == strings.Join(active, ",") {
			out[n-1].End = Duration(b)
			continue
		}
		out = append(out, Phase{Interval: iv(a, b), Kind: kind, Faults: active})
	}
	return out
}
