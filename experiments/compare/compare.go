// Package compare runs one scenario across several variants of the shop,
// repeated, and compares them with statistics: it interleaves the runs
// (A B C A B C …, so that machine noise spreads evenly over the variants),
// gives every repeat its own seed (the same for every variant of a repeat:
// each variant sees the same load), runs each through experiments/runner and
// writes compare.json and compare.html (reports.Comparison).
package compare

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gameday/gameday/experiments"
	"github.com/gameday/gameday/experiments/runner"
	"github.com/gameday/gameday/internal/lib/errext"
	"github.com/gameday/gameday/reports"
	"github.com/gameday/gameday/reports/stats"
)

// The files Run writes into the output directory (runs go under runs/).
const (
	JSONFile = "compare.json"
	HTMLFile = "compare.html"
	RunsDir  = "runs"
)

// Options configure a comparison.
type Options struct {
	// Experiment is the scenario; its variant is replaced by each of
	// Variants in turn.
	Experiment *experiments.Experiment
	// Variants name the variants to compare, resolved by
	// Experiment.ResolveVariant (the scenario's spec.variants first, then the
	// shop's named variants); at least two (the same name twice makes an
	// A/A comparison).
	Variants []string
	// Repeat is the number of runs per variant (default: the fewest with
	// which the test can show a difference at Stats.Alpha, stats.MinRuns:
	// 4 at 0.05).
	Repeat int
	// Seed is the seed of the first repeat; repeat k uses Seed+k-1. Zero:
	// the scenario's load seed (or 1).
	Seed int64
	// Dir receives compare.json, compare.html and runs/.
	Dir string
	// Runner is the template of every run's options: Platforms, Journal,
	// Out, Logger, Version, PrometheusURL… Experiment, RunsDir and Seed are
	// set per run.
	Runner runner.Options
	// Stats tunes the statistics (alpha, resamples, seed).
	Stats stats.Options
	// Out receives one line per run and the summary.
	Out io.Writer
	Now func() time.Time
}

// Result is a finished (or interrupted) comparison.
type Result struct {
	Comparison *reports.Comparison
	// Code is the worst exit code of the runs that matters to the
	// comparison: interrupted, platform failure or invalid input. Failed
	// SLOs are what a comparison measures, so they do not fail it.
	Code errext.ExitCode
}

func (o *Options) validate() error {
	if o.Experiment == nil {
		return errors.New("compare: no experiment")
	}
	if len(o.Variants) < 2 {
		return errext.Errorf(errext.Invalid, "compare: need at least two variants, have %d", len(o.Variants))
	}
	for _, v := range o.Variants {
		if _, err := o.Experiment.ResolveVariant(v); err != nil {
			return errext.WithExitCode(fmt.Errorf("compare: %w", err), errext.Invalid)
		}
	}
	if o.Repeat < 0 {
		return errext.Errorf(errext.Invalid, "compare: repeat %d: must be positive", o.Repeat)
	}
	if o.Dir == "" {
		return errext.Errorf(errext.Invalid, "compare: no output directory")
	}
	return nil
}

// labels returns the variants as the comparison names them: a variant named
// twice (A/A) gets a suffix the second time.
func labels(vs []string) []string {
	seen := map[string]int{}
	out := make([]string, len(vs))
	for i, v := range vs {
		seen[v]++
		out[i] = v
		if n := seen[v]; n > 1 {
			out[i] = fmt.Sprintf("%s#%d", v, n)
		}
	}
	return out
}

