package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func okServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if strings.HasPrefix(r.URL.Path, "/fail") {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv
}

func mustRun(t *testing.T, cfg Config, m *Metrics) *Result {
	t.Helper()
	g, err := New(cfg, m)
	if err != nil {
		t.Fatal(err)
	}
	res, err := g.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// The coordinated-omission test, small: the server stalls 500 ms in a 3 s
// run at 400/s over 4 connections. Arrivals during the stall wait for a
// connection; measured from their intended time they show the stall, measured
// from the actual send they do not.
func TestCoordinatedOmission(t *testing.T) {
	var stalled atomic.Bool
	gate := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if stalled.Load() {
			<-gate
		}
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	var once sync.Once
	cfg := Config{
		Stages:      []Stage{{Duration: 3 * time.Second, Rate: 400}},
		Mix:         []Request{{Name: "get", URL: srv.URL + "/"}},
		Connections: 4,
		Interval:    500 * time.Millisecond,
		OnInterval: func(iv Interval) {
			if iv.Elapsed > 900*time.Millisecond {
				once.Do(func() {
					stalled.Store(true)
					time.AfterFunc(500*time.Millisecond, func() { stalled.Store(false); close(gate) })
				})
			}
		},
	}
	res := mustRun(t, cfg, nil)
	tot := res.Total
	if tot.Count < 1150 || tot.ErrorCount() != 0 {
		t.Fatalf("count %d errors %v, want ~1200 and none", tot.Count, tot.Errors)
	}
	corr, unc := Summarize(tot.Corrected), Summarize(tot.Uncorrected)
	t.Logf("corrected p99 %v max %v; uncorrected p99 %v max %v", corr.P99, corr.Max, unc.P99, unc.Max)
	if corr.P99 < 250*time.Millisecond {
		t.Errorf("corrected p99 %v does not show the 500ms stall", corr.P99)
	}
	if unc.P99 > 100*time.Millisecond {
		t.Errorf("uncorrected p99 %v shows the stall: it should hide it", unc.P99)
	}
	if unc.Max < 300*time.Millisecond {
		t.Errorf("uncorrected max %v: the requests on the wire during the stall should see it", unc.Max)
	}
}

func TestOpenModelCountsAndErrors(t *testing.T) {
	srv := okServer(t)
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	res := mustRun(t, Config{
		Stages:   []Stage{{Duration: time.Second, Rate: 300}},
		BaseURL:  srv.URL,
		Mix:      []Request{{Name: "ok", Weight: 2, URL: "/items/{{seq}}"}, {Name: "bad", Weight: 1, Method: "POST", URL: "/fail", Body: `{"id":"{{uuid}}"}`}},
		Interval: 250 * time.Millisecond,
	}, m)
	if res.TargetRequests != 300 || res.Total.Count != 300 {
		t.Fatalf("target %d count %d, want 300", res.TargetRequests, res.Total.Count)
	}
	ok, bad := res.ByName["ok"], res.ByName["bad"]
	if ok.Count+bad.Count != 300 || bad.Count < 60 || bad.Count > 140 {
		t.Errorf("split ok=%d bad=%d, want ~200/100", ok.Count, bad.Count)
	}
	if bad.Errors[Class5xx] != bad.Count || ok.ErrorCount() != 0 {
		t.Errorf("errors ok=%v bad=%v", ok.Errors, bad.Errors)
	}
	if n := len(res.Intervals); n < 2 || n > 6 { // a loaded machine may merge ticks
		t.Errorf("intervals = %d, want ~4 for 1s at 250ms", n)
	}
	var sum int64
	for _, iv := range res.Intervals {
		sum += iv.ByName["ok"].Count + iv.ByName["bad"].Count
	}
	if sum != 300 {
		t.Errorf("intervals sum to %d", sum)
	}
	// The Prometheus view agrees.
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	var native bool
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			labels := mf.GetName()
			for _, l := range mt.GetLabel() {
				labels += "," + l.GetName() + "=" + l.GetValue()
			}
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				got[labels] = mt.GetCounter().GetValue()
			case dto.MetricType_HISTOGRAM:
				got[labels] = float64(mt.GetHistogram().GetSampleCount())
				native = native || mt.GetHistogram().GetSchema() != 0 || len(mt.GetHistogram().GetPositiveSpan()) > 0
			}
		}
	}
	if got["gameday_client_requests_total,code=200,scenario=ok"] != float64(ok.Count) ||
		got["gameday_client_requests_total,code=503,scenario=bad"] != float64(bad.Count) ||
		got["gameday_client_request_duration_seconds,scenario=ok"] != float64(ok.Count) {
		t.Errorf("prometheus view %v disagrees with ok=%d bad=%d", got, ok.Count, bad.Count)
	}
	if !native {
		t.Error("duration histogram has no native buckets")
	}
	// A second Metrics on the same registry reuses the collectors.
	if m2 := NewMetrics(reg); m2.requests != m.requests {
		t.Error("NewMetrics on the same registry did not reuse the collectors")
	}
}

