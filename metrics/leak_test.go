package metrics

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/goleak"
)

// TestEmbeddedCloseStopsEverything: after Close (and the target's shutdown)
// no goroutine of the scrape manager, rules manager or TSDB is left.
func TestEmbeddedCloseStopsEverything(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: "g", Help: "h"}))
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	e, err := StartEmbedded(t.Context(), EmbeddedConfig{Dir: t.TempDir(), ScrapeInterval: 100 * time.Millisecond, RecordingRules: DefaultRules()})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SetTargets([]Target{{Job: "x", Instance: "x-0", URL: srv.URL + "/metrics"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, e.Querier(), `up{job="x"} == 1`, 10*time.Second, nonEmpty)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	goleak.VerifyNone(t, ignore)
}
