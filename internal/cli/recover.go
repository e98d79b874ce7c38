package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/gameday/gameday/experiments/runner"
	"github.com/gameday/gameday/internal/lib/errext"
	"github.com/gameday/gameday/journal"
	"github.com/gameday/gameday/platform"
)

// newRecoverCommand reverts what crashed runs left behind, from the journal.
func newRecoverCommand(gs *GlobalState) *cobra.Command {
	return &cobra.Command{
		Use:   "recover",
		Short: "Revert whatever a crashed run left behind, from the fault journal",
		Long: `Reads the fault journal in the state directory ($GAMEDAY_STATE_DIR, else
$XDG_STATE_HOME/gameday, else ~/.local/state/gameday) and, for every run whose
harness is no longer running, resumes paused processes, ends orphaned shop
processes and clears the records. A process is only signalled after checking
that it is the one the run started (pid, start time and run id); records of a
run that is still going are left alone. For the docker runtime (when the
Docker engine answers) it unpauses containers, removes the packet filter
chains of partitions from their network namespaces, and removes the run's
containers, network and volumes, each only if it carries the run's label;
without the engine those records are reported and kept. The run record
(run.json) a crashed run left is closed with the verdict "crashed": every
check not judged yet is marked not evaluated, and report.html, junit.xml and
summary.md are rendered from what was measured. Safe to run at any time.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir := gs.StateDir()
			j, err := journal.Open(dir)
			if err != nil {
				return errext.WithExitCode(err, errext.Platform)
			}
			// A run record left "running" is closed as crashed, and its
			// reports rendered from what was measured.
			handlers := []journal.Handler{&runner.RecordCloser{Now: gs.Now}}
			// Each runtime with records of its own kinds (the Docker
			// runtime's paused containers, packet filters, a run's
			// containers) adds its handler; one whose engine does not
			// answer adds none, and its records are reported and kept for
			// a later recover.
			for _, name := range platform.Names() {
				rt, _ := platform.Lookup(name)
				rc, ok := rt.(platform.Recoverer)
				if !ok {
					continue
				}
				pctx, cancel := context.WithTimeout(cmd.Context(), 3*time.Second)
				h, release, rerr := rc.Recovery(pctx)
				cancel()
				if rerr != nil {
					continue
				}
				defer release()
				handlers = append(handlers, h)
			}
			rec, err := journal.Recover(cmd.Context(), j, handlers...)
			w := gs.Stdout
			if len(rec.Found) == 0 && len(rec.Left) == 0 && err == nil {
				fmt.Fprintf(w, "nothing to recover in %s\n", dir)
				return nil
			}
			fmt.Fprintf(w, "journal %s\n", dir)
			for _, s := range rec.Found {
				fmt.Fprintf(w, "found   %s\n", s)
			}
			for _, s := range rec.Done {
				fmt.Fprintf(w, "did     %s\n", s)
			}
			for _, s := range rec.Left {
				fmt.Fprintf(w, "left    %s\n", s)
			}
			if err != nil {
				return errext.WithExitCode(fmt.Errorf("recover: %w", err), errext.Platform)
			}
			return nil
		},
	}
}
