package plantext

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gameday/gameday/experiments"
)

func TestPlanText(t *testing.T) {
	e, err := experiments.Load("../testdata/full.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.Plan()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Write(&b, p); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"experiment full\n",
		"total 1m30s · runtime local · variant resilient · open model · scrape every 500ms",
		"kill-orders #2/3",
		"latency orders→payment delay=800ms direction=downstream jitter=100ms",
		"partition gateway,orders | payment mode=blackhole",
		"after slow-payment: recovery < 10s (by 40s): job:errors:ratio < 0.05 for 3 steps of 500ms",
		"meltdown",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan text lacks %q:\n%s", want, out)
		}
	}
	// Bars line up across sections: every bar starts at the same column.
	barRE := regexp.MustCompile(`  [.=#~+*-]{60}(  |$)`)
	cols := map[int]int{}
	for _, line := range strings.Split(out, "\n") {
		if loc := barRE.FindStringIndex(line); loc != nil {
			cols[utf8.RuneCountInString(line[:loc[0]])]++
		}
	}
	if len(cols) != 1 {
		t.Errorf("bars start at columns %v, want one column:\n%s", cols, out)
	}
}
