package server

import (
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are one service process's Prometheus metrics (docs/metrics.md).
type metrics struct {
	reg *prometheus.Registry

	requests        *prometheus.CounterVec
	duration        *prometheus.HistogramVec
	inFlight        prometheus.Gauge
	queueDepth      prometheus.Gauge
	workers         prometheus.Gauge
	queueCapacity   prometheus.Gauge
	rejections      *prometheus.CounterVec
	clientCalls     *prometheus.CounterVec
	clientAttempts  *prometheus.CounterVec
	clientDuration  *prometheus.HistogramVec
	clientInFlight  *prometheus.GaugeVec
	budgetExhausted *prometheus.CounterVec
	breakerState    *prometheus.GaugeVec
	breakerTrans    *prometheus.CounterVec
	faultsActive    prometheus.Gauge
	faultHits       *prometheus.CounterVec
	storeDuration   *prometheus.HistogramVec
	orders          *prometheus.CounterVec
}

// Buckets for latency histograms (seconds): 0.5 ms to 10 s. The same
// histograms are also exposed as native histograms.
var latencyBuckets = []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

func histOpts(name, help string, constLabels prometheus.Labels) prometheus.HistogramOpts {
	return prometheus.HistogramOpts{
		Name:                            name,
		Help:                            help,
		ConstLabels:                     constLabels,
		Buckets:                         latencyBuckets,
		NativeHistogramBucketFactor:     1.1,
		NativeHistogramMaxBucketNumber:  160,
		NativeHistogramMinResetDuration: 0,
	}
}

func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

func newMetrics(service, variant, hash string) *metrics {
	reg := prometheus.NewRegistry()
	svc := prometheus.Labels{"service": service}
	f := func(c prometheus.Collector) prometheus.Collector { reg.MustRegister(c); return c }
	m := &metrics{reg: reg}
	m.requests = f(prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shop_server_requests_total", Help: "Requests served, by operation and status code.", ConstLabels: svc,
	}, []string{"operation", "code"})).(*prometheus.CounterVec)
	m.duration = f(prometheus.NewHistogramVec(histOpts("shop_server_request_duration_seconds",
		"Time from arrival to response, queueing included, by operation and status code.", svc),
		[]string{"operation", "code"})).(*prometheus.HistogramVec)
	m.inFlight = f(prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "shop_server_in_flight_requests", Help: "Requests inside the service (queued or being served).", ConstLabels: svc,
	})).(prometheus.Gauge)
	m.queueDepth = f(prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "shop_server_queue_depth", Help: "Requests waiting for a worker.", ConstLabels: svc,
	})).(prometheus.Gauge)
	m.workers = f(prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "shop_server_workers", Help: "Size of the worker pool (capacity model).", ConstLabels: svc,
	})).(prometheus.Gauge)
	m.queueCapacity = f(prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "shop_server_queue_capacity", Help: "Bound of the request queue (capacity model).", ConstLabels: svc,
	})).(prometheus.Gauge)
	m.rejections = f(prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shop_server_rejections_total", Help: "Requests rejected without being served, by operation and reason (queue_full, draining).", ConstLabels: svc,
	}, []string{"operation", "reason"})).(*prometheus.CounterVec)
	m.clientCalls = f(prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shop_client_calls_total", Help: "Logical calls on an outgoing edge, by callee and outcome (success, error, timeout, circuit_open, bulkhead_full, fallback).", ConstLabels: svc,
	}, []string{"callee", "outcome"})).(*prometheus.CounterVec)
	m.clientAttempts = f(prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shop_client_attempts_total", Help: "Attempts (first tries and retries) on an outgoing edge, by callee and outcome (success, error, timeout). attempts / calls is the retry amplification.", ConstLabels: svc,
	}, []string{"callee", "outcome"})).(*prometheus.CounterVec)
	m.clientDuration = f(prometheus.NewHistogramVec(histOpts("shop_client_request_duration_seconds",
		"Duration of logical calls on an outgoing edge (retries and backoff included), by callee and outcome.", svc),
		[]string{"callee", "outcome"})).(*prometheus.HistogramVec)
	m.clientInFlight = f(prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "shop_client_in_flight_requests", Help: "Logical calls in flight on an outgoing edge.", ConstLabels: svc,
	}, []string{"callee"})).(*prometheus.GaugeVec)
	m.budgetExhausted = f(prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shop_client_retry_budget_exhausted_total", Help: "Retries not made because the edge's retry budget was spent.", ConstLabels: svc,
	}, []string{"callee"})).(*prometheus.CounterVec)
	m.breakerState = f(prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "shop_circuit_breaker_state", Help: "Circuit breaker state per callee replica: 0 closed, 1 half-open, 2 open.", ConstLabels: svc,
	}, []string{"callee", "replica"})).(*prometheus.GaugeVec)
	m.breakerTrans = f(prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shop_circuit_breaker_transitions_total", Help: "Circuit breaker state changes per callee replica, by the state entered.", ConstLabels: svc,
	}, []string{"callee", "replica", "to"})).(*prometheus.CounterVec)
	m.faultsActive = f(prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "shop_admin_faults_active", Help: "In-process faults installed through /admin/faults.", ConstLabels: svc,
	})).(prometheus.Gauge)
	m.faultHits = f(prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shop_admin_fault_hits_total", Help: "Requests or calls hit by an in-process fault, by kind (abort, delay, error) and target (operation, edge).", ConstLabels: svc,
	}, []string{"kind", "target"})).(*prometheus.CounterVec)
	m.storeDuration = f(prometheus.NewHistogramVec(histOpts("shop_store_transaction_duration_seconds",
		"Durable store transactions (write transactions include the fsync), by mode (read, write).", svc),
		[]string{"mode"})).(*prometheus.HistogramVec)
	m.orders = f(prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shop_orders_total", Help: "Orders that reached a final state in this orders instance, by state (paid, failed).", ConstLabels: svc,
	}, []string{"state"})).(*prometheus.CounterVec)

	policyInfo := f(prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "shop_policy_info", Help: "The resilience policy in force: variant name and hash of the policy file.", ConstLabels: svc,
	}, []string{"variant", "hash"})).(*prometheus.GaugeVec)
	policyInfo.WithLabelValues(variant, hash).Set(1)
	buildInfo := f(prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "shop_build_info", Help: "Build of the shop binary.", ConstLabels: svc,
	}, []string{"version", "goversion"})).(*prometheus.GaugeVec)
	buildInfo.WithLabelValues(buildVersion(), runtime.Version()).Set(1)
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
