// Package policy reads the shop's policy files: a named variant holds, per
// service, the replica count and the capacity model, and per call edge
// ("caller->callee") the resilience policy (timeout, retries, breaker,
// bulkhead, load balancing, fallback). The variants shipped with gameday are
// embedded from sut/variants/*.yaml.
package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/gameday/gameday/sut"
)

// Duration is a time.Duration written as "250ms" in YAML.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalYAML writes d as a Go duration string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// UnmarshalYAML reads a Go duration string ("250ms", "2s", "0").
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return fmt.Errorf("line %d: duration: %w", n.Line, err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: duration %q: want a value like 250ms or 2s", n.Line, s)
	}
	if v < 0 {
		return fmt.Errorf("line %d: duration %q must not be negative", n.Line, s)
	}
	*d = Duration(v)
	return nil
}

// Variant is a named set of replica counts, capacity models and per-edge
// resilience policies.
type Variant struct {
	Name        string                 `yaml:"name"`
	Description string                 `yaml:"description,omitempty"`
	Services    map[string]ServiceSpec `yaml:"services,omitempty"`
	Edges       map[string]EdgePolicy  `yaml:"edges,omitempty"`
}

// ServiceSpec is how one service is deployed and how much it can do.
type ServiceSpec struct {
	Replicas int      `yaml:"replicas,omitempty"`
	Capacity Capacity `yaml:"capacity,omitempty"`
}

// Capacity is a service's queueing model: Workers requests are served at
// once, up to Queue more wait (beyond that they are rejected with 503), and
// each request holds its worker for a local service time drawn from a
// lognormal distribution with the given median and 99th percentile, plus the
// time of its own downstream calls.
type Capacity struct {
	Workers     int         `yaml:"workers,omitempty"`
	Queue       int         `yaml:"queue,omitempty"`
	ServiceTime ServiceTime `yaml:"serviceTime,omitempty"`
}

// ServiceTime is a lognormal distribution given by its median and p99.
type ServiceTime struct {
	P50 Duration `yaml:"p50,omitempty"`
	P99 Duration `yaml:"p99,omitempty"`
}

// Load-balancing policies.
const (
	RoundRobin    = "round_robin"
	Random        = "random"
	LeastInflight = "least_inflight"
	P2C           = "p2c"
)

// Jitter kinds.
const (
	JitterNone  = "none"
	JitterFull  = "full"
	JitterEqual = "equal"
)

// Fallback kinds.
const (
	FallbackNone    = "none"
	FallbackCached  = "cached"
	FallbackDefault = "default"
)

// Retry outcome classes a retry policy may name in RetryOn.
const (
	RetryOnError   = "error"   // connection refused, reset, EOF
	RetryOnTimeout = "timeout" // the per-attempt timeout expired
	RetryOn5xx     = "5xx"     // any 5xx status
	RetryOn429     = "429"     // too many requests
)

// EdgePolicy is the resilience policy of one call edge.
type EdgePolicy struct {
	// Timeout bounds each attempt; 0 means no timeout.
	Timeout       Duration  `yaml:"timeout,omitempty"`
	Retry         *Retry    `yaml:"retry,omitempty"`
	Breaker       *Breaker  `yaml:"breaker,omitempty"`
	Bulkhead      *Bulkhead `yaml:"bulkhead,omitempty"`
	LoadBalancing string    `yaml:"loadBalancing,omitempty"`
	Fallback      *Fallback `yaml:"fallback,omitempty"`
}

// Retry says how failed attempts are retried.
type Retry struct {
	MaxAttempts int      `yaml:"maxAttempts"`
	Backoff     Backoff  `yaml:"backoff,omitempty"`
	Budget      *Budget  `yaml:"budget,omitempty"`
	RetryOn     []string `yaml:"retryOn,omitempty"`
}

// Backoff is exponential: attempt n (n >= 1 retries so far) waits
// min(Cap, Base*2^(n-1)), then jittered.
type Backoff struct {
	Base   Duration `yaml:"base,omitempty"`
	Cap    Duration `yaml:"cap,omitempty"`
	Jitter string   `yaml:"jitter,omitempty"`
}

// Budget caps retries at Ratio of the calls of the last Window, plus
// MinRetries per window so that a quiet edge can still retry.
type Budget struct {
	Ratio      float64  `yaml:"ratio"`
	MinRetries int      `yaml:"minRetries,omitempty"`
	Window     Duration `yaml:"window,omitempty"`
}

// Breaker is a circuit breaker per replica of the callee.
type Breaker struct {
	FailureRatio   float64  `yaml:"failureRatio"`
	MinRequests    int      `yaml:"minRequests,omitempty"`
	Window         Duration `yaml:"window,omitempty"`
	OpenFor        Duration `yaml:"openFor,omitempty"`
	HalfOpenProbes int      `yaml:"halfOpenProbes,omitempty"`
}

