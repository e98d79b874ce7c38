package cli

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/gameday/gameday/reports/reportstest"
)

// The --variants form refuses bad input before running anything; the game
// days themselves are in experiments/compare's e2e test.
func TestCompareVariantsErrors(t *testing.T) {
	wd := t.TempDir()
	good := saveReportRun(t, filepath.Join(wd, "ok"), reportstest.Short())
	cases := []struct {
		name string
		args []string
		msg  string
	}{
		{"one variant", []string{"compare", "payment-slowdown", "--variants", "naive"}, "need at least two"},
		{"unknown variant", []string{"compare", "payment-slowdown", "--variants", "naive,sturdy"}, `--variants: variant "sturdy": not a variant of the shop`},
		{"two scenarios", []string{"compare", "payment-slowdown", "baseline", "--variants", "naive,resilient"}, "accepts 1 arg"},
		{"no repeat", []string{"compare", "payment-slowdown", "--variants", "naive,resilient", "--repeat", "0"}, "--repeat 0"},
		{"unknown scenario", []string{"compare", "no-such-scenario", "--variants", "naive,resilient"}, "no-such-scenario"},
		{"runs still need two", []string{"compare", good}, "requires at least 2 arg"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			gs, _, errb := reportState(t, wd)
			if code := Execute(gs, c.args); code != 2 {
				t.Errorf("exit %d, want 2 (%s)", code, errb.String())
			}
			if !strings.Contains(errb.String(), c.msg) {
				t.Errorf("stderr %q lacks %q", errb.String(), c.msg)
			}
		})
	}
}
