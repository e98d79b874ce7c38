// Command sut is the shop, gameday's bundled system under test, as its own
// binary (for container images): `sut serve --service NAME ...` runs one
// service, and `sut proxy --admin ADDR --edge NAME=LISTEN=UPSTREAM ...` runs
// a caller's fault proxies as the sidecar of its pod (faults/proxy/sidecar),
// from the same image.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/gameday/gameday/faults/proxy/sidecar"
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
	root.AddCommand(sidecar.NewCommand(os.Stdout, os.Stderr, os.Getenv))
	if err := root.ExecuteContext(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "sut:", err)
		os.Exit(2)
	}
}
