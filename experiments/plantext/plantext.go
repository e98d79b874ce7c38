// Package plantext prints an experiment's plan for people (`gameday plan`):
// the schema package (experiments) builds the plan, this one only shows it.
package plantext

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gameday/gameday/experiments"
)

const barWidth = 60

// bar draws intervals of [0, total) as a row of barWidth characters.
func bar(total time.Duration, ivs []experiments.Interval, mark byte) string {
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

// Write prints the plan for people: header, load, phases, faults, steady
// state and SLO windows, aligned across sections, with a timeline bar per
// row.
func Write(w io.Writer, p *experiments.Plan) error {
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
		if p.Model == experiments.ModelClosed {
			what = fmt.Sprintf("%d vus", s.VUs)
			if i > 0 && p.Stages[i-1].VUs != s.VUs {
				what = fmt.Sprintf("%d → %d vus", p.Stages[i-1].VUs, s.VUs)
			}
		}
		rows = append(rows, textRow{fmt.Sprintf("stage %d", i+1), span(s.Interval), bar(total, []experiments.Interval{s.Interval}, '='), what})
	}
	if e != nil {
		for _, m := range e.Spec.Load.Mix {
			rows = append(rows, textRow{"mix " + m.Name, fmt.Sprintf("weight %d", m.Weight), "", m.Request.String()})
		}
	}
	add("LOAD", rows)

	rows = nil
	for _, ph := range p.Phases {
		rows = append(rows, textRow{ph.Kind, span(ph.Interval), bar(total, []experiments.Interval{ph.Interval}, phaseMark(ph.Kind)), strings.Join(ph.Faults, ", ")})
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
		rows = append(rows, textRow{name, sp, bar(total, []experiments.Interval{o.Interval}, '#'), desc})
	}
	add("FAULTS", rows)

	rows = nil
	for _, c := range p.SteadyState {
		rows = append(rows, textRow{c.Name, span(c.Window), bar(total, []experiments.Interval{c.Window}, '+'), fmt.Sprintf("%s: %s %s", c.When, oneLine(c.PromQL), c.Expect)})
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
				if slo.PromQL == experiments.DefaultRecoveryQuery(p.ScrapeInterval.D()) {
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

func span(in experiments.Interval) string { return fmt.Sprintf("%s – %s", in.Start, in.End) }

func phaseMark(kind string) byte {
	switch kind {
	case experiments.PhaseFault:
		return '#'
	case experiments.PhaseRecovery:
		return '~'
	}
	return '-'
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// describeFault prints a fault's type, target and parameters on one line.
func describeFault(f experiments.Fault) string {
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
	for _, k := range slices.Sorted(maps.Keys(f.Params)) {
		fmt.Fprintf(&b, " %s=%s", k, f.Params[k])
	}
	return b.String()
}
