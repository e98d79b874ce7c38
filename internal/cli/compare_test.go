package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gameday/gameday/reports"
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

// compareState is reportState with what the --variants form needs (a fault
// journal, the binary's path, signals) and a context cancelled before the
// command runs: it validates, warns and writes an empty comparison without
// starting one game day.
func compareState(t *testing.T, wd string) (*GlobalState, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	gs, out, errb := reportState(t, wd)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	gs.Ctx = ctx
	gs.Env["GAMEDAY_STATE_DIR"] = filepath.Join(wd, "state")
	gs.Exe = func() (string, error) { return "/nonexistent/gameday", nil }
	gs.Signal = SignalFuncs{Notify: func(chan<- os.Signal, ...os.Signal) {}, Stop: func(chan<- os.Signal) {}}
	return gs, out, errb
}

// Issue #12: with too few repeats for the test to ever reach alpha, the
// command warns before the first run and names the fewest repeats that can
// show a difference, computed from the test at the --alpha in use.
func TestCompareVariantsWarnsTooFewRepeats(t *testing.T) {
	cases := []struct {
		args []string
		want string // "" : no warning
	}{
		{[]string{"--repeat", "1"}, "--repeat 1 is too few to tell the variants apart: with 1 v 1 runs the smallest p-value the Mann-Whitney U test can give is 1, above alpha 0.05, so every verdict will be \"too few runs to tell\"; --repeat 4 is the fewest"},
		{[]string{"--repeat", "2"}, "smallest p-value the Mann-Whitney U test can give is 0.33, above alpha 0.05, so every verdict will be \"too few runs to tell\"; --repeat 4 is the fewest"},
		{[]string{"--repeat", "3"}, "--repeat 3 is too few to tell the variants apart: with 3 v 3 runs the smallest p-value the Mann-Whitney U test can give is 0.1, above alpha 0.05, so every verdict will be \"too few runs to tell\"; --repeat 4 is the fewest"},
		{[]string{"--repeat", "4"}, ""},
		{[]string{"--repeat", "4", "--alpha", "0.01"}, "--repeat 4 is too few to tell the variants apart: with 4 v 4 runs the smallest p-value the Mann-Whitney U test can give is 0.029, above alpha 0.01, so every verdict will be \"too few runs to tell\"; --repeat 5 is the fewest"},
		{[]string{"--repeat", "5", "--alpha", "0.01"}, ""},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			wd := t.TempDir()
			gs, out, errb := compareState(t, wd)
			args := append([]string{"compare", "payment-slowdown", "--variants", "naive,resilient", "--out", "cmp"}, c.args...)
			if code := Execute(gs, args); code != 130 {
				t.Fatalf("exit %d, want 130 (cancelled before the first run): %s", code, errb.String())
			}
			if strings.Contains(out.String(), "[1/") {
				t.Fatalf("a run started:\n%s", out.String())
			}
			warned := strings.Contains(errb.String(), "compare: warning:")
			if c.want == "" {
				if warned {
					t.Errorf("warned with enough repeats: %s", errb.String())
				}
				return
			}
			if !strings.Contains(errb.String(), c.want) {
				t.Errorf("stderr %q lacks %q", errb.String(), c.want)
			}
			if _, err := os.Stat(filepath.Join(wd, "cmp", "compare.json")); err != nil {
				t.Errorf("no compare.json: %v", err)
			}
		})
	}
	t.Run("bad alpha", func(t *testing.T) {
		gs, _, errb := compareState(t, t.TempDir())
		if code := Execute(gs, []string{"compare", "payment-slowdown", "--variants", "naive,resilient", "--alpha", "1.5"}); code != 2 || !strings.Contains(errb.String(), "--alpha 1.5") {
			t.Errorf("exit %d, stderr %q", code, errb.String())
		}
	})
}

// Without --repeat, the comparison runs the fewest repeats that can show a
// difference at --alpha, so it does not warn.
func TestCompareVariantsDefaultRepeat(t *testing.T) {
	for alpha, want := range map[string]int{"0.05": 4, "0.01": 5} {
		wd := t.TempDir()
		gs, _, errb := compareState(t, wd)
		if code := Execute(gs, []string{"compare", "payment-slowdown", "--variants", "naive,resilient", "--out", "cmp", "--alpha", alpha}); code != 130 {
			t.Fatalf("alpha %s: exit %d: %s", alpha, code, errb.String())
		}
		if strings.Contains(errb.String(), "warning") {
			t.Errorf("alpha %s: warned: %s", alpha, errb.String())
		}
		c, err := reports.LoadComparison(filepath.Join(wd, "cmp", "compare.json"))
		if err != nil {
			t.Fatal(err)
		}
		if c.Repeat != want || c.Alpha != mustFloat(t, alpha) {
			t.Errorf("alpha %s: repeat %d alpha %v, want repeat %d", alpha, c.Repeat, c.Alpha, want)
		}
	}
}

func mustFloat(t *testing.T, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return f
}
