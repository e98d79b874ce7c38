package reports

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Status is the outcome of one check.
type Status string

// The statuses of a check. A check that could not be judged (its window lay
// after the run's end, its baseline had no data before an interrupt, the run
// crashed) is StatusNotEvaluated: never a pass.
const (
	StatusPass         Status = "pass"
	StatusFail         Status = "fail"
	StatusNotEvaluated Status = "not-evaluated"
)

// Check kinds: every check of a run is one of these, in one list (Run.Checks).
const (
	KindSLO         = "slo"
	KindSteadyState = "steady-state"
	KindRecovery    = "recovery"  // a recovery-time objective after a fault
	KindIntegrity   = "integrity" // nothing acknowledged lost, nothing charged twice
)

// How Check.Observed was taken from the SLI.
const (
	ObservedAtEnd    = "end"      // the value at the end of the window (mode end)
	ObservedWorst    = "worst"    // the worst value over the window (continuous)
	ObservedRecovery = "recovery" // seconds from the revert to recovery
	ObservedCount    = "count"    // a count (integrity: problems found)
)

// Units of Check.Unit (the unit of Observed, Threshold, Baseline and Series).
const (
	UnitSeconds = "s"
	UnitPercent = "%"     // a ratio shown as a percentage (0.95 is "95 %")
	UnitRatio   = "ratio" // a ratio shown as a number (0.95)
)

// Passed reports whether the check held.
func (c Check) Passed() bool { return c.Status == StatusPass }

// Failed reports whether the check was evaluated and did not hold.
func (c Check) Failed() bool { return c.Status == StatusFail }

// Evaluated reports whether the check has a verdict (pass or fail).
func (c Check) Evaluated() bool { return c.Status == StatusPass || c.Status == StatusFail }

// Tally counts a run's checks by status.
type Tally struct {
	Total, Passed, Failed, NotEvaluated int
}

// Tally counts the checks of the run (the one list every view shows).
func (r *Run) Tally() Tally {
	var t Tally
	for _, c := range r.Checks {
		t.Total++
		switch c.Status {
		case StatusPass:
			t.Passed++
		case StatusFail:
			t.Failed++
		default:
			t.NotEvaluated++
		}
	}
	return t
}

// String says the tally in words: "6 passed, 1 failed, 2 not evaluated (of 9)".
func (t Tally) String() string {
	parts := []string{fmt.Sprintf("%d passed", t.Passed)}
	if t.Failed > 0 {
		parts = append(parts, fmt.Sprintf("%d failed", t.Failed))
	}
	if t.NotEvaluated > 0 {
		parts = append(parts, fmt.Sprintf("%d not evaluated", t.NotEvaluated))
	}
	return strings.Join(parts, ", ") + fmt.Sprintf(" (of %d)", t.Total)
}

// CheckText is a check worded for a person, the same in every view
// (terminal, HTML, JUnit, Markdown).
type CheckText struct {
	Status   string // "PASS", "FAIL", "NOT EVALUATED"
	Name     string
	Kind     string
	Window   string // "during slow-payment (0:30 → 1:00)"
	Observed string // "worst 48.89 %", "544 ms at the window's end", "recovered after 2.0 s", "no data"
	Expected string // ">= 95 %", "< 3 × baseline (baseline 4.10 ms: < 12.3 ms)"
	Breach   string // "first breach at t=34 s: 83.07 %" (failed continuous checks)
	Reason   string
}

// Text words the check.
func (c Check) Text() CheckText {
	t := CheckText{Name: c.Name, Kind: c.Kind, Reason: c.Reason}
	switch c.Status {
	case StatusPass:
		t.Status = "PASS"
	case StatusFail:
		t.Status = "FAIL"
	default:
		t.Status = "NOT EVALUATED"
	}
	t.Window = c.Window
	if c.WindowEnd > c.WindowStart && c.Kind != KindIntegrity {
		t.Window += fmt.Sprintf(" (%s → %s)", fmtOffset(c.WindowStart), fmtOffset(c.WindowEnd))
	}
	t.Observed = c.observedText()
	t.Expected = c.expectedText()
	if b := c.FirstBreach; b != nil {
		t.Breach = fmt.Sprintf("first breach at t=%s: %s", fmtSeconds(b.T), FormatValue(b.V, c.Unit))
	}
	return t
}

