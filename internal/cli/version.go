package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// Version is set at build time with -ldflags "-X github.com/gameday/gameday/internal/cli.Version=…".
// When it is empty, the version comes from the module's build info.
var Version = ""

func newVersionCommand(gs *GlobalState) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of gameday and of the Go toolchain that built it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(gs.Stdout, "gameday %s %s %s/%s\n", buildVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return err
		},
	}
}

// buildVersion is the version of this binary, as `gameday version` prints
// it and run.json records it.
func buildVersion() string {
	bi, _ := debug.ReadBuildInfo()
	return formatVersion(Version, bi)
}

// formatVersion describes a build: the version set with -ldflags when there
// is one, else the main module's version (for a `go build` from a git
// checkout, Go's pseudo-version of the commit, "+dirty" with uncommitted
// changes; "(devel)" without VCS information), then what the build info
// says of the checkout: "v0.0.0-2026… (rev 0123456789ab, dirty,
// 2026-12-03T17:00Z)". bi may be nil (a binary without build info).
func formatVersion(ldflags string, bi *debug.BuildInfo) string {
	v := ldflags
	if v == "" && bi != nil {
		v = bi.Main.Version
	}
	if v == "" {
		v = "(devel)"
	}
	if bi == nil {
		return v
	}
	var rev, at string
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
			if len(rev) > 12 {
				rev = rev[:12]
			}
		case "vcs.time":
			if t, err := time.Parse(time.RFC3339, s.Value); err == nil {
				at = t.UTC().Format("2006-01-02T15:04Z")
			} else {
				at = s.Value
			}
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	var parts []string
	if rev != "" {
		parts = append(parts, "rev "+rev)
	}
	if dirty {
		parts = append(parts, "dirty")
	}
	if at != "" {
		parts = append(parts, at)
	}
	if len(parts) == 0 {
		return v
	}
	return v + " (" + strings.Join(parts, ", ") + ")"
}
