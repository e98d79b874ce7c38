package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gameday/gameday/experiments/plantext"
	"github.com/gameday/gameday/internal/lib/errext"
)

func newPlanCommand(gs *GlobalState) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "plan FILE|NAME",
		Short: "Print the timeline of an experiment: load, phases, faults, steady state, SLO windows",
		Long: `plan validates an experiment and prints its timeline without running
anything: the load stages, the phases (baseline, fault, recovery), every
fault occurrence with its planned start and end, when the steady state is
checked and the window of every SLO, as offsets from the start of the load.`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return errext.Errorf(errext.Invalid, "--output %q: want text or json", output)
			}
			e, err := loadExperiment(gs, args[0])
			if err != nil {
				printLoadError(gs, err)
				return silentError{err}
			}
			p, err := e.Plan()
			if err != nil {
				return errext.WithExitCode(err, errext.Invalid)
			}
			if output == "json" {
				enc := json.NewEncoder(gs.Stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(p); err != nil {
					return fmt.Errorf("write plan: %w", err)
				}
				return nil
			}
			if err := plantext.Write(gs.Stdout, p); err != nil {
				return fmt.Errorf("write plan: %w", err)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}
