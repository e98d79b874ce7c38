package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/gameday/gameday/internal/lib/errext"
	"github.com/gameday/gameday/reports"
)

// newReportCommand renders the reports of a run record again.
func newReportCommand(gs *GlobalState) *cobra.Command {
	var out string
	var formats []string
	cmd := &cobra.Command{
		Use:   "report RUN.json",
		Short: "Render the reports of a run record (HTML, JUnit XML, Markdown)",
		Long: `Render the reports of a run record again: report.html (one self-contained
file), junit.xml and summary.md. Reports are pure functions of run.json, so
this gives the same files the run wrote. RUN.json may also be a run directory.`,
		Example: `  gameday report runs/payment-slowdown-20261122T030000Z/run.json
  gameday report runs/payment-slowdown-20261122T030000Z --format junit --out ci/`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			fs := make([]reports.Format, 0, len(formats))
			for _, f := range formats {
				pf, err := reports.ParseFormat(f)
				if err != nil {
					return errext.WithExitCode(err, errext.Invalid)
				}
				fs = append(fs, pf)
			}
			path, err := runRecordPath(gs, args[0])
			if err != nil {
				return err
			}
			r, err := reports.Load(path)
			if err != nil {
				return errext.WithExitCode(err, errext.Invalid)
			}
			dir := filepath.Dir(path)
			if out != "" {
				if dir, err = absPath(gs, out); err != nil {
					return err
				}
			}
			paths, err := reports.WriteFormats(dir, r, fs)
			if err != nil {
				return fmt.Errorf("report %s: %w", path, err)
			}
			for _, p := range paths {
				if _, err := fmt.Fprintln(gs.Stdout, p); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "directory to write the reports into (default: the run record's directory)")
	cmd.Flags().StringSliceVar(&formats, "format", []string{"html", "junit", "md"}, "formats to write: html, junit, md")
	return cmd
}

// absPath resolves p against the injected working directory.
func absPath(gs *GlobalState, p string) (string, error) {
	if filepath.IsAbs(p) {
		return p, nil
	}
	wd, err := gs.Getwd()
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	return filepath.Join(wd, p), nil
}

// runRecordPath resolves a run record argument: a run.json file, or a run
// directory holding one.
func runRecordPath(gs *GlobalState, arg string) (string, error) {
	p, err := absPath(gs, arg)
	if err != nil {
		return "", err
	}
	st, err := os.Stat(p)
	if err != nil {
		return "", errext.WithExitCode(fmt.Errorf("run record: %w", err), errext.Invalid)
	}
	if st.IsDir() {
		p = filepath.Join(p, "run.json")
	}
	return p, nil
}