// Bulkhead bounds the calls in flight on the edge; calls beyond it fail at once.
type Bulkhead struct {
	MaxInFlight int `yaml:"maxInFlight"`
}

// Fallback is what the caller uses when the call fails.
type Fallback struct {
	Kind  string `yaml:"kind"`
	Value any    `yaml:"value,omitempty"`
}

// Defaults applied to what a variant leaves out.
const (
	DefaultWorkers = 128
	DefaultQueue   = 1024
	DefaultP50     = Duration(100 * time.Microsecond)
	DefaultP99     = Duration(500 * time.Microsecond)
)

// Names returns the names of the embedded variants, sorted.
func Names() []string {
	ents, err := fs.ReadDir(sut.VariantFiles(), ".")
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".yaml"); ok {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// Load returns the embedded variant name.
func Load(name string) (*Variant, error) {
	data, err := fs.ReadFile(sut.VariantFiles(), name+".yaml")
	if err != nil {
		return nil, fmt.Errorf("variant %q: unknown (known: %s)", name, strings.Join(Names(), ", "))
	}
	v, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("variant %q: %w", name, err)
	}
	return v, nil
}

// Parse reads a policy file strictly (unknown fields are errors), fills in
// defaults and validates it.
func Parse(data []byte) (*Variant, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var v Variant
	if err := dec.Decode(&v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("policy: empty file")
		}
		return nil, fmt.Errorf("policy: %w", err)
	}
	v.fillDefaults()
	if err := v.Validate(); err != nil {
		return nil, err
	}
	return &v, nil
}

func (v *Variant) fillDefaults() {
	if v.Services == nil {
		v.Services = map[string]ServiceSpec{}
	}
	if v.Edges == nil {
		v.Edges = map[string]EdgePolicy{}
	}
	for _, s := range sut.Services() {
		spec := v.Services[s]
		if spec.Replicas == 0 {
			spec.Replicas = 1
		}
		c := &spec.Capacity
		if c.Workers == 0 {
			c.Workers = DefaultWorkers
		}
		if c.Queue == 0 {
			c.Queue = DefaultQueue
		}
		if c.ServiceTime.P50 == 0 && c.ServiceTime.P99 == 0 {
			c.ServiceTime = ServiceTime{P50: DefaultP50, P99: DefaultP99}
		}
		if c.ServiceTime.P99 == 0 {
			c.ServiceTime.P99 = c.ServiceTime.P50
		}
		v.Services[s] = spec
	}
	for _, e := range sut.Edges() {
		p := v.Edges[e.String()]
		if p.LoadBalancing == "" {
			p.LoadBalancing = RoundRobin
		}
		if p.Retry != nil {
			r := p.Retry
			if r.Backoff.Jitter == "" {
				r.Backoff.Jitter = JitterNone
			}
			if len(r.RetryOn) == 0 {
				r.RetryOn = []string{RetryOnError, RetryOnTimeout, RetryOn5xx}
			}
			if r.Budget != nil && r.Budget.Window == 0 {
				r.Budget.Window = Duration(10 * time.Second)
			}
		}
		if b := p.Breaker; b != nil {
			if b.MinRequests == 0 {
				b.MinRequests = 10
			}
			if b.Window == 0 {
				b.Window = Duration(10 * time.Second)
			}
			if b.OpenFor == 0 {
				b.OpenFor = Duration(5 * time.Second)
			}
			if b.HalfOpenProbes == 0 {
				b.HalfOpenProbes = 1
			}
		}
		if p.Fallback != nil && p.Fallback.Kind == "" {
			p.Fallback.Kind = FallbackNone
		}
		v.Edges[e.String()] = p
	}
}

