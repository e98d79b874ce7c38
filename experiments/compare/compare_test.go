package compare

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/gameday/gameday/experiments"
	"github.com/gameday/gameday/internal/lib/errext"
	"github.com/gameday/gameday/reports"
	"github.com/gameday/gameday/reports/reportstest"
	"github.com/gameday/gameday/reports/stats"
)

func TestLabels(t *testing.T) {
	got := labels([]string{"resilient", "naive", "resilient"})
	if want := []string{"resilient", "naive", "resilient#2"}; !slices.Equal(got, want) {
		t.Errorf("labels = %v, want %v", got, want)
	}
}

func TestRunRefusesBadOptions(t *testing.T) {
	e, err := experiments.Load("testdata/replica-slowdown.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, o := range map[string]Options{
		"no experiment":   {Variants: []string{"naive", "resilient"}, Dir: dir},
		"one variant":     {Experiment: e, Variants: []string{"naive"}, Dir: dir},
		"unknown variant": {Experiment: e, Variants: []string{"naive", "sturdy"}, Dir: dir},
		"negative repeat": {Experiment: e, Variants: []string{"naive", "resilient"}, Repeat: -1, Dir: dir},
		"no directory":    {Experiment: e, Variants: []string{"naive", "resilient"}},
	} {
		t.Run(name, func(t *testing.T) {
			res, err := Run(context.Background(), o)
			if err == nil || res != nil {
				t.Fatalf("accepted: %v", res)
			}
			var ec errext.HasExitCode
			if name != "no experiment" && (!errors.As(err, &ec) || ec.ExitCode() != errext.Invalid) {
				t.Errorf("error %v does not carry exit code 2", err)
			}
		})
	}
}

// Variants are resolved through the scenario: its inline variants are
// accepted beside the shop's, an unknown name is refused naming both.
func TestValidateResolvesInlineVariants(t *testing.T) {
	e, err := experiments.Parse("inline.yaml", []byte(`apiVersion: gameday/v1
kind: Experiment
metadata: {name: inline-compare}
spec:
  variants:
    short-timeouts:
      base: resilient
      overrides: {edges: {orders->payment: {timeout: 150ms}}}
  load:
    stages: [{duration: 10s, rate: 10}]
    mix: [{name: browse, request: GET /api/products}]
`))
	if err != nil {
		t.Fatal(err)
	}
	ok := Options{Experiment: e, Variants: []string{"resilient", "short-timeouts"}, Dir: t.TempDir()}
	if err := ok.validate(); err != nil {
		t.Errorf("inline variant refused: %v", err)
	}
	bad := Options{Experiment: e, Variants: []string{"short-timeouts", "short-timeout"}, Dir: t.TempDir()}
	err = bad.validate()
	var ec errext.HasExitCode
	if err == nil || !errors.As(err, &ec) || ec.ExitCode() != errext.Invalid {
		t.Fatalf("unknown variant: error %v, want exit code 2", err)
	}
	for _, want := range []string{`variant "short-timeout"`, "spec.variants: short-timeouts", "naive, resilient, retries"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

// analyzed is a comparison of naive (failing) against resilient from
// synthetic records, repeat runs each, as Run analyses it.
func analyzed(t *testing.T, repeat int) *reports.Comparison {
	t.Helper()
	c := &reports.Comparison{Scenario: "payment-slowdown", Variants: []string{"naive", "resilient"}, Repeat: repeat, Seed: 1}
	var records []*reports.Run
	for rep := 1; rep <= repeat; rep++ {
		for vi, v := range c.Variants {
			r := reportstest.New(reportstest.Options{Failing: v == "naive", Seed: uint64(10*rep + vi), Duration: 90e9})
			r.Variant = v
			records = append(records, r)
			c.Runs = append(c.Runs, reports.ComparedRun{Variant: v, Repeat: rep, ID: r.ID, Verdict: r.Verdict})
		}
	}
	if err := c.Analyze(records, stats.Options{Seed: 1}); err != nil {
		t.Fatal(err)
	}
	return c
}

// Issue #12: the terminal scorecard of one run a side says "too few runs to
// tell" on every row, never "no significant difference", prints no interval
// from one run, and repeats the warning naming the repeats needed.
func TestScorecardTooFewRuns(t *testing.T) {
	var b strings.Builder
	printScorecard(&b, analyzed(t, 1))
	out := b.String()
	t.Logf("scorecard:\n%s", out)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !strings.HasPrefix(lines[0], "compare: warning: --repeat 1 is too few") || !strings.Contains(lines[0], "--repeat 4 is the fewest") {
		t.Errorf("first line %q is not the warning", lines[0])
	}
	for _, l := range lines[1:] {
		if !strings.HasSuffix(l, "— naive vs resilient: too few runs to tell") {
			t.Errorf("row %q does not say too few runs to tell", l)
		}
	}
	for _, not := range []string{"no significant difference", "better than", "≈", "same"} {
		if strings.Contains(out, not) {
			t.Errorf("scorecard says %q", not)
		}
	}
	if !strings.Contains(out, "ms (1 run: no interval)") || strings.Contains(out, "[") {
		t.Errorf("scorecard prints an interval from one run")
	}

	b.Reset()
	printScorecard(&b, analyzed(t, 3))
	if out := b.String(); !strings.Contains(out, "range of 3 runs, 75%]") || !strings.Contains(out, "--repeat 3 is too few") || strings.Contains(out, "no significant difference") {
		t.Errorf("3 runs a side:\n%s", out)
	}
	b.Reset()
	printScorecard(&b, analyzed(t, 6))
	if out := b.String(); strings.Contains(out, "warning") || strings.Contains(out, "too few runs") || strings.Contains(out, "range of") ||
		!strings.Contains(out, "naive vs resilient: no significant difference") || !strings.Contains(out, "resilient better than naive") {
		t.Errorf("6 runs a side:\n%s", out)
	}
}

func TestRepeatWarning(t *testing.T) {
	for _, tc := range []struct {
		repeat int
		alpha  float64
		least  string
	}{{1, 0, "--repeat 4 "}, {3, 0.05, "--repeat 4 "}, {4, 0.01, "--repeat 5 "}, {6, 0.001, "--repeat 7 "}} {
		if w := RepeatWarning(tc.repeat, stats.Options{Alpha: tc.alpha}); !strings.Contains(w, tc.least+"is the fewest") {
			t.Errorf("RepeatWarning(%d, %v) = %q, want it to name %q", tc.repeat, tc.alpha, w, tc.least)
		}
	}
	for _, tc := range []struct {
		repeat int
		alpha  float64
	}{{4, 0}, {5, 0.01}, {30, 0.05}} {
		if w := RepeatWarning(tc.repeat, stats.Options{Alpha: tc.alpha}); w != "" {
			t.Errorf("RepeatWarning(%d, %v) = %q, want none", tc.repeat, tc.alpha, w)
		}
	}
}
