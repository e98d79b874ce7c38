package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gameday/gameday/sut/policy"
	"github.com/gameday/gameday/sut/resilience"
)

// Outcomes of a logical call on an edge (label values of shop_client_calls_total).
const (
	outcomeSuccess      = "success"
	outcomeError        = "error"
	outcomeTimeout      = "timeout"
	outcomeCircuitOpen  = "circuit_open"
	outcomeBulkheadFull = "bulkhead_full"
	outcomeFallback     = "fallback"
)

// response is the answer a call got: from the callee, or from a fallback.
type response struct {
	status   int
	body     []byte
	fallback bool
}

// callError is a call that got no usable answer (outcome says why).
type callError struct {
	callee, outcome string
	status          int // the last status seen, if any
	err             error
}

func (e *callError) Error() string {
	if e.status != 0 {
		return fmt.Sprintf("call %s: %s (last status %d)", e.callee, e.outcome, e.status)
	}
	return fmt.Sprintf("call %s: %s: %v", e.callee, e.outcome, e.err)
}

func (e *callError) Unwrap() error { return e.err }

// edge is the client side of one call edge: it applies the edge's policy
// (timeout, retries with backoff and budget, breaker per replica, bulkhead,
// load balancing, fallback) and records the client metrics.
type edge struct {
	caller, callee string
	urls           []string
	h1             []*h1Target // per replica: the shop's own client, nil where net/http serves (not http://, not Linux)
	pol            policy.EdgePolicy
	hc             *http.Client
	m              *metrics
	faults         *faultSet
	clock          resilience.Clock
	log            *eventLog // failed attempts; nil logs nothing

	lb       resilience.Balancer
	breakers []*resilience.Breaker // nil without a breaker policy
	inflight []atomic.Int64
	bulk     atomic.Int64
	budget   *resilience.Budget // nil: no budget
	retryOn  map[string]bool

	// metric children, looked up once (label values: callee and outcome)
	mInFlight prometheus.Gauge
	mCalls    map[string]prometheus.Counter
	mAttempts map[string]prometheus.Counter
	mDuration map[string]prometheus.Observer

	cacheMu sync.RWMutex
	cache   map[string][]byte // last good GET body per path (cached fallback)
	defVal  []byte            // default fallback body
}

// newEdge builds the edge to callee's replicas; with netHTTP every call
// goes through hc, else http:// replicas get the shop's own client.
func newEdge(caller, callee string, urls []string, pol policy.EdgePolicy, hc *http.Client, netHTTP bool, m *metrics, fs *faultSet, clock resilience.Clock) (*edge, error) {
	e := &edge{
		caller: caller, callee: callee, urls: urls, pol: pol, hc: hc, m: m, faults: fs, clock: clock,
		lb:       resilience.NewBalancer(pol.LoadBalancing, rand.IntN),
		inflight: make([]atomic.Int64, len(urls)),
		cache:    map[string][]byte{},
		retryOn:  map[string]bool{},
	}
	for _, u := range urls {
		var t *h1Target
		if !netHTTP {
			t = newH1Target(u)
		}
		e.h1 = append(e.h1, t)
	}
	if b := pol.Breaker; b != nil {
		for i := range urls {
			replica := strconv.Itoa(i)
			gauge := m.breakerState.WithLabelValues(callee, replica)
			gauge.Set(float64(resilience.Closed))
			e.breakers = append(e.breakers, resilience.NewBreaker(clock, resilience.BreakerConfig{
				FailureRatio: b.FailureRatio, MinRequests: b.MinRequests, Window: b.Window.D(),
				OpenFor: b.OpenFor.D(), HalfOpenProbes: b.HalfOpenProbes,
			}, func(_, to resilience.BreakerState) {
				gauge.Set(float64(to))
				m.breakerTrans.WithLabelValues(callee, replica, to.String()).Inc()
			}))
		}
	}
	if r := pol.Retry; r != nil {
		for _, o := range r.RetryOn {
			e.retryOn[o] = true
		}
		if r.Budget != nil {
			e.budget = resilience.NewBudget(clock, r.Budget.Ratio, r.Budget.MinRetries, r.Budget.Window.D())
		}
	}
	if f := pol.Fallback; f != nil && f.Kind == policy.FallbackDefault {
		data, err := json.Marshal(jsonable(f.Value))
		if err != nil {
			return nil, fmt.Errorf("edge %s->%s: fallback value: %w", caller, callee, err)
		}
		e.defVal = data
	}
	e.mCalls, e.mAttempts, e.mDuration = map[string]prometheus.Counter{}, map[string]prometheus.Counter{}, map[string]prometheus.Observer{}
	for _, o := range []string{outcomeSuccess, outcomeError, outcomeTimeout, outcomeCircuitOpen, outcomeBulkheadFull, outcomeFallback} {
		e.mCalls[o] = m.clientCalls.WithLabelValues(callee, o)
		e.mDuration[o] = m.clientDuration.WithLabelValues(callee, o)
	}
	for _, o := range []string{outcomeSuccess, outcomeError, outcomeTimeout} {
		e.mAttempts[o] = m.clientAttempts.WithLabelValues(callee, o)
	}
	m.budgetExhausted.WithLabelValues(callee)
	e.mInFlight = m.clientInFlight.WithLabelValues(callee)
	return e, nil
}

