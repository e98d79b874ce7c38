package cli

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/gameday/gameday/experiments"
	"github.com/gameday/gameday/internal/lib/errext"
)

func newListCommand(gs *GlobalState) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the built-in scenario library (run one with gameday run NAME)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if output != "text" && output != "json" {
				return errext.Errorf(errext.Invalid, "--output %q: want text or json", output)
			}
			lib, err := experiments.Library()
			if err != nil {
				return err
			}
			if output == "json" {
				enc := json.NewEncoder(gs.Stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(lib); err != nil {
					return fmt.Errorf("write list: %w", err)
				}
				return nil
			}
			tw := tabwriter.NewWriter(gs.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tDESCRIPTION")
			for _, s := range lib {
				fmt.Fprintf(tw, "%s\t%s\n", s.Name, s.Description)
			}
			if err := tw.Flush(); err != nil {
				return fmt.Errorf("write list: %w", err)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}
