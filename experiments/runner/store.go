package runner

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/model"

	"github.com/gameday/gameday/loadgen"
	"github.com/gameday/gameday/metrics"
)

// metricsStore is where the run's metrics go and are queried from: the
// embedded Prometheus engine, or a user's Prometheus server.
type metricsStore interface {
	Querier() metrics.Querier
	SetTargets([]metrics.Target) error
	Close() error
}

func (r *run) rules() []metrics.Rule {
	return append(metrics.DefaultRules(), r.exp.Spec.Rules()...)
}

func (r *run) openStore(ctx context.Context) (metricsStore, error) {
	interval := r.exp.Spec.ScrapeInterval.D()
	if r.o.PrometheusURL != "" {
		remote, err := metrics.NewRemote(r.o.PrometheusURL)
		if err != nil {
			return nil, err
		}
		// Fail before deploying anything when the server does not answer:
		// otherwise every check would fail later with a query error.
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err = remote.Instant(pctx, "vector(1)", r.o.Now())
		cancel()
		if err != nil {
			return nil, fmt.Errorf("prometheus at %s does not answer: %w", r.o.PrometheusURL, err)
		}
		// The user's Prometheus reads the targets (file_sd) and the rules
		// from the run directory, or from the paths the user asked for.
		sd := r.o.FileSD
		if sd == "" {
			sd = filepath.Join(r.dir, "targets.json")
		}
		if err := metrics.WriteRuleFile(filepath.Join(r.dir, "rules.yaml"), r.rules(), interval); err != nil {
			return nil, err
		}
		return &remoteStore{Remote: remote, sd: sd, url: r.o.PrometheusURL, ctx: ctx, now: r.o.Now}, nil
	}
	return metrics.StartEmbedded(ctx, metrics.EmbeddedConfig{
		Dir:            filepath.Join(r.dir, "tsdb"),
		ScrapeInterval: interval,
		RecordingRules: r.rules(),
		ExternalLabels: map[string]string{"gameday_run": r.id},
		Logger:         r.o.Logger.With("component", "prometheus"),
	})
}

// remoteStore is a user's Prometheus: the targets go to a file_sd file it
// reads. ctx is the run's: SetTargets blocks until Prometheus scrapes the
// targets, and stops waiting when the run is cancelled.
type remoteStore struct {
	*metrics.Remote
	sd, url string
	ctx     context.Context
	now     func() time.Time
}

// targetsTimeout bounds the wait for a remote Prometheus to discover and
// scrape the targets: file_sd is re-read on inotify events or every
// refresh_interval.
const targetsTimeout = 20 * time.Second

func (s *remoteStore) Querier() metrics.Querier { return s.Remote }

// SetTargets writes the targets file and waits until the Prometheus has
// scraped every target successfully since then, so that the load starts
// when the store sees it, as with the embedded engine. A Prometheus that
// does not read the file fails here, with the file named, rather than
// every check later with "no data".
func (s *remoteStore) SetTargets(targets []metrics.Target) error {
	since := s.now()
	if err := metrics.WriteFileSD(s.sd, targets); err != nil {
		return err
	}
	if len(targets) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(s.ctx, targetsTimeout)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	// missing is from the last query that answered, lastErr from the last
	// that did not: a query cut short by the deadline says nothing.
	var missing []string
	var lastErr error
	answered := false
	for {
		m, err := s.unscraped(ctx, targets, since)
		if err == nil {
			if len(m) == 0 {
				return nil
			}
			missing, answered = m, true
		} else if ctx.Err() == nil {
			lastErr = err
		}
		select {
		case <-ctx.Done():
			if s.ctx.Err() != nil {
				return fmt.Errorf("wait for prometheus at %s to scrape the targets: %w", s.url, s.ctx.Err())
			}
			if !answered {
				if lastErr == nil {
					lastErr = ctx.Err()
				}
				return fmt.Errorf("prometheus at %s did not answer within %s: %w", s.url, targetsTimeout, lastErr)
			}
			return fmt.Errorf("prometheus at %s did not scrape %s within %s: does a file_sd_configs entry read %s (refresh_interval: 1s)?", s.url, strings.Join(missing, ", "), targetsTimeout, s.sd)
		case <-tick.C:
		}
	}
}

// unscraped lists the targets (job/instance) without a successful scrape
// at or after since.
func (s *remoteStore) unscraped(ctx context.Context, targets []metrics.Target, since time.Time) ([]string, error) {
	q := fmt.Sprintf("up == 1 and timestamp(up) >= %.3f", float64(since.UnixMilli())/1000)
	v, err := s.Remote.Instant(ctx, q, s.now())
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	if vec, ok := v.(model.Vector); ok {
		for _, smp := range vec {
			seen[string(smp.Metric[model.JobLabel])+"/"+string(smp.Metric[model.InstanceLabel])] = true
		}
	}
	var missing []string
	for _, t := range targets {
		instance := t.Instance
		if instance == "" { // Prometheus' default: the target's address
			if u, err := url.Parse(t.URL); err == nil {
				instance = u.Host
			}
		}
		if k := t.Job + "/" + instance; !seen[k] {
			missing = append(missing, k)
		}
	}
	return missing, nil
}

// Close empties the targets file: the run's processes are gone, and the
// user's Prometheus should stop scraping their ports.
func (s *remoteStore) Close() error { return metrics.WriteFileSD(s.sd, nil) }

// clientMetrics serves the load generator's own metrics on loopback so the
// store scrapes the client's view like any other target.
type clientMetrics struct {
	metrics *loadgen.Metrics
	srv     *http.Server
	addr    string
	done    chan struct{}
}

func startClientMetrics(ctx context.Context) (*clientMetrics, error) {
	reg := prometheus.NewRegistry()
	m := loadgen.NewMetrics(reg)
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{EnableOpenMetrics: true}))
	c := &clientMetrics{metrics: m, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, addr: ln.Addr().String(), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		_ = c.srv.Serve(ln)
	}()
	return c, nil
}

func (c *clientMetrics) Target() metrics.Target {
	return metrics.Target{Job: "gameday-client", Instance: "loadgen", URL: "http://" + c.addr + "/metrics"}
}

func (c *clientMetrics) Close() {
	_ = c.srv.Close()
	<-c.done
}
