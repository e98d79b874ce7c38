//go:build e2e

package metrics

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/model"
)

const overheadChildEnv = "GAMEDAY_METRICS_OVERHEAD_CHILD"

// TestOverheadTargetsChild is not a test: re-executed by TestOverhead, it
// serves the scrape targets in a separate process, so that the parent's CPU
// time is the embedded Prometheus' alone. It prints one port per line, then
// "ready", and serves until its stdin closes.
func TestOverheadTargetsChild(t *testing.T) {
	if os.Getenv(overheadChildEnv) == "" {
		t.Skip("helper process for TestOverhead")
	}
	n, _ := strconv.Atoi(os.Getenv(overheadChildEnv))
	for i := range n {
		reg := prometheus.NewRegistry()
		reqs := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "shop_http_requests_total", Help: "h"}, []string{"route", "code"})
		dur := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "shop_http_request_duration_seconds", Help: "h", Buckets: prometheus.DefBuckets}, []string{"route"})
		reg.MustRegister(reqs, dur)
		// 17 routes × (3 counters + 14 histogram series) ≈ 290 series.
		var routes []string
		for r := range 17 {
			routes = append(routes, fmt.Sprintf("/api/r%d", r))
		}
		h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		var k atomic.Int64
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// Values change between scrapes, as in a shop under load.
			k := int(k.Add(1))
			for j, route := range routes {
				reqs.WithLabelValues(route, "200").Add(float64(10 + j))
				reqs.WithLabelValues(route, "404").Add(float64(k % 3))
				reqs.WithLabelValues(route, "503").Add(float64(k % 2))
				dur.WithLabelValues(route).Observe(0.001 * float64((k*j)%300))
			}
			h.ServeHTTP(w, r)
		})}
		go srv.Serve(l)
		fmt.Println(l.Addr().(*net.TCPAddr).Port, i)
	}
	fmt.Println("ready")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // until the parent closes stdin
}

// cpuTime returns the process' user+system CPU time and its peak RSS in MiB.
func cpuTime(t *testing.T) (time.Duration, int64) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), ru.Maxrss / 1024
}

// TestOverhead measures the CPU the embedded Prometheus costs scraping 20
// shop-like targets (about 290 series each) every second with the default
// recording rules: it must stay under 10% of one core.
// GAMEDAY_OVERHEAD_SECONDS sets the measured duration (default 60).
func TestOverhead(t *testing.T) {
	const targets = 20
	seconds := 60
	if s, err := strconv.Atoi(os.Getenv("GAMEDAY_OVERHEAD_SECONDS")); err == nil && s > 0 {
		seconds = s
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	child := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestOverheadTargetsChild$")
	child.Env = append(os.Environ(), overheadChildEnv+"="+strconv.Itoa(targets))
	stdin, err := child.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		_ = child.Wait()
	}()
	var tg []Target
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && sc.Text() != "ready" {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		tg = append(tg, Target{Job: "shop", Instance: "shop-" + f[1], URL: "http://127.0.0.1:" + f[0] + "/metrics"})
	}
	if len(tg) != targets {
		t.Fatalf("child served %d targets", len(tg))
	}

	e := startEmbedded(t, EmbeddedConfig{RecordingRules: DefaultRules()})
	if err := e.SetTargets(tg); err != nil {
		t.Fatal(err)
	}
	waitFor(t, e.Querier(), `count(up == 1)`, 20*time.Second, func(v model.Vector) bool { return len(v) == 1 && v[0].Value == targets })
	series := waitFor(t, e.Querier(), `count({job="shop"})`, 5*time.Second, nonEmpty)

	c0, _ := cpuTime(t)
	w0 := time.Now()
	select {
	case <-time.After(time.Duration(seconds) * time.Second):
	case <-ctx.Done():
	}
	c1, rss := cpuTime(t)
	w1 := time.Now()
	pct := 100 * float64(c1-c0) / float64(w1.Sub(w0))
	samples := waitFor(t, e.Querier(), `sum(scrape_samples_scraped)`, 5*time.Second, nonEmpty)
	t.Logf("embedded prometheus: %d targets, %v series scraped per second (%v series in the TSDB), %.1f s: CPU %.2f%% of one core, peak RSS %d MiB",
		targets, samples[0].Value, series[0].Value, w1.Sub(w0).Seconds(), pct, rss)
	if pct >= 10 {
		t.Fatalf("CPU %.2f%% of one core, want < 10%%", pct)
	}
}
