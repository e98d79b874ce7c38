package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gameday/gameday/experiments/compare"
	"github.com/gameday/gameday/internal/lib/errext"
	"github.com/gameday/gameday/reports"
	"github.com/gameday/gameday/reports/stats"
	"github.com/gameday/gameday/sut/policy"
)

type compareFlags struct {
	out      string
	variants []string
	repeat   int
	// repeatSet: --repeat was given (0 is then refused, not the default).
	repeatSet bool
	seed      int64
	alpha     float64
	verbose   bool
}

// newCompareCommand puts runs side by side in one HTML page, or, with
// --variants, runs one scenario across variants of the shop, repeated, and
// compares them with statistics.
func newCompareCommand(gs *GlobalState) *cobra.Command {
	var f compareFlags
	cmd := &cobra.Command{
		Use:   "compare RUN.json RUN.json… | compare FILE|NAME --variants A,B[,C…] [--repeat N]",
		Short: "Compare runs side by side, or a scenario across variants with statistics",
		Long: `Compare runs side by side: the verdict of every check, percentiles per phase
with the change against the first run, overlaid p99 timelines and recovery
times. Each argument is a run.json or a run directory holding one.

With --variants, compare failover designs: run the scenario (a file, or a
scenario of the built-in library) once per variant per repeat, interleaved
(A B C A B C …), repeat k with seed SEED+k-1, and write compare.json and
compare.html into --out (default runs/compare-<name>-<time>): per variant the
SLO pass rate, p99 and error ratio during each fault, recovery times, retry
amplification and the time breakers spent open (median over repeats with a
95 % bootstrap interval; from fewer than 6 runs the range of the runs with
the confidence it has), and per metric which variant is significantly better
(two-sided Mann-Whitney U at --alpha), "no significant difference", or "too
few runs to tell" when the repeats are too few for the test to ever reach
--alpha (fewer than 4 at 0.05: a warning says so at the start; --repeat
defaults to the fewest that can).
docs/comparing.md explains how to read it.

Exit status with --variants: 0 the comparison ran (failed SLOs are what it
measures); 2 invalid input; 3 a run's platform failed; 130 interrupted (what
ran is still compared and written).`,
		Example: `  gameday compare runs/naive-*/run.json runs/resilient-*/run.json --out compare.html
  gameday compare payment-slowdown --variants naive,retries,resilient --repeat 5`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(f.variants) > 0 {
				return cobra.ExactArgs(1)(cmd, args)
			}
			return cobra.MinimumNArgs(2)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(f.variants) > 0 {
				if !cmd.Flags().Changed("out") {
					f.out = ""
				}
				f.repeatSet = cmd.Flags().Changed("repeat")
				return compareVariants(gs, args[0], f)
			}
			return compareRuns(gs, args, f.out)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.out, "out", "o", "compare.html", "file to write the comparison to; with --variants, the directory (default runs/compare-<name>-<time>)")
	fl.StringSliceVar(&f.variants, "variants", nil, "compare the scenario across these variants: inline ones of the file's spec.variants or the shop's ("+strings.Join(policy.Names(), ", ")+"); the same name twice is an A/A comparison")
	fl.IntVar(&f.repeat, "repeat", 0, fmt.Sprintf("with --variants: runs per variant (default: the fewest with which the test can show a difference at --alpha, %d at 0.05)", stats.MinRuns(0.05)))
	fl.Int64Var(&f.seed, "seed", 0, "with --variants: seed of the first repeat (default: the scenario's load seed)")
	fl.Float64Var(&f.alpha, "alpha", 0.05, "with --variants: significance level of the tests")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "with --variants: log every fault event and the engine's warnings to stderr")
	return cmd
}

func compareRuns(gs *GlobalState, args []string, out string) error {
	runs := make([]*reports.Run, 0, len(args))
	for _, a := range args {
		path, err := runRecordPath(gs, a)
		if err != nil {
			return err
		}
		r, err := reports.Load(path)
		if err != nil {
			return errext.WithExitCode(err, errext.Invalid)
		}
		runs = append(runs, r)
	}
	dst, err := absPath(gs, out)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := reports.WriteCompareHTML(&buf, runs); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("compare: %w", err)
	}
	if err := os.WriteFile(dst, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("compare: %w", err)
	}
	_, err = fmt.Fprintln(gs.Stdout, dst)
	return err
}

func compareVariants(gs *GlobalState, arg string, f compareFlags) error {
	if f.repeatSet && f.repeat < 1 {
		return errext.Errorf(errext.Invalid, "--repeat %d: must be at least 1", f.repeat)
	}
	if len(f.variants) < 2 {
		return errext.Errorf(errext.Invalid, "--variants: need at least two (the same one twice for an A/A comparison)")
	}
	if !(f.alpha > 0 && f.alpha < 1) {
		return errext.Errorf(errext.Invalid, "--alpha %v: must be between 0 and 1", f.alpha)
	}
	if !f.repeatSet {
		f.repeat = stats.MinRuns(f.alpha)
	}
	e, data, err := loadExperimentSource(gs, arg)
	if err != nil {
		printLoadError(gs, err)
		return silentError{errext.WithExitCode(err, errext.Invalid)}
	}
	for _, v := range f.variants {
		if _, err := e.ResolveVariant(v); err != nil {
			return errext.WithExitCode(fmt.Errorf("--variants: %w", err), errext.Invalid)
		}
	}
	so := stats.Options{Seed: uint64(f.seed), Alpha: f.alpha}
	if msg := compare.RepeatWarning(f.repeat, so); msg != "" {
		fmt.Fprintln(gs.Stderr, msg)
	}
	out := f.out
	if out == "" {
		out = filepath.Join("runs", fmt.Sprintf("compare-%s-%s", e.Metadata.Name, gs.Now().UTC().Format("20060102T150405Z")))
	}
	dir, err := absPath(gs, out)
	if err != nil {
		return err
	}
	base, err := runnerBase(gs, f.verbose)
	if err != nil {
		return err
	}
	// The variants' runs print their verdict tables; bars would interleave.
	base.TTY = false
	base.YAML = string(data) // every run's record keeps the scenario as written
	ctx, interrupted, stop := withInterrupts(gs)
	defer stop()
	res, err := compare.Run(ctx, compare.Options{
		Experiment: e, Variants: f.variants, Repeat: f.repeat, Seed: f.seed, Dir: dir,
		Runner: base,
		Stats:  so,
		Out:    gs.Stdout, Now: gs.Now,
	})
	if err != nil {
		return err
	}
	code := res.Code
	if interrupted() {
		code = errext.Interrupted
	}
	if code == errext.OK {
		return nil
	}
	return silentError{errext.Errorf(code, "compare: %d of %d runs, stopped", len(res.Comparison.Runs), len(f.variants)*f.repeat)}
}
