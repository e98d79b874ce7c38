package reports_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/gameday/gameday/reports"
	"github.com/gameday/gameday/reports/reportstest"
)

// BenchmarkHourReport renders the HTML report of a one-hour run at 5,000
// requests/s (3 request names × 3,600 intervals, 5 phases × 3 request names
// of histograms). docs/performance.md records its figures.
func BenchmarkHourReport(b *testing.B) {
	r := reportstest.Hour()
	var size int
	for b.Loop() {
		var buf bytes.Buffer
		if err := reports.WriteHTML(&buf, r); err != nil {
			b.Fatal(err)
		}
		size = buf.Len()
	}
	b.ReportMetric(float64(size), "bytes/report")
}

// BenchmarkHourAll is the whole `gameday report`: load run.json, then HTML,
// JUnit and Markdown.
func BenchmarkHourAll(b *testing.B) {
	path := b.TempDir() + "/run.json"
	if err := reportstest.Hour().Save(path); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		r, err := reports.Load(path)
		if err != nil {
			b.Fatal(err)
		}
		if err := reports.WriteHTML(io.Discard, r); err != nil {
			b.Fatal(err)
		}
		if err := reports.WriteJUnit(io.Discard, r); err != nil {
			b.Fatal(err)
		}
		if err := reports.WriteMarkdown(io.Discard, r); err != nil {
			b.Fatal(err)
		}
	}
}
