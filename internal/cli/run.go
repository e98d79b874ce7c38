package cli

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gameday/gameday/experiments"
	"github.com/gameday/gameday/experiments/runner"
	"github.com/gameday/gameday/internal/lib/errext"
	"github.com/gameday/gameday/journal"
	"github.com/gameday/gameday/platform"
	"github.com/gameday/gameday/sut/policy"
)

type runFlags struct {
	runtime, variant, prometheus, fileSD, out string
	seed                                      int64
	verbose                                   bool
	platformFlags
}

func newRunCommand(gs *GlobalState) *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run FILE|NAME",
		Short: "Run a game day: deploy, load, faults (always reverted), SLOs, report",
		Long: `run executes an experiment file, or a scenario of the built-in library by
name (see gameday list). It deploys the shop, drives load, injects the faults
on their timeline and always reverts them, checks the steady state, SLOs,
recovery times and integrity against Prometheus, and writes
runs/<name>-<time>/ with run.json, report.html, junit.xml, summary.md,
latency.hlog and the run's TSDB.

Exit status: 0 every check held; 1 a check failed or an abort condition
fired; 2 invalid input; 3 the platform failed (deploy, inject or revert);
130 interrupted (faults reverted).`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error { return runGameday(gs, args[0], f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.runtime, "runtime", "", "override spec.runtime: "+strings.Join(platform.Names(), ", "))
	fl.StringVar(&f.variant, "variant", "", "run another variant: an inline one of the file's spec.variants, or one of the shop's ("+strings.Join(policy.Names(), ", ")+")")
	fl.Int64Var(&f.seed, "seed", 0, "override the load's seed (deterministic mix, targets and jitter)")
	fl.StringVar(&f.prometheus, "prometheus", "", "query this Prometheus (URL) instead of the embedded engine; it must read the targets file (--file-sd) and load gameday's recording rules (docs/prometheus.md)")
	fl.StringVar(&f.fileSD, "file-sd", "", "with --prometheus: where to write the scrape targets (file_sd JSON), the path the server's file_sd_configs reads; default <run dir>/targets.json")
	fl.StringVar(&f.out, "out", "runs", "directory that receives the run directory")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "log every fault event and the engine's warnings to stderr")
	f.platformFlags.register(fl)
	return cmd
}

func runGameday(gs *GlobalState, arg string, f runFlags) error {
	e, data, err := loadExperimentSource(gs, arg)
	if err != nil {
		printLoadError(gs, err)
		return silentError{errext.WithExitCode(err, errext.Invalid)}
	}
	if f.runtime != "" {
		if err := e.SetRuntime(f.runtime); err != nil {
			var list experiments.ErrorList
			if errors.As(err, &list) {
				fmt.Fprintf(gs.Stderr, "--runtime %s:\n%s\n", f.runtime, list.Error())
				return silentError{errext.WithExitCode(err, errext.Invalid)}
			}
			return errext.WithExitCode(fmt.Errorf("--runtime: %w", err), errext.Invalid)
		}
	}
	if f.variant != "" {
		if _, err := e.ResolveVariant(f.variant); err != nil {
			var uv *experiments.UnknownVariantError
			if errors.As(err, &uv) {
				return errext.Errorf(errext.Invalid, "--variant %q: %s", f.variant, uv.Reason())
			}
			return errext.WithExitCode(fmt.Errorf("--variant: %w", err), errext.Invalid)
		}
		e.Spec.SUT.Variant = f.variant
	}
	if err := f.platformFlags.check(e.Spec.Runtime); err != nil {
		return err
	}
	base, err := runnerBase(gs, f.verbose)
	if err != nil {
		return err
	}
	f.platformFlags.apply(gs, &base.Settings)
	out := f.out
	if !filepath.IsAbs(out) {
		if wd, err := gs.Getwd(); err == nil {
			out = filepath.Join(wd, out)
		}
	}

	ctx, interrupted, stop := withInterrupts(gs)
	defer stop()
	opts := base
	opts.Experiment, opts.YAML, opts.RunsDir = e, string(data), out
	opts.PrometheusURL, opts.FileSD, opts.Seed = f.prometheus, f.fileSD, f.seed
	outcome, err := runner.Run(ctx, opts)
	if err != nil {
		return err
	}
	code := outcome.Code
	if interrupted() {
		code = errext.Interrupted
	}
	if code == errext.OK {
		return nil
	}
	return silentError{errext.Errorf(code, "%s: %s", outcome.Run.Verdict, outcome.Run.Reason)}
}

// runnerBase is what every command that runs game days shares: the
// runtime settings (the shop is this binary's `sut serve`), the fault journal in
// the state directory, live output and logging.
func runnerBase(gs *GlobalState, verbose bool) (runner.Options, error) {
	journal, err := journal.Open(gs.StateDir())
	if err != nil {
		return runner.Options{}, errext.WithExitCode(fmt.Errorf("open fault journal: %w", err), errext.Platform)
	}
	exe, err := gs.Exe()
	if err != nil {
		return runner.Options{}, errext.WithExitCode(fmt.Errorf("find the gameday binary: %w", err), errext.Platform)
	}
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelInfo
	}
	return runner.Options{
		Settings: platform.Settings{Command: []string{exe, "sut"}, Env: shopEnv(gs)},
		Journal:  journal, Out: gs.Stdout, TTY: gs.StdoutIsTTY, Version: buildVersion(),
		Logger: slog.New(slog.NewTextHandler(gs.Stderr, &slog.HandlerOptions{Level: level})),
		Now:    gs.Now,
	}, nil
}