func TestDroppedWhenCapped(t *testing.T) {
	gate := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-gate }))
	defer srv.Close()
	defer close(gate)
	res := mustRun(t, Config{
		Stages: []Stage{{Duration: 500 * time.Millisecond, Rate: 200}}, MaxInFlight: 10,
		Mix: []Request{{Name: "x", URL: srv.URL}}, Timeout: 300 * time.Millisecond,
	}, nil)
	// Requests hang until the timeout: 10 in flight, the rest of the first
	// 300 ms dropped, then the next 10.
	if res.Dropped < 50 || res.Total.Count+res.Total.Cancelled+res.Dropped != 100 {
		t.Errorf("dropped %d count %d cancelled %d: want every one of the 100 arrivals accounted for, most dropped",
			res.Dropped, res.Total.Count, res.Total.Cancelled)
	}
	// Hanging requests time out (or, the last ones, are cut one timeout
	// after the end: the two race, and those are cancelled, not errors).
	if e := res.Total.Errors; e[ClassTimeout] != res.Total.Count || e[ClassTimeout] == 0 || len(e) != 1 {
		t.Errorf("errors %v, want all %d completed ones timeouts", res.Total.Errors, res.Total.Count)
	}
}

func TestClosedModel(t *testing.T) {
	srv := okServer(t)
	var maxVUs atomic.Int64
	res := mustRun(t, Config{
		Model:     ModelClosed,
		Stages:    []Stage{{Duration: 300 * time.Millisecond, VUs: 2}, {Duration: 600 * time.Millisecond, VUs: 6}},
		Mix:       []Request{{Name: "x", URL: srv.URL}},
		ThinkTime: 10 * time.Millisecond,
		Interval:  200 * time.Millisecond,
		OnInterval: func(iv Interval) {
			if int64(iv.TargetVUs) > maxVUs.Load() {
				maxVUs.Store(int64(iv.TargetVUs))
			}
		},
	}, nil)
	// At most 6 users, each at most one request per 10 ms think: < 600 in 0.9 s.
	if res.Total.Count < 50 || res.Total.Count > 6*90 {
		t.Errorf("count %d outside what 2→6 users with 10ms think can do", res.Total.Count)
	}
	if maxVUs.Load() < 5 {
		t.Errorf("VUs reached %d, want the ramp towards 6", maxVUs.Load())
	}
	if res.SchedulerLag.TotalCount() != 0 {
		t.Error("closed model reported scheduler lag")
	}
}