// Run executes the comparison. It returns an error only when nothing could be
// compared (bad options, no output directory); a run that fails is recorded
// and the comparison goes on, an interruption stops it and what ran is still
// analysed and written.
func Run(ctx context.Context, o Options) (*Result, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	if o.Repeat == 0 {
		o.Repeat = stats.MinRuns(o.Stats.WithDefaults().Alpha)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	seed := o.Seed
	if seed == 0 {
		seed = o.Experiment.Spec.Load.Seed
	}
	if seed == 0 {
		seed = 1
	}
	if err := os.MkdirAll(filepath.Join(o.Dir, RunsDir), 0o755); err != nil {
		return nil, fmt.Errorf("compare: %w", err)
	}
	plan, err := o.Experiment.Plan()
	if err != nil {
		return nil, errext.WithExitCode(fmt.Errorf("compare: %w", err), errext.Invalid)
	}
	names := labels(o.Variants)
	began := o.Now()
	c := &reports.Comparison{
		SchemaVersion: reports.ComparisonSchemaVersion,
		Scenario:      o.Experiment.Metadata.Name, Variants: names, Repeat: o.Repeat, Seed: seed,
		Start: began.UTC(),
	}
	res := &Result{Comparison: c}
	var records []*reports.Run
	total := o.Repeat * len(o.Variants)
	n := 0
	for rep := 1; rep <= o.Repeat && ctx.Err() == nil; rep++ {
		for vi, variant := range o.Variants {
			if ctx.Err() != nil {
				break
			}
			n++
			runSeed := seed + int64(rep-1)
			fmt.Fprintf(o.Out, "compare: [%d/%d] %s, repeat %d, seed %d\n", n, total, names[vi], rep, runSeed)
			cr, rec, code, err := runOne(ctx, o, variant, names[vi], rep, runSeed)
			if err != nil {
				return nil, err
			}
			if errext.Severity(code) > errext.Severity(res.Code) && code != errext.Failed {
				res.Code = code
			}
			c.RunSeconds += cr.WallSeconds
			c.PlannedSeconds += plan.Total.D().Seconds()
			line := string(cr.Verdict)
			if cr.Reason != "" {
				line += ": " + cr.Reason
			}
			fmt.Fprintf(o.Out, "compare: [%d/%d] %s in %.1fs\n", n, total, line, cr.WallSeconds)
			if code == errext.Interrupted {
				rec = nil // a cut-short run would skew the statistics
			}
			c.Runs = append(c.Runs, cr)
			records = append(records, rec)
		}
	}
	if ctx.Err() != nil {
		res.Code = errext.Interrupted
	}
	if err := c.Analyze(records, o.Stats); err != nil {
		return nil, err
	}
	if err := write(o.Dir, c, o.Now, began); err != nil {
		return nil, err
	}
	fmt.Fprintf(o.Out, "compare: %d runs in %s (runs %s, planned %s); harness overhead %.1fs (%.1f%% of the runs)\n",
		len(c.Runs), fmtSec(c.WallSeconds), fmtSec(c.RunSeconds), fmtSec(c.PlannedSeconds), c.OverheadSeconds, pct(c.OverheadSeconds, c.RunSeconds))
	printScorecard(o.Out, c)
	fmt.Fprintf(o.Out, "comparison: %s\n", filepath.Join(o.Dir, HTMLFile))
	return res, nil
}

// runOne runs the scenario once with one variant.
func runOne(ctx context.Context, o Options, variant, label string, rep int, seed int64) (reports.ComparedRun, *reports.Run, errext.ExitCode, error) {
	e := *o.Experiment
	e.Spec.SUT.Variant = variant
	ro := o.Runner
	ro.Experiment = &e
	ro.Seed = seed
	ro.RunsDir = filepath.Join(o.Dir, RunsDir, fmt.Sprintf("%s-%d", label, rep))
	if ro.Now == nil {
		ro.Now = o.Now
	}
	cr := reports.ComparedRun{Variant: label, Repeat: rep, Seed: seed}
	t0 := time.Now()
	out, err := runner.Run(ctx, ro)
	cr.WallSeconds = time.Since(t0).Seconds()
	if err != nil {
		// Nothing was recorded: a bad option or no run directory.
		return cr, nil, errext.Platform, fmt.Errorf("compare: %s repeat %d: %w", label, rep, err)
	}
	cr.ID, cr.Verdict, cr.Reason = out.Run.ID, out.Run.Verdict, out.Run.Reason
	cr.Dir = out.Dir
	if rel, err := filepath.Rel(o.Dir, out.Dir); err == nil {
		cr.Dir = filepath.ToSlash(rel)
	}
	return cr, out.Run, out.Code, nil
}

func write(dir string, c *reports.Comparison, now func() time.Time, began time.Time) error {
	end := now()
	c.End = end.UTC()
	c.WallSeconds = end.Sub(began).Seconds()
	c.OverheadSeconds = c.WallSeconds - c.RunSeconds
	if err := c.Save(filepath.Join(dir, JSONFile)); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, HTMLFile))
	if err != nil {
		return fmt.Errorf("compare: %w", err)
	}
	if err := reports.WriteVariantsHTML(f, c); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("compare: %w", err)
	}
	return nil
}

