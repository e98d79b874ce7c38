// Validation of PromQL expressions, bounds, spec.steadyState and spec.recordingRules.

package experiments

import (
	"errors"
	"fmt"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"
)

// promql checks a PromQL expression held in field key of src and reports
// the parser's error at its position inside the file.
func (v *validator) promql(src Source, key, what, expr string) {
	if !src.Has(key) || strings.TrimSpace(expr) == "" {
		v.add(src.Pos, "%s: %s is missing; give a PromQL expression", what, key)
		return
	}
	_, err := promParser.ParseExpr(expr)
	if err == nil {
		return
	}
	var pes parser.ParseErrors
	var pe *parser.ParseErr
	switch {
	case errors.As(err, &pes) && len(pes) > 0:
		v.add(v.offsetPos(src.nodes[key], int(pes[0].PositionRange.Start)), "%s: invalid PromQL: %v", what, pes[0].Err)
	case errors.As(err, &pe):
		v.add(v.offsetPos(src.nodes[key], int(pe.PositionRange.Start)), "%s: invalid PromQL: %v", what, pe.Err)
	default:
		v.add(src.Value(key), "%s: invalid PromQL: %v", what, err)
	}
}

// offsetPos maps a byte offset inside a scalar's value to a file position.
func (v *validator) offsetPos(n *yaml.Node, off int) Pos {
	if n == nil {
		return Pos{}
	}
	p := posOf(n)
	if off < 0 || off > len(n.Value) {
		return p
	}
	switch n.Style {
	case yaml.LiteralStyle:
		before := n.Value[:off]
		nl := strings.Count(before, "\n")
		// The block's indentation is the smallest of its non-empty lines.
		indent := -1
		for i := n.Line; i < n.Line+1+strings.Count(strings.TrimRight(n.Value, "\n"), "\n") && i < len(v.lines); i++ {
			t := v.lines[i]
			if strings.TrimSpace(t) == "" {
				continue
			}
			if in := len(t) - len(strings.TrimLeft(t, " ")); indent < 0 || in < indent {
				indent = in
			}
		}
		return Pos{Line: n.Line + 1 + nl, Column: max(indent, 0) + 1 + off - (strings.LastIndex(before, "\n") + 1)}
	case yaml.FoldedStyle:
		return p
	}
	if strings.Contains(n.Value, "\n") {
		return p
	}
	if n.Style == yaml.SingleQuotedStyle || n.Style == yaml.DoubleQuotedStyle {
		p.Column++
	}
	p.Column += off
	return p
}

// bound checks that a required expect bound was given.
func (v *validator) bound(src Source, key, what string, b Bound, allowBaseline bool) {
	if !src.Has(key) {
		v.add(src.Pos, "%s: %s is missing; %s", what, key, boundHelp)
		return
	}
	if b.Relative() && !allowBaseline {
		v.add(src.Value(key), "%s: %s %q is relative to the baseline, which is only measured for SLOs checked after the baseline window (during/after a fault or the whole run, with the first fault after 0s)", what, key, b.Text)
	}
}

func (v *validator) steadyState() {
	seen := map[string]bool{}
	for i := range v.e.Spec.SteadyState {
		c := &v.e.Spec.SteadyState[i]
		what := fmt.Sprintf("spec.steadyState[%d]", i)
		v.uniqueName(c.Src, what, c.Name, seen, true)
		v.promql(c.Src, "promql", what, c.PromQL)
		v.bound(c.Src, "expect", what, c.Expect, false)
		if c.MinSamples < 0 {
			v.add(c.Src.Value("minSamples"), "%s: minSamples must be 0 or more", what)
		}
	}
}

func (v *validator) recordingRules() {
	seen := map[string]bool{}
	for i := range v.e.Spec.RecordingRules {
		r := &v.e.Spec.RecordingRules[i]
		what := fmt.Sprintf("spec.recordingRules[%d]", i)
		switch {
		case !r.Src.Has("record"):
			v.add(r.Src.Pos, "%s: record is missing; name the recorded series (for example job:errors:rate1m)", what)
		case !model.IsValidLegacyMetricName(r.Record):
			v.add(r.Src.Value("record"), "%s: record %q is not a metric name (letters, digits, _ and :)", what, r.Record)
		case seen[r.Record]:
			v.add(r.Src.Value("record"), "%s: record %q is defined twice", what, r.Record)
		}
		seen[r.Record] = true
		v.promql(r.Src, "expr", what, r.Expr)
	}
}
