package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/gameday/gameday/experiments"
	"github.com/gameday/gameday/internal/lib/errext"
)

func newValidateCommand(gs *GlobalState) *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE|NAME...",
		Short: "Check experiment files (or built-in scenarios) and report every error with file:line:col",
		Long: `validate parses and checks each experiment file: schema, durations, load
stages, request mix, PromQL, SLO bounds, fault types and parameters, targets,
and that the timeline fits in the run. Every problem is reported, one per
line, as file:line:col: message. Exit status 0 when every file is valid, 2
otherwise.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			bad := 0
			for _, arg := range args {
				e, err := loadExperiment(gs, arg)
				if err != nil {
					bad++
					printLoadError(gs, err)
					continue
				}
				p, err := e.Plan()
				if err != nil {
					bad++
					fmt.Fprintf(gs.Stderr, "%s: %v\n", e.File, err)
					continue
				}
				fmt.Fprintf(gs.Stdout, "%s: ok (%s: %d s, %d fault occurrence(s), %d SLO(s))\n",
					e.File, e.Metadata.Name, int(p.Total.D().Seconds()), len(p.Faults), len(p.SLOs))
			}
			if bad > 0 {
				return silentError{errext.Errorf(errext.Invalid, "%d of %d experiment file(s) invalid", bad, len(args))}
			}
			return nil
		},
	}
}

// loadExperiment resolves arg (a file, relative to the working directory,
// or the name of a built-in scenario) and parses it.
func loadExperiment(gs *GlobalState, arg string) (*experiments.Experiment, error) {
	e, _, err := loadExperimentSource(gs, arg)
	return e, err
}

// loadExperimentSource is loadExperiment that also returns the file as
// written, which the run record keeps.
func loadExperimentSource(gs *GlobalState, arg string) (*experiments.Experiment, []byte, error) {
	target := arg
	if !filepath.IsAbs(arg) && gs.Getwd != nil {
		if wd, err := gs.Getwd(); err == nil {
			if st, err := os.Stat(filepath.Join(wd, arg)); err == nil && !st.IsDir() {
				target = filepath.Join(wd, arg)
			}
		}
	}
	name, data, err := experiments.Resolve(target)
	if err != nil {
		return nil, nil, errext.WithExitCode(err, errext.Invalid)
	}
	if name == target {
		name = arg // report the path as the user wrote it
	}
	e, err := experiments.Parse(name, data)
	if err != nil {
		return nil, nil, errext.WithExitCode(err, errext.Invalid)
	}
	return e, data, nil
}

// printLoadError prints an experiment's errors to stderr, one per line.
func printLoadError(gs *GlobalState, err error) {
	var list experiments.ErrorList
	if errors.As(err, &list) {
		fmt.Fprintln(gs.Stderr, list.Error())
		return
	}
	fmt.Fprintf(gs.Stderr, "gameday: %v\n", err)
}

// silentError carries an exit code for errors already printed.
type silentError struct{ error }

func (silentError) Silent() bool    { return true }
func (s silentError) Unwrap() error { return s.error }
