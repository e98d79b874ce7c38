package loadgen

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// fixedResult is a Result of two intervals of a two-name mix with known
// latencies, errors, drops and cancellations.
func fixedResult() *Result {
	start := time.Date(2026, 11, 22, 3, 19, 44, 0, time.UTC)
	r := &Result{Model: ModelOpen, Start: start, Names: []string{"browse", "buy"}, ByName: map[string]*Totals{},
		Total: newTotals(), SchedulerLag: NewHistogram(), TargetRequests: 40}
	for _, n := range r.Names {
		r.ByName[n] = newTotals()
	}
	stats := func(count, cancelled, dropped int64, errs map[string]int64, base time.Duration) *IntervalStats {
		st := &IntervalStats{Count: count, Cancelled: cancelled, Dropped: dropped, Errors: errs,
			Corrected: NewHistogram(), Uncorrected: NewHistogram()}
		for i := range count {
			_ = st.Corrected.RecordValue(int64(base + time.Duration(i)*time.Millisecond))
			_ = st.Uncorrected.RecordValue(int64(base/2 + time.Duration(i)*time.Millisecond))
		}
		return st
	}
	for i, iv := range []*Interval{
		{ByName: map[string]*IntervalStats{
			"browse": stats(14, 0, 0, map[string]int64{}, 2*time.Millisecond),
			"buy":    stats(6, 0, 0, map[string]int64{Class5xx: 1}, 10*time.Millisecond),
		}},
		{ByName: map[string]*IntervalStats{
			"browse": stats(10, 2, 1, map[string]int64{ClassTimeout: 1}, 3*time.Millisecond),
			"buy":    stats(4, 1, 0, map[string]int64{}, 12*time.Millisecond),
		}},
	} {
		iv.Start, iv.Duration = start.Add(time.Duration(i)*time.Second), time.Second
		iv.TargetRate, iv.InFlight = 20, int64(3*i)
		iv.SchedulerLag = NewHistogram()
		_ = iv.SchedulerLag.RecordValue(int64(100*time.Microsecond) * int64(i+1))
		r.add(iv)
	}
	r.finish(start.Add(2*time.Second), true)
	return r
}

// TestJSONGolden pins the layout of `gameday load -o json` (documented in
// docs/performance.md): go test ./loadgen -run JSONGolden -update rewrites it.
func TestJSONGolden(t *testing.T) {
	var got bytes.Buffer
	if err := fixedResult().WriteJSON(&got); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "result.json.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("JSON differs from %s (run with -update if the change is meant):\n--- got\n%s\n--- want\n%s", path, got.Bytes(), want)
	}
}

// TestTotalsKeepCancelledApart: the per-name and overall totals and the
// interval summaries carry Cancelled next to Count and Dropped; the error
// ratio and the rate are of the completed requests only.
func TestTotalsKeepCancelledApart(t *testing.T) {
	r := fixedResult()
	if r.Total.Count != 34 || r.Total.Cancelled != 3 || r.Cancelled != 3 || r.Total.Dropped != 1 || r.Total.ErrorCount() != 2 {
		t.Errorf("total count %d cancelled %d/%d dropped %d errors %d, want 34, 3, 1, 2",
			r.Total.Count, r.Total.Cancelled, r.Cancelled, r.Total.Dropped, r.Total.ErrorCount())
	}
	if b := r.ByName["browse"]; b.Cancelled != 2 || b.Count != 24 || b.Rate != 12 {
		t.Errorf("browse %+v", b)
	}
	if s := r.Intervals[1].ByName["buy"]; s.Cancelled != 1 || s.Count != 4 {
		t.Errorf("interval summary %+v", s)
	}
	if j := r.JSON(); j.Total.ErrorRatio != 2.0/34 || j.Total.Cancelled != 3 {
		t.Errorf("json total %+v", j.Total)
	}
}
