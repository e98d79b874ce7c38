package proxy

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// toxicTypes are the values of the "type" label of gameday_proxy_toxics_active.
var toxicTypes = [...]string{"latency", "bandwidth", "loss", "reset", "partition", "corrupt"}

// Metrics exports the counters of every proxy created WithMetrics(m). It is a
// prometheus.Collector that reads the proxies' counters at scrape time, so the
// copy loop pays nothing for it. Series are summed per edge label (several
// proxies may share an edge, e.g. one per replica); the counters of closed
// proxies are kept so the totals stay monotonic.
type Metrics struct {
	conns, bytes, active, toxics, failed *prometheus.Desc

	mu      sync.Mutex
	proxies map[*Proxy]struct{}
	retired map[string]Stats // counters of closed proxies, by edge
}

// NewMetrics creates the collector and registers it with reg (when reg is not
// nil). Like prometheus.MustRegister it panics if reg already holds
// gameday_proxy_* metrics: create one Metrics per registry and share it.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		conns: prometheus.NewDesc("gameday_proxy_connections_total",
			"Connections accepted by the fault proxies of an edge.", []string{"edge"}, nil),
		bytes: prometheus.NewDesc("gameday_proxy_bytes_total",
			"Bytes forwarded by the fault proxies of an edge (upstream: caller to callee; downstream: callee to caller).",
			[]string{"edge", "direction"}, nil),
		active: prometheus.NewDesc("gameday_proxy_active_connections",
			"Connections open through the fault proxies of an edge.", []string{"edge"}, nil),
		toxics: prometheus.NewDesc("gameday_proxy_toxics_active",
			"Toxics active on the fault proxies of an edge, by type.", []string{"edge", "type"}, nil),
		failed: prometheus.NewDesc("gameday_proxy_connections_failed_total",
			"Connections a toxic or the upstream failed, by reason (refused, reset, blackholed, dropped, dial_error).",
			[]string{"edge", "reason"}, nil),
		proxies: make(map[*Proxy]struct{}),
		retired: make(map[string]Stats),
	}
	if reg != nil {
		reg.MustRegister(m)
	}
	return m
}

func (m *Metrics) register(p *Proxy) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.proxies[p] = struct{}{}
}

func (m *Metrics) unregister(p *Proxy) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.proxies[p]; !ok {
		return
	}
	delete(m.proxies, p)
	s := p.Stats()
	s.Active = 0
	m.retired[p.name] = addStats(m.retired[p.name], s)
}

func addStats(a, b Stats) Stats {
	return Stats{
		Accepted:        a.Accepted + b.Accepted,
		Active:          a.Active + b.Active,
		BytesUpstream:   a.BytesUpstream + b.BytesUpstream,
		BytesDownstream: a.BytesDownstream + b.BytesDownstream,
		Refused:         a.Refused + b.Refused,
		Reset:           a.Reset + b.Reset,
		Blackholed:      a.Blackholed + b.Blackholed,
		Dropped:         a.Dropped + b.Dropped,
		ChunksLost:      a.ChunksLost + b.ChunksLost,
		DialErrors:      a.DialErrors + b.DialErrors,
	}
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.conns
	ch <- m.bytes
	ch <- m.active
	ch <- m.toxics
	ch <- m.failed
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	type edge struct {
		stats  Stats
		toxics map[string]int
	}
	edges := make(map[string]*edge)
	get := func(name string) *edge {
		e := edges[name]
		if e == nil {
			e = &edge{toxics: make(map[string]int)}
			edges[name] = e
		}
		return e
	}
	m.mu.Lock()
	for name, s := range m.retired {
		get(name).stats = s
	}
	for p := range m.proxies {
		e := get(p.name)
		e.stats = addStats(e.stats, p.Stats())
		for _, t := range p.toxics.Load().entries {
			e.toxics[t.toxic.Type()]++
		}
	}
	m.mu.Unlock()

	for name, e := range edges {
		s := e.stats
		ch <- prometheus.MustNewConstMetric(m.conns, prometheus.CounterValue, float64(s.Accepted), name)
		ch <- prometheus.MustNewConstMetric(m.bytes, prometheus.CounterValue, float64(s.BytesUpstream), name, "upstream")
		ch <- prometheus.MustNewConstMetric(m.bytes, prometheus.CounterValue, float64(s.BytesDownstream), name, "downstream")
		ch <- prometheus.MustNewConstMetric(m.active, prometheus.GaugeValue, float64(s.Active), name)
		for _, t := range toxicTypes {
			ch <- prometheus.MustNewConstMetric(m.toxics, prometheus.GaugeValue, float64(e.toxics[t]), name, t)
		}
		for _, r := range [...]struct {
			reason string
			v      int64
		}{{"refused", s.Refused}, {"reset", s.Reset}, {"blackholed", s.Blackholed}, {"dropped", s.Dropped}, {"dial_error", s.DialErrors}} {
			ch <- prometheus.MustNewConstMetric(m.failed, prometheus.CounterValue, float64(r.v), name, r.reason)
		}
	}
}
