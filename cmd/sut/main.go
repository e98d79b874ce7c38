// Command sut is the shop, gameday's bundled system under test, as its own
// binary (for container images): `sut serve --service NAME ...`.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/gameday/gameday/sut/server"
)

func main() {
	root := &cobra.Command{
		Use:           "sut",
		Short:         "The shop: gameday's bundled system under test",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(server.NewServeCommand(os.Stdout, os.Stderr, os.Getenv))
	if err := root.ExecuteContext(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "sut:", err)
		os.Exit(2)
	}
}
