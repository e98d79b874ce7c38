package experiments

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
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

const barWidth = 60

// bar draws intervals of [0, total) as a row of barWidth characters.
func bar(total time.Duration, ivs []Interval, mark byte) string {
	b := []byte(strings.Repeat(".", barWidth))
	for _, in := range ivs {
		s := int(int64(in.Start) * barWidth / int64(total))
		e := int((int64(in.End)*barWidth + int64(total) - 1) / int64(total))
		if e <= s {
			e = s + 1
		}
		for i := s; i < e && i < barWidth; i++ {
			b[i] = mark
		}
	}
	return string(b)
}

// textRow is one line of a section of the text plan.
type textRow struct{ name, span, bar, detail string }

// WriteText prints the plan for people: header, load, phases, faults,
// steady state and SLO windows, aligned across sections, with a timeline
// bar per row.
func (p *Plan) WriteText(w io.Writer) error {
	e := p.Experiment
	total := p.Total.D()
	type section struct {
		title string
		rows  []textRow
	}
	var secs []section
	add := func(title string, rows []textRow) { secs = append(secs, section{title, rows}) }

	var rows []textRow
	for i, s := range p.Stages {
		// The load generator holds the first stage and ramps each later
		// stage linearly from the previous stage's value to its own.
		what := fmt.Sprintf("rate %g/s", s.Rate)
		if i > 0 && p.Stages[i-1].Rate != s.Rate {
			what = fmt.Sprintf("rate %g/s → %g/s", p.Stages[i-1].Rate, s.Rate)
		}
		if p.Model == ModelClosed {
			what = fmt.Sprintf("%d vus", s.VUs)
			if i > 0 && p.Stages[i-1].VUs != s.VUs {
				what = fmt.Sprintf("%d → %d vus", p.Stages[i-1].VUs, s.VUs)
			}
		}
		rows = append(rows, textRow{fmt.Sprintf("stage %d", i+1), span(s.Interval), bar(total, []Interval{s.Interval}, '='), what})
	}
	if e != nil {
		for _, m := range e.Spec.Load.Mix {
			rows = append(rows, textRow{"mix " + m.Name, fmt.Sprintf("weight %d", m.Weight), "", m.Request.String()})
		}
	}
	add("LOAD", rows)

	rows = nil
	for _, ph := range p.Phases {
		rows = append(rows, textRow{ph.Kind, span(ph.Interval), bar(total, []Interval{ph.Interval}, phaseMark(ph.Kind)), strings.Join(ph.Faults, ", ")})
	}
	add("PHASES", rows)

	rows = nil
	for _, o := range p.Faults {
		desc := o.Type
		if e != nil && o.Index < len(e.Spec.Faults) {
			desc = describeFault(e.Spec.Faults[o.Index])
		}
		name := o.Fault
		if o.Of > 1 {
			name = fmt.Sprintf("%s #%d/%d", o.Fault, o.N, o.Of)
		}
		sp := span(o.Interval)
		if o.Start == o.End {
			sp = "at " + o.Start.String()
		}
		rows = append(rows, textRow{name, sp, bar(total, []Interval{o.Interval}, '#'), desc})
	}
	add("FAULTS", rows)

	rows = nil
	for _, c := range p.SteadyState {
		rows = append(rows, textRow{c.Name, span(c.Window), bar(total, []Interval{c.Window}, '+'), fmt.Sprintf("%s: %s %s", c.When, oneLine(c.PromQL), c.Expect)})
	}
	add("STEADY STATE", rows)

	rows = nil
	for _, s := range p.SLOs {
		var spans []string
		for _, in := range s.Intervals {
			spans = append(spans, span(in))
		}
		if len(spans) > 2 {
			spans = []string{spans[0], fmt.Sprintf("… (%d windows)", len(s.Intervals))}
		}
		win := s.Window
		if s.Fault != "" {
			win += " " + s.Fault
		}
		check := win
		if e != nil && s.Index < len(e.Spec.SLOs) {
			slo := e.Spec.SLOs[s.Index]
			if s.Recovery {
				sli := oneLine(slo.PromQL)
				if slo.PromQL == DefaultRecoveryQuery(p.ScrapeInterval.D()) {
					sli = "client error ratio (default)"
				}
				check = fmt.Sprintf("%s: recovery %s (by %s): %s %s for %d steps of %s", win, slo.RecoveryTime, s.Deadline, sli, slo.Expect, slo.Consecutive, slo.Step)
			} else {
				check = fmt.Sprintf("%s, %s: %s %s", win, s.Mode, oneLine(slo.PromQL), slo.Expect)
			}
		}
		rows = append(rows, textRow{s.Name, strings.Join(spans, ", "), bar(total, s.Intervals, '*'), check})
	}
	add("SLOS", rows)

	rows = nil
	for _, a := range p.Aborts {
		f := ""
		if a.For > 0 {
			f = " for " + a.For.String()
		}
		rows = append(rows, textRow{a.Name, "continuous", "", fmt.Sprintf("%s %s%s", oneLine(a.PromQL), a.Expect, f)})
	}
	add("ABORT WHEN", rows)

	nameW, spanW := 0, 0
	for _, sec := range secs {
		for _, r := range sec.rows {
			nameW = max(nameW, utf8.RuneCountInString(r.name))
			spanW = max(spanW, utf8.RuneCountInString(r.span))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "experiment %s\n", p.Name)
	if p.Description != "" {
		fmt.Fprintf(&b, "  %s\n", oneLine(p.Description))
	}
	fmt.Fprintf(&b, "  total %s · runtime %s · variant %s · %s model · scrape every %s\n", p.Total, p.Runtime, p.Variant, p.Model, p.ScrapeInterval)
	pad := func(s string, n int) string { return s + strings.Repeat(" ", max(0, n-utf8.RuneCountInString(s))) }
	scale := pad("0s", barWidth-len(p.Total.String())) + p.Total.String()
	for _, sec := range secs {
		hasBar := false
		for _, r := range sec.rows {
			hasBar = hasBar || r.bar != ""
		}
		if hasBar {
			fmt.Fprintf(&b, "\n%s\n", pad(sec.title, 2+nameW+2+spanW+2)+scale)
		} else {
			fmt.Fprintf(&b, "\n%s\n", sec.title)
		}
		if len(sec.rows) == 0 {
			b.WriteString("  none\n")
		}
		for _, r := range sec.rows {
			br := r.bar
			if br == "" {
				br = strings.Repeat(" ", barWidth)
			}
			line := "  " + pad(r.name, nameW) + "  " + pad(r.span, spanW) + "  " + br + "  " + r.detail
			b.WriteString(strings.TrimRight(line, " ") + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func span(in Interval) string { return fmt.Sprintf("%s – %s", in.Start, in.End) }

func phaseMark(kind string) byte {
	switch kind {
	case PhaseFault:
		return '#'
	case PhaseRecovery:
		return '~'
	}
	return '-'
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// describeFault prints a fault's type, target and parameters on one line.
func describeFault(f Fault) string {
	var b strings.Builder
	b.WriteString(f.Type)
	t := f.Target
	switch {
	case len(t.Groups) > 0:
		var sides []string
		for _, g := range t.Groups {
			sides = append(sides, strings.Join(g, ","))
		}
		fmt.Fprintf(&b, " %s", strings.Join(sides, " | "))
	case t.From != "":
		fmt.Fprintf(&b, " %s→%s", t.From, t.Service)
	default:
		fmt.Fprintf(&b, " %s", t.Service)
	}
	if t.Index != nil {
		fmt.Fprintf(&b, "[%d]", *t.Index)
	} else if t.Instances != "" {
		fmt.Fprintf(&b, " ×%s", t.Instances)
	}
	if t.Pick != "" {
		fmt.Fprintf(&b, " (%s)", t.Pick)
	}
	for _, k := range sortedKeys(f.Params) {
		fmt.Fprintf(&b, " %s=%s", k, f.Params[k])
	}
	return b.String()
}
