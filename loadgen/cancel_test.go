package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// hangServer answers /fast at once and holds /hang until the client goes
// away; hung is closed once `want` requests hang.
func hangServer(t *testing.T, want int64) (url string, hung <-chan struct{}) {
	t.Helper()
	ch := make(chan struct{})
	var n atomic.Int64
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/hang" {
			return
		}
		if n.Add(1) >= want {
			once.Do(func() { close(ch) })
		}
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	return srv.URL, ch
}

// gatherClient reads the gameday_client_* counters and histogram counts as
// "name,label=value,…" → value.
func gatherClient(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range mt.GetLabel() {
				key += "," + l.GetName() + "=" + l.GetValue()
			}
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				got[key] = mt.GetCounter().GetValue()
			case dto.MetricType_HISTOGRAM:
				got[key] = float64(mt.GetHistogram().GetSampleCount())
			}
		}
	}
	return got
}

// TestCancelledAreNotErrors: a run stopped by its caller while requests
// hang reports those requests as cancelled, in every place the generator
// reports, and as no errors anywhere: the totals, the intervals, the live
// progress of the final interval, the text and JSON summaries, the latency
// histograms and the Prometheus counters.
func TestCancelledAreNotErrors(t *testing.T) {
	for _, model := range []string{ModelOpen, ModelClosed} {
		t.Run(model, func(t *testing.T) {
			const hangs = 4
			url, hung := hangServer(t, hangs)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() {
				select {
				case <-hung:
					cancel()
				case <-ctx.Done():
				}
			}()
			var progress bytes.Buffer
			p := NewProgress(&progress, false, time.Minute)
			var ivCancelled atomic.Int64
			cfg := Config{
				Model:    model,
				Stages:   []Stage{{Duration: time.Minute, Rate: 100}},
				BaseURL:  url,
				Mix:      []Request{{Name: "fast", URL: "/fast"}, {Name: "hang", URL: "/hang"}},
				Interval: 50 * time.Millisecond,
				OnInterval: func(iv Interval) {
					for _, s := range iv.ByName {
						ivCancelled.Add(s.Cancelled)
					}
					p.Update(iv)
				},
			}
			if model == ModelClosed {
				cfg.Stages = []Stage{{Duration: time.Minute, VUs: hangs}}
			}
			reg := prometheus.NewRegistry()
			g, err := New(cfg, NewMetrics(reg))
			if err != nil {
				t.Fatal(err)
			}
			res, err := g.Run(ctx)
			if err != nil {
				t.Fatal(err)
			}
			p.Close()
			tot, fast, hang := res.Total, res.ByName["fast"], res.ByName["hang"]
			t.Logf("count %d cancelled %d errors %v", tot.Count, tot.Cancelled, tot.Errors)
			if !res.Interrupted {
				t.Error("not interrupted")
			}
			if tot.ErrorCount() != 0 || len(tot.Errors) != 0 || fast.ErrorCount() != 0 || hang.ErrorCount() != 0 {
				t.Errorf("errors total %v fast %v hang %v, want none", tot.Errors, fast.Errors, hang.Errors)
			}
			if hang.Count != 0 || hang.Cancelled < hangs {
				t.Errorf("hang: count %d cancelled %d, want 0 completed and ≥ %d cancelled", hang.Count, hang.Cancelled, hangs)
			}
			if tot.Cancelled != fast.Cancelled+hang.Cancelled || res.Cancelled != tot.Cancelled || ivCancelled.Load() != tot.Cancelled {
				t.Errorf("cancelled: total %d, result %d, by name %d+%d, intervals %d: they disagree",
					tot.Cancelled, res.Cancelled, fast.Cancelled, hang.Cancelled, ivCancelled.Load())
			}
			if tot.Corrected.TotalCount() != tot.Count || tot.Uncorrected.TotalCount() != tot.Count {
				t.Errorf("histograms hold %d/%d values, want the %d completed requests only",
					tot.Corrected.TotalCount(), tot.Uncorrected.TotalCount(), tot.Count)
			}
			var nsum, csum int64
			for _, iv := range res.Intervals {
				for _, s := range iv.ByName {
					nsum += s.Count
					csum += s.Cancelled
					if len(s.Errors) != 0 {
						t.Errorf("interval errors %v", s.Errors)
					}
				}
			}
			if nsum != tot.Count || csum != tot.Cancelled {
				t.Errorf("interval summaries: count %d cancelled %d, totals %d %d", nsum, csum, tot.Count, tot.Cancelled)
			}

			// The live progress: the intervals the stop cut (the final one
			// among them) show no errors, and the cancelled requests apart.
			lines := strings.Split(strings.TrimSpace(progress.String()), "\n")
			var shown int64
			cancelledRE := regexp.MustCompile(`  cancelled (\d+)$`)
			for _, l := range lines {
				if !strings.Contains(l, "errors 0.00%") {
					t.Errorf("progress line %q shows errors", l)
				}
				if m := cancelledRE.FindStringSubmatch(l); m != nil {
					n, _ := strconv.ParseInt(m[1], 10, 64)
					shown += n
				}
			}
			if shown != tot.Cancelled {
				t.Errorf("progress lines show %d cancelled, want %d:\n%s", shown, tot.Cancelled, progress.String())
			}

			// The summaries.
			var text bytes.Buffer
			if err := res.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			allErrs := regexp.MustCompile(`\[all\]\n.*\n  errors     0( \(0\.00%\))?\n`)
			if !allErrs.MatchString(text.String()) || !strings.Contains(text.String(), fmt.Sprintf("cancelled %d ", tot.Cancelled)) {
				t.Errorf("text summary:\n%s", text.String())
			}
			var js bytes.Buffer
			if err := res.WriteJSON(&js); err != nil {
				t.Fatal(err)
			}
			var j JSONResult
			if err := json.Unmarshal(js.Bytes(), &j); err != nil {
				t.Fatal(err)
			}
			if j.Total.Cancelled != tot.Cancelled || j.Total.ErrorRatio != 0 || len(j.Total.Errors) != 0 || j.Scenarios["hang"].Cancelled != hang.Cancelled {
				t.Errorf("json total %+v hang %+v", j.Total, j.Scenarios["hang"])
			}

			// Prometheus: cancelled under code="canceled" (which the
			// gameday:* rules leave out), never under an error class; no
			// latency observed for them.
			got := gatherClient(t, reg)
			if v := got["gameday_client_requests_total,code="+ClassCanceled+",scenario=hang"]; v != float64(hang.Cancelled) {
				t.Errorf("requests_total{scenario=hang,code=canceled} = %v, want %d (metrics %v)", v, hang.Cancelled, got)
			}
			for k, v := range got {
				for _, c := range []string{ClassTimeout, ClassRefused, ClassReset, ClassTransport} {
					if strings.Contains(k, "code="+c+",") && v > 0 {
						t.Errorf("%s = %v: cancelled requests counted as an error", k, v)
					}
				}
			}
			for name, st := range res.ByName {
				if v := got["gameday_client_request_duration_seconds,scenario="+name]; v != float64(st.Count) {
					t.Errorf("duration{scenario=%s} holds %v observations, want the %d completed", name, v, st.Count)
				}
			}
		})
	}
}
