package reports_test

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/gameday/gameday/reports"
	"github.com/gameday/gameday/reports/reportstest"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	r := reportstest.New(reportstest.Options{Failing: true})
	r.Abort = &reports.Abort{Condition: "gameday:error:ratio10s > 0.5 for 10s", FiredAt: 61.5, Observed: 0.62}
	path := filepath.Join(t.TempDir(), "run.json")
	if err := r.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := reports.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, r) {
		a, _ := json.Marshal(r)
		b, _ := json.Marshal(got)
		t.Fatalf("round trip changed the record:\nwant %.300s\n got %.300s", a, b)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("Save left %d files, want only run.json", len(entries))
	}
}

func TestLoadRejectsOtherSchemas(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]struct {
		body string
		want string
	}{
		"future":  {`{"schemaVersion":"gameday.run/v9","verdict":"pass"}`, `"gameday.run/v9"`},
		"missing": {`{"verdict":"pass"}`, "no schemaVersion"},
		"garbage": {`verdict: pass`, "not JSON"},
	}
	for name, c := range cases {
		p := filepath.Join(dir, name+".json")
		if err := os.WriteFile(p, []byte(c.body), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := reports.Load(p)
		if err == nil {
			t.Errorf("%s: Load succeeded, want an error", name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %q should name the file and contain %q", name, err, c.want)
		}
		if name != "garbage" && !errors.Is(err, reports.ErrUnknownSchema) {
			t.Errorf("%s: error %q is not ErrUnknownSchema", name, err)
		}
	}
	if _, err := reports.Load(filepath.Join(dir, "absent.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("absent file: %v, want os.ErrNotExist", err)
	}
}

func TestHistogramEncoding(t *testing.T) {
	h := hdrhistogram.New(1, 60_000_000, 3)
	for v := int64(1); v <= 10000; v++ {
		if err := h.RecordValue(v * 10); err != nil {
			t.Fatal(err)
		}
	}
	enc, err := reports.EncodeHistogram(h)
	if err != nil {
		t.Fatal(err)
	}
	c, u, err := reports.Histogram{Phase: "p", Request: "r", Unit: "us", Corrected: enc}.Decode()
	if err != nil {
		t.Fatal(err)
	}
	if u != nil {
		t.Error("absent uncorrected histogram decoded to non-nil")
	}
	if c.TotalCount() != 10000 || c.ValueAtPercentile(99) != h.ValueAtPercentile(99) {
		t.Errorf("decoded count %d p99 %d, want 10000 and %d", c.TotalCount(), c.ValueAtPercentile(99), h.ValueAtPercentile(99))
	}
	if _, _, err := (reports.Histogram{Corrected: "not base64!"}).Decode(); err == nil {
		t.Error("a corrupt histogram decoded without error")
	}
}

func TestFaultWindow(t *testing.T) {
	f := reports.Fault{PlannedInject: 10, PlannedRevert: 20}
	if s, e := f.Window(); s != 10 || e != 20 {
		t.Errorf("planned window = %v,%v", s, e)
	}
	f.InjectedAt, f.RevertedAt = reports.Sec(10500*1e6), reports.Sec(21000*1e6)
	if s, e := f.Window(); s != 10.5 || e != 21 {
		t.Errorf("actual window = %v,%v, want 10.5,21", s, e)
	}
}

func TestIntervalAndHistogramHelpers(t *testing.T) {
	h := hdrhistogram.New(1, 60_000_000, 3)
	for v := int64(1); v <= 1000; v++ {
		_ = h.RecordValue(v * 1000) // 1..1000 ms in µs
	}
	iv := reports.IntervalFromHistogram(7, h, "us")
	if iv.At != 7 || iv.Count != 1000 || iv.P50 < 499 || iv.P50 > 501 || iv.P99 < 989 || iv.P99 > 991 || iv.Max < 999 || iv.Max > 1001 {
		t.Errorf("interval = %+v", iv)
	}
	if e := reports.IntervalFromHistogram(3, nil, "us"); e.Count != 0 || e.At != 3 {
		t.Errorf("empty interval = %+v", e)
	}
	ph, err := reports.NewHistogram("baseline", "browse", "us", h, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, u, err := ph.Decode()
	if err != nil || u != nil || c.TotalCount() != 1000 {
		t.Errorf("NewHistogram round trip: %v %v %v", c, u, err)
	}
}

func TestSaveSanitizesNaN(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	r := reportstest.Short()
	r.Checks[0].Observed = &nan
	r.Checks[0].Series = append(r.Checks[0].Series, reports.Point{T: 200, V: nan})
	n := len(r.Checks[0].Series)
	r.Recovery[0].Seconds = &inf
	r.Abort = &reports.Abort{Condition: "x", Observed: nan}
	path := filepath.Join(t.TempDir(), "run.json")
	if err := r.Save(path); err != nil {
		t.Fatalf("Save with NaN values: %v", err)
	}
	got, err := reports.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Checks[0].Observed != nil || got.Recovery[0].Seconds != nil || got.Abort.Observed != 0 {
		t.Errorf("NaN/Inf not sanitized: observed %v recovery %v abort %v", got.Checks[0].Observed, got.Recovery[0].Seconds, got.Abort.Observed)
	}
	if len(got.Checks[0].Series) != n-1 {
		t.Errorf("series has %d points, want %d (the NaN sample dropped)", len(got.Checks[0].Series), n-1)
	}
}

// TestLoadUpgradesV1: a v1 record (pass/skipped flags, recovery and
// integrity apart from the checks, cut requests counted as errors) reads as
// v2: one list of checks with statuses, cancelled requests apart.
func TestLoadUpgradesV1(t *testing.T) {
	v1 := `{"schemaVersion":"gameday.run/v1","verdict":"fail",
	 "requests":[{"name":"browse","intervals":[{"at":0,"count":10,"errors":{"5xx":1,"canceled":3}}]}],
	 "checks":[
	  {"name":"a","kind":"slo","bound":"< 1s","observed":0.5,"pass":true},
	  {"name":"b","kind":"slo","bound":">= 0.99","query":"gameday:availability:ratio10s","observed":0.9,"pass":false},
	  {"name":"c","kind":"steady-state","bound":">= 0.99","pass":false,"skipped":true}],
	 "recovery":[{"fault":"kill","sli":"recovers","seconds":12,"bound":"< 10s","pass":false}],
	 "integrity":{"checked":true,"ok":true,"counts":{"acknowledged":5}}}`
	r, err := reports.Parse([]byte(v1), "old.json")
	if err != nil {
		t.Fatal(err)
	}
	if r.SchemaVersion != reports.SchemaVersion {
		t.Errorf("schema %q after upgrade", r.SchemaVersion)
	}
	want := []struct {
		name string
		st   reports.Status
	}{{"a", reports.StatusPass}, {"b", reports.StatusFail}, {"c", reports.StatusNotEvaluated}, {"recovers", reports.StatusFail}, {reports.IntegrityCheckName, reports.StatusPass}}
	if len(r.Checks) != len(want) {
		t.Fatalf("%d checks after upgrade, want %d: %+v", len(r.Checks), len(want), r.Checks)
	}
	for i, w := range want {
		if c := r.Checks[i]; c.Name != w.name || c.Status != w.st {
			t.Errorf("check %d: %q %s, want %q %s", i, c.Name, c.Status, w.name, w.st)
		}
	}
	if u := r.Checks[0].Unit; u != reports.UnitSeconds {
		t.Errorf("unit of a < 1s bound: %q", u)
	}
	iv := r.Requests[0].Intervals[0]
	if iv.Count != 7 || iv.Cancelled != 3 || iv.ErrorCount() != 1 {
		t.Errorf("interval after upgrade: count %d cancelled %d errors %v", iv.Count, iv.Cancelled, iv.Errors)
	}
}
