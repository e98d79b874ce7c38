package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gameday/gameday/internal/lib/errext"
	// The runtimes built into gameday register themselves.
	_ "github.com/gameday/gameday/platform/runtimes"
)

// newRootCommand assembles the command tree. Each command lives in its own
// file and is built from the injected state.
func newRootCommand(gs *GlobalState) *cobra.Command {
	root := &cobra.Command{
		Use:   "gameday",
		Short: "Chaos-engineering and load-testing game days from one YAML file",
		Long: `gameday deploys a system, drives load at it, injects faults on a timeline,
always reverts them, checks SLOs against Prometheus and writes a report.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(gs.Stdout)
	root.SetErr(gs.Stderr)
	root.SetIn(gs.Stdin)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return errext.WithExitCode(err, errext.Invalid)
	})
	for _, build := range []func(*GlobalState) *cobra.Command{
		newVersionCommand,
		newLoadCommand,
		newSUTCommand,
		newRecoverCommand,
		newValidateCommand,
		newPlanCommand,
		newListCommand,
		newRunCommand,
		newReportCommand,
		newCompareCommand,
	} {
		root.AddCommand(build(gs))
	}
	return root
}

// Execute runs the CLI with args (without the program name) and returns the
// process exit code. Errors are printed to stderr once, here.
func Execute(gs *GlobalState, args []string) int {
	root := newRootCommand(gs)
	root.SetArgs(args)
	err := root.ExecuteContext(gs.Ctx)
	if err == nil {
		return 0
	}
	code := errext.Code(err)
	var silent interface{ Silent() bool }
	if !(errors.As(err, &silent) && silent.Silent()) {
		fmt.Fprintf(gs.Stderr, "gameday: %v\n", err)
	}
	// cobra reports unknown commands and bad args as plain errors: usage.
	if code == errext.Failed && isUsageError(err) {
		code = errext.Invalid
	}
	return int(code)
}

func isUsageError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "accepts ", "requires at least", "requires at most", "invalid argument"} {
		if len(msg) >= len(p) && contains(msg, p) {
			return true
		}
	}
	return false
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