// jsonable turns the map[any]any that YAML may produce into JSON-able maps.
func jsonable(v any) any {
	switch t := v.(type) {
	case map[any]any:
		out := make(map[string]any, len(t))
		for k, v := range t {
			out[fmt.Sprint(k)] = jsonable(v)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, v := range t {
			out[k] = jsonable(v)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, v := range t {
			out[i] = jsonable(v)
		}
		return out
	}
	return v
}

// attemptResult is the result of one attempt on one replica.
type attemptResult struct {
	status  int
	body    []byte
	outcome string // success, error, timeout
	err     error
	took    time.Duration // set on failed attempts only
}

func (a attemptResult) failed() bool { return a.outcome != outcomeSuccess }

// call makes one logical call: method path with a JSON body (nil for none).
// A 2xx-4xx answer is a response; 5xx answers, transport errors, timeouts,
// an open circuit or a full bulkhead are a *callError, unless a fallback
// answers instead.
func (e *edge) call(ctx context.Context, method, path string, body []byte) (*response, error) {
	start := e.clock.Now()
	e.mInFlight.Inc()
	defer e.mInFlight.Dec()
	resp, outcome, err := e.do(ctx, method, path, body)
	if err != nil {
		if fb := e.fallback(method, path); fb != nil {
			resp, outcome, err = fb, outcomeFallback, nil
		}
	}
	if c := e.mCalls[outcome]; c != nil {
		c.Inc()
		e.mDuration[outcome].Observe(e.clock.Now().Sub(start).Seconds())
	} else { // not an outcome resolved in newEdge
		e.m.clientCalls.WithLabelValues(e.callee, outcome).Inc()
		e.m.clientDuration.WithLabelValues(e.callee, outcome).Observe(e.clock.Now().Sub(start).Seconds())
	}
	return resp, err
}

func (e *edge) do(ctx context.Context, method, path string, body []byte) (*response, string, error) {
	if b := e.pol.Bulkhead; b != nil {
		if n := e.bulk.Add(1); n > int64(b.MaxInFlight) {
			e.bulk.Add(-1)
			return nil, outcomeBulkheadFull, &callError{callee: e.callee, outcome: outcomeBulkheadFull, err: errors.New("bulkhead full")}
		}
		defer e.bulk.Add(-1)
	}
	maxAttempts := 1
	if e.pol.Retry != nil {
		maxAttempts = e.pol.Retry.MaxAttempts
	}
	e.budget.Call()
	var last attemptResult
	// A retry goes to a replica this call has not tried yet while there is
	// an eligible one (like Envoy's previous_hosts retry predicate): a slow
	// or failing replica is not tried twice by the same call.
	var tried uint64 // bit i: replica i was tried (replicas past 64 are never excluded)
	for attempt := 1; ; attempt++ {
		eligible := e.eligible
		if attempt > 1 { // the first attempt allocates nothing for this
			mask := tried
			fresh := func(i int) bool { return (i >= 64 || mask&(1<<i) == 0) && e.eligible(i) }
			for i := range e.urls {
				if fresh(i) {
					eligible = fresh
					break
				}
			}
		}
		idx := e.lb.Pick(len(e.urls), eligible, func(i int) int64 { return e.inflight[i].Load() })
		if idx >= 0 && e.breakers != nil && !e.breakers[idx].Allow() {
			idx = -1
		}
		if idx < 0 {
			return nil, outcomeCircuitOpen, &callError{callee: e.callee, outcome: outcomeCircuitOpen, status: last.status, err: errors.New("circuit open on every replica")}
		}
		if idx < 64 {
			tried |= 1 << idx
		}
		last = e.attempt(ctx, idx, method, path, body)
		if e.breakers != nil {
			e.breakers[idx].Done(!last.failed())
		}
		if last.failed() {
			e.logAttempt(method, path, idx, attempt, last)
		}
		if c := e.mAttempts[last.outcome]; c != nil {
			c.Inc()
		} else {
			e.m.clientAttempts.WithLabelValues(e.callee, last.outcome).Inc()
		}
		if !last.failed() {
			if method == http.MethodGet && last.status/100 == 2 && e.pol.Fallback != nil && e.pol.Fallback.Kind == policy.FallbackCached {
				e.cacheMu.Lock()
				e.cache[path] = last.body
				e.cacheMu.Unlock()
			}
			return &response{status: last.status, body: last.body}, outcomeSuccess, nil
		}
		if attempt >= maxAttempts || ctx.Err() != nil || !e.retryable(last) {
			break
		}
		if !e.budget.TryRetry() {
			e.m.budgetExhausted.WithLabelValues(e.callee).Inc()
			break
		}
		r := e.pol.Retry
		if !sleep(ctx, resilience.Backoff(r.Backoff.Base.D(), r.Backoff.Cap.D(), r.Backoff.Jitter, attempt, rand.Float64)) {
			break
		}
	}
	return nil, last.outcome, &callError{callee: e.callee, outcome: last.outcome, status: last.status, err: last.err}
}

// logAttempt logs a failed attempt: the edge, the replica, the attempt
// number, the error class and how long it took.
func (e *edge) logAttempt(method, path string, idx, attempt int, a attemptResult) {
	kind, msg := logCallFailed, "call failed"
	if a.outcome == outcomeTimeout {
		kind, msg = logCallTimeout, "call timed out"
	}
	args := []any{"edge", e.caller + "->" + e.callee, "replica", e.urls[idx], "method", method, "path", path,
		"attempt", attempt, "class", errorClass(a), "took", a.took.Round(time.Microsecond)}
	if a.status != 0 {
		args = append(args, "status", a.status)
	}
	if a.err != nil {
		args = append(args, "error", a.err.Error())
	}
	if t := e.pol.Timeout.D(); t > 0 {
		args = append(args, "timeout", t)
	}
	e.log.event(kind, msg, args...)
}

// close closes the edge's idle connections.
func (e *edge) close() {
	for _, t := range e.h1 {
		if t != nil {
			t.close()
		}
	}
}

func (e *edge) eligible(i int) bool {
	return e.breakers == nil || e.breakers[i].Peek()
}

func (e *edge) retryable(a attemptResult) bool {
	switch {
	case a.outcome == outcomeTimeout:
		return e.retryOn[policy.RetryOnTimeout]
	case a.status == 0:
		return e.retryOn[policy.RetryOnError]
	case e.retryOn[strconv.Itoa(a.status)]:
		return true
	case a.status >= 500:
		return e.retryOn[policy.RetryOn5xx]
	}
	return false
}

// attempt sends one request to replica idx, with the edge's timeout and faults.
func (e *edge) attempt(ctx context.Context, idx int, method, path string, body []byte) attemptResult {
	e.inflight[idx].Add(1)
	defer e.inflight[idx].Add(-1)
	start := time.Now()
	actx := ctx
	if t := e.pol.Timeout.D(); t > 0 {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	res := e.send(actx, idx, method, path, body)
	if res.err != nil && actx.Err() != nil && ctx.Err() == nil {
		res.outcome = outcomeTimeout
	}
	if res.failed() {
		res.took = time.Since(start)
	}
	return res
}

func (e *edge) send(ctx context.Context, idx int, method, path string, body []byte) attemptResult {
	h := e.faults.match(e.callee, true)
	if h.delay > 0 && !sleep(ctx, h.delay) {
		return attemptResult{outcome: outcomeError, err: ctx.Err()}
	}
	if h.abortStatus != 0 {
		return classify(h.abortStatus, nil, nil)
	}
	if t := e.h1[idx]; t != nil {
		status, data, err := t.do(ctx, method, path, body)
		if err != nil {
			return attemptResult{outcome: outcomeError, status: status, err: err}
		}
		if h.errorStatus != 0 {
			return classify(h.errorStatus, nil, nil)
		}
		return classify(status, data, nil)
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.urls[idx]+path, rd)
	if err != nil {
		return attemptResult{outcome: outcomeError, err: err}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		return attemptResult{outcome: outcomeError, err: err}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	resp.Body.Close()
	if err != nil {
		return attemptResult{outcome: outcomeError, status: resp.StatusCode, err: err}
	}
	if h.errorStatus != 0 {
		return classify(h.errorStatus, nil, nil)
	}
	return classify(resp.StatusCode, data, nil)
}

func classify(status int, body []byte, err error) attemptResult {
	if status >= 500 {
		return attemptResult{status: status, body: body, outcome: outcomeError, err: fmt.Errorf("status %d", status)}
	}
	return attemptResult{status: status, body: body, outcome: outcomeSuccess, err: err}
}

// fallback returns the fallback answer for a failed call, or nil.
func (e *edge) fallback(method, path string) *response {
	f := e.pol.Fallback
	if f == nil || method != http.MethodGet {
		return nil
	}
	switch f.Kind {
	case policy.FallbackCached:
		e.cacheMu.RLock()
		body, ok := e.cache[path]
		e.cacheMu.RUnlock()
		if ok {
			return &response{status: http.StatusOK, body: body, fallback: true}
		}
	case policy.FallbackDefault:
		return &response{status: http.StatusOK, body: e.defVal, fallback: true}
	}
	return nil
}

// getJSON calls GET path and decodes a 2xx answer into out.
func (e *edge) getJSON(ctx context.Context, path string, out any) (*response, error) {
	resp, err := e.call(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, err
	}
	if resp.status/100 == 2 && out != nil {
		if err := json.Unmarshal(resp.body, out); err != nil {
			return resp, fmt.Errorf("call %s GET %s: decode: %w", e.callee, path, err)
		}
	}
	return resp, nil
}

// postJSON calls POST path with in as JSON and decodes a 2xx answer into out.
func (e *edge) postJSON(ctx context.Context, path string, in, out any) (*response, error) {
	data, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("call %s POST %s: %w", e.callee, path, err)
	}
	resp, err := e.call(ctx, http.MethodPost, path, data)
	if err != nil {
		return nil, err
	}
	if resp.status/100 == 2 && out != nil {
		if err := json.Unmarshal(resp.body, out); err != nil {
			return resp, fmt.Errorf("call %s POST %s: decode: %w", e.callee, path, err)
		}
	}
	return resp, nil
}

// newTransport is the HTTP transport of a service's outgoing calls where the
// shop's own client does not serve them (see h1Target).
func newTransport() *http.Transport {
	return &http.Transport{
		Proxy:               nil,
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
}