func TestRunCancelReturnsPartialResult(t *testing.T) {
	gate := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hang" {
			<-gate
		}
	}))
	defer srv.Close()
	defer close(gate)
	ctx, cancel := context.WithCancel(context.Background())
	g, err := New(Config{
		Stages:     []Stage{{Duration: time.Minute, Rate: 100}},
		BaseURL:    srv.URL,
		Mix:        []Request{{Name: "fast", URL: "/"}, {Name: "hang", URL: "/hang"}},
		Interval:   100 * time.Millisecond,
		OnInterval: func(Interval) { cancel() },
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res, err := g.Run(ctx)
	if err != nil {
		t.Fatalf("cancelled run returned error %v", err)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("run took %v to stop after cancel (requests hang for 10s)", el)
	}
	if !res.Interrupted || res.ByName["fast"].Count == 0 {
		t.Errorf("interrupted=%v fast=%d", res.Interrupted, res.ByName["fast"].Count)
	}
	if h := res.ByName["hang"]; h.Cancelled == 0 || h.ErrorCount() != 0 {
		t.Errorf("hanging requests: cancelled %d errors %v, want cancelled and no errors", h.Cancelled, h.Errors)
	}
}

func TestHlogRoundTrip(t *testing.T) {
	srv := okServer(t)
	var buf bytes.Buffer
	res := mustRun(t, Config{
		Stages:     []Stage{{Duration: 600 * time.Millisecond, Rate: 200}},
		BaseURL:    srv.URL,
		Mix:        []Request{{Name: "a", URL: "/a"}, {Name: "b", URL: "/b"}},
		Interval:   200 * time.Millisecond,
		HlogWriter: &buf,
	}, nil)
	rd := hdrhistogram.NewHistogramLogReader(&buf)
	merged := map[string]*hdrhistogram.Histogram{}
	n := 0
	for {
		h, err := rd.NextIntervalHistogram()
		if err != nil {
			t.Fatal(err)
		}
		if h == nil {
			break
		}
		n++
		if merged[h.Tag()] == nil {
			merged[h.Tag()] = NewHistogram()
		}
		merged[h.Tag()].Merge(h)
		if s := float64(h.StartTimeMs())/1000 - float64(res.Start.UnixMilli())/1000; s < -0.01 || s > 1 {
			t.Errorf("interval starts %.3fs after the run's start", s)
		}
	}
	if n != 4*len(res.Intervals) {
		t.Errorf("read %d histograms, want 4 per interval × %d", n, len(res.Intervals))
	}
	for _, name := range []string{"a", "b"} {
		tot := res.ByName[name]
		for tag, want := range map[string]*hdrhistogram.Histogram{name: tot.Corrected, name + ".uncorrected": tot.Uncorrected} {
			got := merged[tag]
			if got == nil || !got.Equals(want) {
				t.Errorf("tag %s: histogram read back differs (count %v vs %d)", tag, got.TotalCount(), want.TotalCount())
			}
		}
	}
}

func TestJSONSchema(t *testing.T) {
	srv := okServer(t)
	res := mustRun(t, Config{
		Stages: []Stage{{Duration: 300 * time.Millisecond, Rate: 100}}, BaseURL: srv.URL,
		Mix: []Request{{Name: "get", URL: "/"}, {Name: "fail", URL: "/fail"}}, Interval: 100 * time.Millisecond,
	}, nil)
	var buf bytes.Buffer
	if err := res.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	// Strict decoding into the documented structure...
	dec := json.NewDecoder(bytes.NewReader(buf.Bytes()))
	dec.DisallowUnknownFields()
	var j JSONResult
	if err := dec.Decode(&j); err != nil {
		t.Fatalf("json does not match JSONResult: %v\n%s", err, buf.String())
	}
	if j.SchemaVersion != JSONSchema || j.Model != "open" || j.Total.Count != res.Total.Count || j.TargetRequests != 30 {
		t.Errorf("schema %q model %q count %d target %d", j.SchemaVersion, j.Model, j.Total.Count, j.TargetRequests)
	}
	if f := j.Scenarios["fail"]; f.Errors["5xx"] != f.Count || f.ErrorRatio != 1 {
		t.Errorf("fail scenario %+v", f)
	}
	// ...and the documented key names, read generically.
	var raw map[string]any
	if err := json.Unmarshal(buf.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"schemaVersion", "model", "start", "durationSeconds", "interrupted", "targetRequests", "total", "scenarios", "schedulerLagMs", "intervals"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("top-level key %q missing", k)
		}
	}
	lat := raw["total"].(map[string]any)["latencyMs"].(map[string]any)["corrected"].(map[string]any)
	for _, k := range []string{"p50", "p90", "p99", "p999", "p9999", "max", "mean"} {
		if v, ok := lat[k].(float64); !ok || v <= 0 {
			t.Errorf("total.latencyMs.corrected.%s = %v, want a positive number", k, lat[k])
		}
	}
	ivs := raw["intervals"].([]any)
	if len(ivs) < 2 { // 300 ms at 100 ms; a loaded machine may merge ticks
		t.Fatalf("%d intervals", len(ivs))
	}
	iv := ivs[0].(map[string]any)
	for _, k := range []string{"offsetSeconds", "durationSeconds", "targetRate", "targetVUs", "inFlight", "schedulerLagP99Ms", "scenarios"} {
		if _, ok := iv[k]; !ok {
			t.Errorf("interval key %q missing", k)
		}
	}
	var text bytes.Buffer
	if err := res.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"[get]", "[fail]", "[all]", "5xx=", "corrected", "uncorrected", "p99.99", "scheduler lag"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text summary lacks %q:\n%s", want, text.String())
		}
	}
}

