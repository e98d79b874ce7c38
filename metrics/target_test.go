package metrics

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// clientTarget is a load generator's /metrics on loopback: the
// gameday_client_* metrics with a fixed request mix per tick.
type clientTarget struct {
	srv     *httptest.Server
	ticks   atomic.Int64
	scrapes atomic.Int64
	hist    *prometheus.HistogramVec
	mu      sync.Mutex // serialises a tick against a scrape
}

// Per tick, for each of the two scenarios: 6×200, 2×404, 1×503, 1×timeout
// and 5 canceled by the harness. Error ratio 0.2 (4xx are not errors,
// canceled requests do not count), availability 0.8.
var tickMix = map[string]int64{"200": 6, "404": 2, "503": 1, "timeout": 1, "canceled": 5}

func (c *clientTarget) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(c, ch) }

var requestsDesc = prometheus.NewDesc("gameday_client_requests_total", "Requests by scenario and outcome.", []string{"scenario", "code"}, nil)

func (c *clientTarget) Collect(ch chan<- prometheus.Metric) {
	n := c.ticks.Load()
	for _, sc := range []string{"browse", "checkout"} {
		for code, k := range tickMix {
			ch <- prometheus.MustNewConstMetric(requestsDesc, prometheus.CounterValue, float64(n*k), sc, code)
		}
	}
}

func (c *clientTarget) tick() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ticks.Add(1)
	for i := range 10 {
		c.hist.WithLabelValues("browse").Observe(0.010 + 0.001*float64(i))
		c.hist.WithLabelValues("checkout").Observe(0.100 + 0.010*float64(i))
	}
}

// startClientTarget serves the metrics and ticks every 20 ms until the test
// ends.
func startClientTarget(t *testing.T) *clientTarget {
	t.Helper()
	c := &clientTarget{
		hist: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:                            "gameday_client_request_duration_seconds",
			Help:                            "Request latency.",
			Buckets:                         []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1},
			NativeHistogramBucketFactor:     1.1,
			NativeHistogramMaxBucketNumber:  160,
			NativeHistogramMinResetDuration: time.Hour,
		}, []string{"scenario"}),
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c, c.hist)
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.scrapes.Add(1)
		h.ServeHTTP(w, r)
	}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tk := time.NewTicker(20 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
				c.tick()
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		c.srv.Close()
	})
	return c
}

func (c *clientTarget) url() string { return c.srv.URL + "/metrics" }

// startShopTarget serves a registry shaped like a shop instance: about
// `series` series (a counter and a histogram by route and code).
func startShopTarget(t testing.TB, series int) *httptest.Server {
	t.Helper()
	reg := prometheus.NewRegistry()
	reqs := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "shop_http_requests_total", Help: "h"}, []string{"route", "code"})
	dur := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "shop_http_request_duration_seconds", Help: "h", Buckets: prometheus.DefBuckets}, []string{"route"})
	reg.MustRegister(reqs, dur)
	// A histogram with 11 buckets is 14 series; a counter 1.
	routes := max(series/(14+3), 1)
	for r := range routes {
		route := fmt.Sprintf("/api/r%d", r)
		for _, code := range []string{"200", "404", "503"} {
			reqs.WithLabelValues(route, code).Add(float64(r))
		}
		dur.WithLabelValues(route).Observe(0.01 * float64(r))
	}
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	t.Cleanup(srv.Close)
	return srv
}
