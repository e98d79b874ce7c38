// Command gameday runs chaos-engineering and load-testing game days. It is
// kept thin: everything lives in internal/cli and the packages below it.
package main

import (
	"context"
	"os"

	"github.com/gameday/gameday/internal/cli"
)

func main() {
	os.Exit(cli.Execute(cli.NewGlobalState(context.Background()), os.Args[1:]))
}