func pct(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return 100 * a / b
}

func fmtSec(s float64) string {
	return (time.Duration(s * float64(time.Second))).Round(100 * time.Millisecond).String()
}

// RepeatWarning is the warning for a comparison of repeat runs per variant
// that cannot show a difference at the significance level of o (the
// two-sided Mann-Whitney U test of reports/stats: fewer than
// stats.MinRuns(alpha) runs a side), naming the fewest repeats that can; ""
// when repeat is enough.
func RepeatWarning(repeat int, o stats.Options) string {
	o = o.WithDefaults()
	least := stats.MinRuns(o.Alpha)
	if least == 0 || repeat >= least {
		return ""
	}
	return fmt.Sprintf("compare: warning: --repeat %d is too few to tell the variants apart: with %d v %d runs the smallest p-value the Mann-Whitney U test can give is %.2g, above alpha %.3g, so every verdict will be \"too few runs to tell\"; --repeat %d is the fewest that can show a difference",
		repeat, repeat, repeat, stats.MinP(repeat, repeat), o.Alpha, least)
}

// printScorecard writes the verdicts, one line per metric, in the wording of
// the HTML page (reports.PairVerdict), after the warning when the repeats
// were too few to tell.
func printScorecard(w io.Writer, c *reports.Comparison) {
	if msg := RepeatWarning(c.Repeat, stats.Options{Alpha: c.Alpha}); msg != "" {
		fmt.Fprintln(w, msg)
	}
	for _, m := range c.Metrics {
		var parts []string
		for _, s := range m.Variants {
			parts = append(parts, fmt.Sprintf("%s %s", s.Variant, fmtValue(m.Unit, s)))
		}
		var verdicts []string
		for _, p := range m.Pairs {
			verdicts = append(verdicts, reports.PairVerdict(p))
		}
		fmt.Fprintf(w, "  %s: %s — %s\n", m.Name, strings.Join(parts, ", "), strings.Join(verdicts, "; "))
	}
}

// fmtValue is a variant's median with its interval: the bootstrap interval,
// the range of 2 to 5 runs with the confidence it has, or none from one run.
func fmtValue(unit string, s reports.MetricSample) string {
	if s.N == 0 {
		return "no data"
	}
	if unit == "rate" {
		return fmt.Sprintf("%.0f%%", 100*s.Mean)
	}
	num, suffix := func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }, "s"
	switch unit {
	case "ratio":
		num, suffix = func(v float64) string { return strconv.FormatFloat(100*v, 'f', 2, 64) }, "%"
	case "ms":
		num, suffix = func(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) }, "ms"
	case "x":
		num, suffix = func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }, "×"
	}
	out := num(s.Median) + suffix
	switch {
	case s.CI == nil:
		return out + " (1 run: no interval)"
	case s.Range:
		return fmt.Sprintf("%s [%s–%s: range of %d runs, %s%%]", out, num(s.CI.Lo), num(s.CI.Hi), s.N, strconv.FormatFloat(100*s.Level, 'f', -1, 64))
	}
	return fmt.Sprintf("%s [%s–%s]", out, num(s.CI.Lo), num(s.CI.Hi))
}