func TestH2C(t *testing.T) {
	var proto atomic.Value
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proto.Store(r.Proto)
	}))
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	defer srv.Close()
	res := mustRun(t, Config{
		Stages: []Stage{{Duration: 200 * time.Millisecond, Rate: 50}}, H2C: true,
		Mix: []Request{{Name: "h2", URL: srv.URL + "/x/{{seq}}", Headers: map[string]string{"X-Test": "1"}}},
	}, nil)
	if res.Total.Count != 10 || res.Total.ErrorCount() != 0 {
		t.Fatalf("count %d errors %v", res.Total.Count, res.Total.Errors)
	}
	if p, _ := proto.Load().(string); p != "HTTP/2.0" {
		t.Errorf("server saw %q, want HTTP/2.0", p)
	}
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	_, err := New(Config{Stages: []Stage{{Duration: time.Second}}, Mix: []Request{{Name: "x", URL: "http://127.0.0.1:1/"}}}, nil)
	if err == nil || !strings.Contains(err.Error(), "rate") {
		t.Errorf("New accepted an open model without rate: %v", err)
	}
	if errors.Unwrap(err) == nil {
		t.Error("error not wrapped")
	}
}

func TestRunEndsOneTimeoutAfterStages(t *testing.T) {
	gate := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-gate }))
	defer srv.Close()
	defer close(gate)
	// 20 arrivals, 2 connections, every request hangs until its 300 ms
	// timeout: draining the queue would take 3 s; the run must stop one
	// timeout after its 200 ms of stages, with every arrival accounted for.
	start := time.Now()
	res := mustRun(t, Config{
		Stages: []Stage{{Duration: 200 * time.Millisecond, Rate: 100}}, Connections: 2, Timeout: 300 * time.Millisecond,
		Mix: []Request{{Name: "x", URL: srv.URL}},
	}, nil)
	if el := time.Since(start); el > 1500*time.Millisecond {
		t.Errorf("run took %v", el)
	}
	tot := res.Total
	if tot.Count+tot.Cancelled != 20 || tot.Errors[ClassTimeout] != tot.Count || len(tot.Errors) > 1 || tot.Cancelled == 0 {
		t.Errorf("count %d cancelled %d errors %v: want 20 in all, the queued ones cancelled, the sent ones timeouts",
			tot.Count, tot.Cancelled, tot.Errors)
	}
	if _, ok := tot.Errors[ClassCanceled]; ok {
		t.Errorf("errors %v hold the cancelled requests", tot.Errors)
	}
	if res.Interrupted {
		t.Error("a run cut at its end is not interrupted")
	}
}