func (c Check) observedText() string {
	if c.Status == StatusNotEvaluated && c.Observed == nil {
		return "not measured"
	}
	switch c.ObservedAs {
	case ObservedRecovery:
		if c.Observed == nil {
			return "did not recover"
		}
		return "recovered after " + FormatValue(*c.Observed, UnitSeconds)
	case ObservedCount:
		if c.Observed == nil {
			return "not checked"
		}
		n := int64(*c.Observed)
		if c.Unit != "" {
			return fmt.Sprintf("%d %s", n, c.Unit)
		}
		return strconv.FormatInt(n, 10)
	}
	if c.Observed == nil {
		return "no data"
	}
	v := FormatValue(*c.Observed, c.Unit)
	switch c.ObservedAs {
	case ObservedWorst:
		return "worst " + v
	case ObservedAtEnd:
		return v + " at the window's end"
	}
	return v
}

func (c Check) expectedText() string {
	if c.Baseline == nil {
		return c.Bound
	}
	s := fmt.Sprintf("%s (baseline %s", c.Bound, FormatValue(*c.Baseline, c.Unit))
	if c.Threshold != nil {
		op := strings.TrimSpace(c.Bound)
		for _, o := range []string{"<=", ">=", "==", "!=", "<", ">"} {
			if strings.HasPrefix(op, o) {
				s += ": " + o + " " + FormatValue(*c.Threshold, c.Unit)
				break
			}
		}
	}
	return s + ")"
}

// FormatValue formats an SLI value in its unit: seconds as "544 ms" or
// "1.23 s", a percentage unit as "83.07 %", a ratio as "0.9957".
func FormatValue(v float64, unit string) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	switch unit {
	case UnitSeconds:
		return fmtSecondsValue(v)
	case UnitPercent:
		return trimFloat(100*v, 2) + " %"
	case UnitRatio:
		return strconv.FormatFloat(v, 'g', 4, 64)
	case "":
		return strconv.FormatFloat(v, 'g', 4, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64) + " " + unit
}

// fmtSecondsValue formats a duration given in seconds with three
// significant digits and a unit a person reads at a glance.
func fmtSecondsValue(v float64) string {
	a := math.Abs(v)
	switch {
	case a == 0:
		return "0 s"
	case a < 1e-3:
		return sig3(v*1e6) + " µs"
	case a < 1:
		return sig3(v*1e3) + " ms"
	case a < 600:
		return sig3(v) + " s"
	}
	return time.Duration(v * float64(time.Second)).Round(time.Second).String()
}

// fmtSeconds formats an offset since the start, "34.0 s".
func fmtSeconds(s float64) string { return strconv.FormatFloat(s, 'f', 1, 64) + " s" }

func sig3(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func trimFloat(v float64, prec int) string {
	s := strconv.FormatFloat(v, 'f', prec, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// InferUnit guesses the unit of an SLI from its bound as written and its
// query: a bound with a duration ("< 1s", "< 800ms") is in seconds, one with
// a percentage (">= 99.5%") a percentage; otherwise the query's names decide
// (ratio or availability: a ratio; latency, histogram_quantile or _bucket:
// seconds).
// "" when nothing says.
func InferUnit(query, bound string) string {
	rest := strings.TrimSpace(bound)
	for _, o := range []string{"<=", ">=", "==", "!=", "<", ">"} {
		if strings.HasPrefix(rest, o) {
			rest = strings.TrimSpace(rest[len(o):])
			break
		}
	}
	if strings.HasSuffix(rest, "%") {
		return UnitPercent
	}
	if _, err := strconv.ParseFloat(rest, 64); err != nil && !strings.Contains(rest, "baseline") {
		if _, err := time.ParseDuration(rest); err == nil {
			return UnitSeconds
		}
	}
	q := strings.ToLower(query)
	switch {
	case strings.Contains(q, "ratio"), strings.Contains(q, "availability"):
		return UnitRatio
	case strings.Contains(q, "latency"), strings.Contains(q, "histogram_quantile"), strings.Contains(q, "_bucket"):
		return UnitSeconds
	}
	return ""
}
