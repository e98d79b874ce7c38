package metrics

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Bound is the expectation an SLI value must meet: `< 1.2`, `>= 99.5%`,
// `< 1.5 * baseline`.
type Bound struct {
	// Op is one of <, <=, >, >=, ==, !=.
	Op string
	// Value is the absolute threshold (unused when BaselineFactor > 0).
	Value float64
	// BaselineFactor > 0 makes the bound relative: the threshold is
	// BaselineFactor × the baseline, the value of the same query measured
	// over the baseline window (see MeasureBaseline and Check.Baseline).
	BaselineFactor float64
}

var ops = []string{"<=", ">=", "==", "!=", "<", ">"} // two-character operators first

const boundHelp = `want an operator (<, <=, >, >=, ==, !=) and a number, a percentage or "FACTOR * baseline", e.g. "< 1.2", ">= 99.5%", "< 1.5 * baseline"`

// ParseBound parses an SLO expectation: an operator followed by a number
// ("< 1.2", ">= 0.99", "<= 1e-3"), a percentage ("> 99.9%" is > 0.999), a
// duration, read as seconds ("< 800ms" is < 0.8), or a multiple of the
// baseline ("< 1.5 * baseline", "<= baseline").
func ParseBound(s string) (Bound, error) {
	op, rest, err := splitOp(s)
	if err != nil {
		return Bound{}, err
	}
	if f, ok, err := parseBaseline(rest); ok {
		if err != nil {
			return Bound{}, fmt.Errorf("bound %q: %w; %s", s, err, boundHelp)
		}
		return Bound{Op: op, BaselineFactor: f}, nil
	}
	v, err := parseNumber(rest)
	if err != nil {
		if d, derr := time.ParseDuration(rest); derr == nil {
			return Bound{Op: op, Value: d.Seconds()}, nil
		}
		return Bound{}, fmt.Errorf("bound %q: %q is not a number; %s", s, rest, boundHelp)
	}
	return Bound{Op: op, Value: v}, nil
}

// ParseDurationBound parses a bound on a duration, such as a recoveryTime:
// an operator and a Go duration ("< 10s", "<= 1m30s"). Value is in seconds;
// compare with b.Holds(d.Seconds()).
func ParseDurationBound(s string) (Bound, error) {
	op, rest, err := splitOp(s)
	if err != nil {
		return Bound{}, fmt.Errorf("%w (a duration bound, e.g. \"< 10s\")", err)
	}
	d, err := time.ParseDuration(rest)
	if err != nil || d < 0 {
		return Bound{}, fmt.Errorf("duration bound %q: %q is not a duration; want an operator (<, <=, >, >=, ==, !=) and a duration with a unit, e.g. \"< 10s\", \"<= 1m30s\"", s, rest)
	}
	return Bound{Op: op, Value: d.Seconds()}, nil
}

func splitOp(s string) (op, rest string, err error) {
	t := strings.TrimSpace(s)
	for _, o := range ops {
		if strings.HasPrefix(t, o) {
			rest = strings.TrimSpace(t[len(o):])
			if rest == "" {
				return "", "", fmt.Errorf("bound %q: nothing after %q; %s", s, o, boundHelp)
			}
			return o, rest, nil
		}
	}
	if strings.HasPrefix(t, "=") {
		return "", "", fmt.Errorf("bound %q: use == for equality; %s", s, boundHelp)
	}
	return "", "", fmt.Errorf("bound %q: missing comparison operator; %s", s, boundHelp)
}

// parseBaseline recognises "baseline", "F * baseline", "F*baseline" and
// "baseline * F". ok reports whether the text mentions the baseline at all.
func parseBaseline(s string) (factor float64, ok bool, err error) {
	if !strings.Contains(s, "baseline") {
		return 0, false, nil
	}
	parts := strings.Split(s, "*")
	switch len(parts) {
	case 1:
		if strings.TrimSpace(parts[0]) == "baseline" {
			return 1, true, nil
		}
	case 2:
		a, b := strings.TrimSpace(parts[0]), strings.TrimSpace(parts[1])
		if b == "baseline" {
			a, b = b, a
		}
		if a == "baseline" {
			f, err := parseNumber(b)
			if err != nil {
				return 0, true, fmt.Errorf("factor %q is not a number", b)
			}
			if f <= 0 {
				return 0, true, fmt.Errorf("factor %q must be positive", b)
			}
			return f, true, nil
		}
	}
	return 0, true, errors.New("the baseline can only be multiplied by a positive number")
}

func parseNumber(s string) (float64, error) {
	pct := strings.HasSuffix(s, "%")
	if pct {
		s = strings.TrimSpace(strings.TrimSuffix(s, "%"))
	}
	num := s
	if pct {
		// "99.9e-2" parses to the float nearest 0.999; 99.9/100 would not.
		if strings.ContainsAny(s, "eE") {
			return 0, fmt.Errorf("%q%% is not a number", s)
		}
		num = s + "e-2"
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	return v, nil
}

// Relative reports whether the bound depends on a baseline.
func (b Bound) Relative() bool { return b.BaselineFactor > 0 }

// Resolve turns a baseline-relative bound into an absolute one. An absolute
// bound is returned unchanged; a relative bound without a baseline is an
// error.
func (b Bound) Resolve(baseline *float64) (Bound, error) {
	if err := b.validate(); err != nil {
		return Bound{}, err
	}
	if !b.Relative() {
		return b, nil
	}
	if baseline == nil {
		return Bound{}, fmt.Errorf("bound %s is relative to the baseline, but no baseline was measured", b)
	}
	if math.IsNaN(*baseline) || math.IsInf(*baseline, 0) {
		return Bound{}, fmt.Errorf("bound %s: baseline is %v", b, *baseline)
	}
	return Bound{Op: b.Op, Value: b.BaselineFactor * *baseline}, nil
}

func (b Bound) validate() error {
	for _, o := range ops {
		if b.Op == o {
			return nil
		}
	}
	return fmt.Errorf("bound %+v: operator %q is not one of <, <=, >, >=, ==, !=", b, b.Op)
}

// Holds reports whether v meets an absolute bound. NaN never holds.
func (b Bound) Holds(v float64) bool {
	if math.IsNaN(v) {
		return false
	}
	switch b.Op {
	case "<":
		return v < b.Value
	case "<=":
		return v <= b.Value
	case ">":
		return v > b.Value
	case ">=":
		return v >= b.Value
	case "==":
		return v == b.Value
	case "!=":
		return v != b.Value
	}
	return false
}

// worse reports whether a is further from meeting the bound than b: larger
// for < and <=, smaller for > and >=. For == and != a breaking value is worse
// than a holding one.
func (b Bound) worse(a, c float64) bool {
	switch b.Op {
	case "<", "<=":
		return a > c
	case ">", ">=":
		return a < c
	default:
		return !b.Holds(a) && b.Holds(c)
	}
}

// String renders the bound as it would be written in an experiment file.
func (b Bound) String() string {
	if b.Relative() {
		if b.BaselineFactor == 1 {
			return b.Op + " baseline"
		}
		return fmt.Sprintf("%s %s * baseline", b.Op, strconv.FormatFloat(b.BaselineFactor, 'g', -1, 64))
	}
	return fmt.Sprintf("%s %s", b.Op, strconv.FormatFloat(b.Value, 'g', -1, 64))
}
