package reports_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gameday/gameday/reports"
	"github.com/gameday/gameday/reports/reportstest"
)

func TestCompareGolden(t *testing.T) {
	a := reportstest.Short()
	b := reportstest.New(reportstest.Options{Failing: true, Seed: 2})
	b.Variant = "naive"
	var buf bytes.Buffer
	if err := reports.WriteCompareHTML(&buf, []*reports.Run{a, b}); err != nil {
		t.Fatal(err)
	}
	doc := buf.String()
	for _, want := range []string{
		`#1 payment-slowdown · resilient`, `#2 payment-slowdown · naive`,
		`✗ worst 1.39 s`,                          // the failing SLO of run 2 (seed 2)
		`data-name="#2 payment-slowdown · naive"`, // overlaid timelines
		`class="delta worse"`,                     // a phase got worse
		`14.0 s`,                                  // recovery of run 2
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("comparison lacks %q", want)
		}
	}
	golden(t, "compare.html", outline(t, buf.Bytes()))
}

func TestCompareNeedsRuns(t *testing.T) {
	if err := reports.WriteCompareHTML(&bytes.Buffer{}, nil); err == nil {
		t.Error("comparing no runs succeeded")
	}
}
