package server

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	bolt "go.etcd.io/bbolt"

	"github.com/gameday/gameday/sut"
	"github.com/gameday/gameday/sut/client"
	"github.com/gameday/gameday/sut/policy"
	"github.com/gameday/gameday/sut/resilience"
	"github.com/gameday/gameday/sut/store"
)

// service is one running instance of a shop service.
type service struct {
	name, instance string
	variant        *policy.Variant
	token          string
	m              *metrics
	cap            *capacity
	faults         *faultSet
	db             *store.DB
	edges          map[string]*edge
	upstreams      map[string][]string
	mux            *http.ServeMux
	log            *eventLog
	slow           float64 // seconds: inbound requests slower than this are logged
	ready          atomic.Bool
	draining       atomic.Bool

	// background work (the orders reconciler) is owned by the service
	bgCtx    context.Context
	bgCancel context.CancelFunc
	bg       sync.WaitGroup
	recMu    sync.Mutex // one reconciliation at a time in this process
}

func newService(cfg Config) (*service, error) {
	spec := cfg.Variant.Service(cfg.Service)
	s := &service{
		name: cfg.Service, instance: cfg.Instance, variant: cfg.Variant, token: cfg.AdminToken,
		edges: map[string]*edge{}, upstreams: cfg.Upstreams, mux: http.NewServeMux(),
		log: newEventLog(cfg.Stderr, cfg.Service, cfg.Instance, cfg.LogRate), slow: cfg.Slow.Seconds(),
	}
	s.m = newMetrics(cfg.Service, cfg.Variant.Name, cfg.Variant.Hash())
	s.m.workers.Set(float64(spec.Capacity.Workers))
	s.m.queueCapacity.Set(float64(spec.Capacity.Queue))
	s.cap = newCapacity(spec.Capacity.Workers, spec.Capacity.Queue, spec.Capacity.ServiceTime.P50.D(),
		spec.Capacity.ServiceTime.P99.D(), func(n int64) { s.m.queueDepth.Set(float64(n)) })
	s.faults = newFaultSet(s.m)
	hc := &http.Client{Transport: newTransport()}
	for _, callee := range sut.Callees(cfg.Service) {
		urls := cfg.Upstreams[callee]
		if len(urls) == 0 {
			return nil, fmt.Errorf("service %s: no --upstream for %s", cfg.Service, callee)
		}
		e, err := newEdge(cfg.Service, callee, urls, cfg.Variant.Edge(cfg.Service, callee), hc, cfg.NetHTTP, s.m, s.faults, resilience.SystemClock{})
		if err != nil {
			return nil, err
		}
		e.log = s.log
		s.edges[callee] = e
	}
	s.bgCtx, s.bgCancel = context.WithCancel(context.Background())
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, map[string]string{"status": "alive"}) })
	s.mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !s.ready.Load() {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready"})
			return
		}
		writeJSON(w, 200, map[string]string{"status": "ready"})
	})
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.m.reg, promhttp.HandlerOpts{Registry: s.m.reg}))
	s.admin("GET /admin/faults", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, s.faults.list()) })
	s.admin("POST /admin/faults", s.postFault)
	s.admin("DELETE /admin/faults", func(w http.ResponseWriter, _ *http.Request) {
		s.faults.clear()
		w.WriteHeader(http.StatusNoContent)
	})
	s.admin("DELETE /admin/faults/{id}", func(w http.ResponseWriter, r *http.Request) {
		s.faults.remove(r.PathValue("id"))
		w.WriteHeader(http.StatusNoContent)
	})
	s.admin("GET /admin/policy", func(w http.ResponseWriter, _ *http.Request) {
		data, err := s.variant.Marshal()
		if err != nil {
			writeError(w, 500, err)
			return
		}
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(data)
	})
	return s, nil
}

// closeEdges closes the idle connections of every outgoing edge.
func (s *service) closeEdges() {
	for _, e := range s.edges {
		e.close()
	}
}

func (s *service) postFault(w http.ResponseWriter, r *http.Request) {
	var f client.AdminFault
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&f); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("fault: %w", err))
		return
	}
	if err := f.Validate(); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if f.Edge != "" && s.edges[f.Edge] == nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("fault: %s does not call %s (callees: %v)", s.name, f.Edge, sut.Callees(s.name)))
		return
	}
	if f.Operation != "" && !contains(operations[s.name], f.Operation) {
		writeError(w, http.StatusBadRequest, fmt.Errorf("fault: %s has no operation %q (operations: %v)", s.name, f.Operation, operations[s.name]))
		return
	}
	writeJSON(w, http.StatusCreated, s.faults.add(f))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// admin registers an admin handler guarded by the admin token.
func (s *service) admin(pattern string, h http.HandlerFunc) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if s.token == "" {
			writeError(w, http.StatusForbidden, errors.New("admin API disabled: the service was started without GAMEDAY_ADMIN_TOKEN"))
			return
		}
		got, ok := strings.CutPrefix(r.Header.Get(client.TokenHeader), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(s.token)) != 1 {
			writeError(w, http.StatusUnauthorized, errors.New("admin API: missing or wrong admin token"))
			return
		}
		h(w, r)
	})
}

