package loadgen

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics is the client's view of the load, exported for Prometheus so SLOs
// can be written against it (docs/metrics.md, "Client metrics"). One Metrics
// may serve several runs in turn.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
	lag      prometheus.Gauge
	dropped  *prometheus.CounterVec
}

// NewMetrics creates the gameday_client_* metrics and registers them with reg
// (nil: not registered). If reg already holds them (a second run in the same
// process), the registered ones are reused.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gameday_client_requests_total",
			Help: "Requests finished by the load generator, by request name (scenario) and HTTP status code or error class; code \"canceled\": cut short by the generator's own stop (neither completed nor an error).",
		}, []string{"scenario", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:                            "gameday_client_request_duration_seconds",
			Help:                            "Request latency seen by the load generator, measured from the intended send time (corrected for coordinated omission).",
			Buckets:                         []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
			NativeHistogramBucketFactor:     1.1,
			NativeHistogramMaxBucketNumber:  160,
			NativeHistogramMinResetDuration: 0,
		}, []string{"scenario"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gameday_client_in_flight",
			Help: "Requests the load generator has started (or queued) and not finished.",
		}),
		lag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gameday_client_scheduler_lag_seconds",
			Help: "99th percentile of the open-model scheduler's lag behind the intended send times over the last interval.",
		}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gameday_client_dropped_total",
			Help: "Arrivals of the open model not sent because the in-flight cap was reached, by request name.",
		}, []string{"scenario"}),
	}
	if reg != nil {
		m.requests = register(reg, m.requests)
		m.duration = register(reg, m.duration)
		m.inFlight = register(reg, m.inFlight)
		m.lag = register(reg, m.lag)
		m.dropped = register(reg, m.dropped)
	}
	return m
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err) // a different collector under the same name: a programming error
	}
	return c
}