// Validate reports every problem of v at once.
func (v *Variant) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if v.Name == "" {
		bad("name: required")
	}
	for s, spec := range v.Services {
		if !sut.IsService(s) {
			bad("services.%s: unknown service (known: %s)", s, strings.Join(sut.Services(), ", "))
			continue
		}
		if spec.Replicas < 1 || spec.Replicas > 16 {
			bad("services.%s.replicas: %d, want 1..16", s, spec.Replicas)
		}
		c := spec.Capacity
		if c.Workers < 1 {
			bad("services.%s.capacity.workers: %d, want >= 1", s, c.Workers)
		}
		if c.Queue < 0 {
			bad("services.%s.capacity.queue: %d, want >= 0", s, c.Queue)
		}
		if c.ServiceTime.P99 < c.ServiceTime.P50 {
			bad("services.%s.capacity.serviceTime: p99 %s below p50 %s", s, c.ServiceTime.P99.D(), c.ServiceTime.P50.D())
		}
	}
	known := map[string]bool{}
	var edgeNames []string
	for _, e := range sut.Edges() {
		known[e.String()] = true
		edgeNames = append(edgeNames, e.String())
	}
	for k, p := range v.Edges {
		if !known[k] {
			bad("edges.%s: unknown edge (known: %s)", k, strings.Join(edgeNames, ", "))
			continue
		}
		switch p.LoadBalancing {
		case RoundRobin, Random, LeastInflight, P2C:
		default:
			bad("edges.%s.loadBalancing: %q, want round_robin, random, least_inflight or p2c", k, p.LoadBalancing)
		}
		if r := p.Retry; r != nil {
			if r.MaxAttempts < 1 || r.MaxAttempts > 20 {
				bad("edges.%s.retry.maxAttempts: %d, want 1..20", k, r.MaxAttempts)
			}
			switch r.Backoff.Jitter {
			case JitterNone, JitterFull, JitterEqual:
			default:
				bad("edges.%s.retry.backoff.jitter: %q, want none, full or equal", k, r.Backoff.Jitter)
			}
			if r.Backoff.Cap != 0 && r.Backoff.Cap < r.Backoff.Base {
				bad("edges.%s.retry.backoff: cap %s below base %s", k, r.Backoff.Cap.D(), r.Backoff.Base.D())
			}
			for _, o := range r.RetryOn {
				if !validRetryOn(o) {
					bad("edges.%s.retry.retryOn: %q, want error, timeout, 5xx, 429 or a status code", k, o)
				}
			}
			if b := r.Budget; b != nil && (b.Ratio < 0 || b.Ratio > 10 || math.IsNaN(b.Ratio)) {
				bad("edges.%s.retry.budget.ratio: %g, want 0..10", k, b.Ratio)
			}
		}
		if b := p.Breaker; b != nil {
			if b.FailureRatio <= 0 || b.FailureRatio > 1 {
				bad("edges.%s.breaker.failureRatio: %g, want (0, 1]", k, b.FailureRatio)
			}
			if b.MinRequests < 1 || b.HalfOpenProbes < 1 {
				bad("edges.%s.breaker: minRequests and halfOpenProbes must be >= 1", k)
			}
		}
		if b := p.Bulkhead; b != nil && b.MaxInFlight < 1 {
			bad("edges.%s.bulkhead.maxInFlight: %d, want >= 1", k, b.MaxInFlight)
		}
		if f := p.Fallback; f != nil {
			switch f.Kind {
			case FallbackNone, FallbackCached:
			case FallbackDefault:
				if f.Value == nil {
					bad("edges.%s.fallback: kind default needs a value", k)
				}
			default:
				bad("edges.%s.fallback.kind: %q, want none, cached or default", k, f.Kind)
			}
		}
	}
	return errors.Join(errs...)
}

func validRetryOn(o string) bool {
	switch o {
	case RetryOnError, RetryOnTimeout, RetryOn5xx, RetryOn429:
		return true
	}
	var code int
	_, err := fmt.Sscanf(o, "%d", &code)
	return err == nil && code >= 400 && code <= 599 && fmt.Sprint(code) == o
}

// Marshal writes v as YAML (maps sorted, so equal variants give equal bytes).
func (v *Variant) Marshal() ([]byte, error) {
	out, err := yaml.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("marshal variant %s: %w", v.Name, err)
	}
	return out, nil
}

// Hash identifies the policy in force: the first 12 hex digits of the
// SHA-256 of its canonical YAML.
func (v *Variant) Hash() string {
	data, err := v.Marshal()
	if err != nil {
		return "invalid"
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])[:12]
}

// Replicas returns the replica count of service (1 when unknown).
func (v *Variant) Replicas(service string) int {
	if s, ok := v.Services[service]; ok && s.Replicas > 0 {
		return s.Replicas
	}
	return 1
}

// Service returns the spec of service, with defaults.
func (v *Variant) Service(service string) ServiceSpec {
	if s, ok := v.Services[service]; ok {
		return s
	}
	return ServiceSpec{Replicas: 1, Capacity: Capacity{Workers: DefaultWorkers, Queue: DefaultQueue,
		ServiceTime: ServiceTime{P50: DefaultP50, P99: DefaultP99}}}
}

// Edge returns the policy of the edge from->to (round robin, nothing else,
// when the variant does not name it).
func (v *Variant) Edge(from, to string) EdgePolicy {
	if p, ok := v.Edges[from+"->"+to]; ok {
		return p
	}
	return EdgePolicy{LoadBalancing: RoundRobin}
}