// statusWriter records the status code; when hold is set it buffers the
// answer so that an error fault can replace it.
type statusWriter struct {
	http.ResponseWriter
	status int
	hold   bool
	buf    []byte
	errMsg []byte // the start of a 5xx answer's body, for the log
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	if !w.hold {
		w.ResponseWriter.WriteHeader(code)
	}
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.status >= 500 && w.errMsg == nil && !w.hold {
		w.errMsg = bytes.TrimSpace(append([]byte(nil), b[:min(len(b), 300)]...))
	}
	if w.hold {
		w.buf = append(w.buf, b...)
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

// handle registers an operation of the service: it goes through the
// capacity model (queue, worker, service time), the in-process faults and
// the server metrics.
func (s *service) handle(pattern, op string, h http.HandlerFunc) {
	for _, code := range []string{"200"} {
		s.m.requests.WithLabelValues(op, code)
	}
	s.m.rejections.WithLabelValues(op, "queue_full")
	// The children for the usual answer, looked up once.
	ok200, okDuration := s.m.requests.WithLabelValues(op, "200"), s.m.duration.WithLabelValues(op, "200")
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		s.m.inFlight.Inc()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			s.m.inFlight.Dec()
			took := time.Since(start).Seconds()
			if sw.status == http.StatusOK {
				ok200.Inc()
				okDuration.Observe(took)
				if took > s.slow {
					s.logRequest(r, op, sw, took)
				}
				return
			}
			if sw.status >= 500 && r.Context().Err() != nil {
				// The caller gave up (its timeout, or its own caller's)
				// before this answer: nobody receives it, and the error it
				// carries is that cancellation, not this service's failure.
				sw.status = statusCallerGone
			}
			code := strconv.Itoa(sw.status)
			s.m.requests.WithLabelValues(op, code).Inc()
			s.m.duration.WithLabelValues(op, code).Observe(took)
			if sw.status >= 500 || sw.status == statusCallerGone || took > s.slow {
				s.logRequest(r, op, sw, took)
			}
		}()
		if s.draining.Load() {
			s.m.rejections.WithLabelValues(op, "draining").Inc()
			sw.Header().Set("Connection", "close")
			writeError(sw, http.StatusServiceUnavailable, errors.New("draining"))
			return
		}
		f := s.faults.match(op, false)
		if f.abortStatus != 0 {
			writeError(sw, f.abortStatus, errors.New("fault injected: abort"))
			return
		}
		release, err := s.cap.acquire(r.Context())
		if err != nil {
			if errors.Is(err, errQueueFull) {
				s.m.rejections.WithLabelValues(op, "queue_full").Inc()
				writeError(sw, http.StatusServiceUnavailable, fmt.Errorf("%s overloaded: %w", s.name, err))
				return
			}
			writeError(sw, statusCallerGone, err) // the caller went away while queued
			return
		}
		defer release()
		if f.delay > 0 && !sleep(r.Context(), f.delay) {
			writeError(sw, statusCallerGone, r.Context().Err())
			return
		}
		s.cap.work(r.Context(), s.cap.serviceTime())
		if f.errorStatus != 0 {
			sw.hold = true
			h(sw, r)
			sw.hold = false
			sw.status = 0
			writeError(sw, f.errorStatus, errors.New("fault injected: error after the work was done"))
			return
		}
		h(sw, r)
		if sw.status == 0 {
			sw.WriteHeader(http.StatusOK)
		}
	})
}

// logRequest logs an inbound request that answered 5xx or was slow.
func (s *service) logRequest(r *http.Request, op string, sw *statusWriter, took float64) {
	d := time.Duration(took * float64(time.Second)).Round(time.Microsecond)
	if sw.status == statusCallerGone {
		s.log.event(logCallerGone, "caller gone before the answer", "op", op, "method", r.Method, "path", r.URL.Path,
			"took", d, "error", string(sw.errMsg))
		return
	}
	if sw.status >= 500 {
		s.log.event(logServerError, "answered "+strconv.Itoa(sw.status), "op", op, "method", r.Method, "path", r.URL.Path,
			"status", sw.status, "took", d, "error", string(sw.errMsg))
		return
	}
	s.log.event(logSlowRequest, "slow request", "op", op, "method", r.Method, "path", r.URL.Path,
		"status", sw.status, "took", d, "threshold", time.Duration(s.slow*float64(time.Second)))
}

// update and view run store transactions and time them.
func (s *service) update(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	start := time.Now()
	err := s.db.Update(ctx, fn)
	s.storeTook("write", time.Since(start))
	return err
}

func (s *service) view(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	start := time.Now()
	err := s.db.View(ctx, fn)
	s.storeTook("read", time.Since(start))
	return err
}

// storeTook records a store transaction's time, and logs it when it is
// slower than the slow-request threshold: a commit waits for its fsync and
// for the other replicas' transactions on the shared file, so a disk that
// stalls shows here first.
func (s *service) storeTook(kind string, took time.Duration) {
	s.m.storeDuration.WithLabelValues(kind).Observe(took.Seconds())
	if took.Seconds() > s.slow {
		s.log.event(logSlowStore, "slow store transaction", "tx", kind, "took", took.Round(time.Microsecond),
			"threshold", time.Duration(s.slow*float64(time.Second)))
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		status, data = 500, []byte(`{"error":"encode response"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(data, '\n'))
}

func writeError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

// relayTo returns a function that answers with what a callee answered, or
// with 503/504 when the call failed: relayTo(w)(edge.call(...)).
func relayTo(w http.ResponseWriter) func(*response, error) {
	return func(resp *response, err error) { relay(w, resp, err) }
}

func relay(w http.ResponseWriter, resp *response, err error) {
	if err != nil {
		writeCallError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if resp.fallback {
		w.Header().Set("X-Shop-Fallback", "1")
	}
	w.WriteHeader(resp.status)
	_, _ = w.Write(resp.body)
}

func writeCallError(w http.ResponseWriter, err error) {
	var ce *callError
	if errors.As(err, &ce) && ce.outcome == outcomeTimeout {
		writeError(w, http.StatusGatewayTimeout, err)
		return
	}
	writeError(w, http.StatusServiceUnavailable, err)
}

func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("request body: %w", err)
	}
	return nil
}
