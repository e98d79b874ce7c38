package loadgen

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gameday/gameday/internal/lib/finesleep"
)

// Generator runs a validated Config. Run may be called again after it returns.
type Generator struct {
	cfg   Config
	reqs  []*compiled
	hosts []string // distinct dial addresses
	hidx  []int    // per request: its index in hosts
	names []string
	mix   mix
	m     *Metrics
}

// New validates cfg and prepares the requests. m may be nil (no Prometheus
// metrics).
func New(cfg Config, m *Metrics) (*Generator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	cfg = cfg.withDefaults()
	g := &Generator{cfg: cfg, m: m, mix: newMix(cfg.Mix)}
	for _, r := range cfg.Mix {
		c, err := compileRequest(r, cfg.BaseURL)
		if err != nil {
			return nil, fmt.Errorf("load config: %s: %w", r.Name, err)
		}
		h := -1
		for i, x := range g.hosts {
			if x == c.host {
				h = i
			}
		}
		if h < 0 {
			h = len(g.hosts)
			g.hosts = append(g.hosts, c.host)
		}
		g.reqs = append(g.reqs, c)
		g.hidx = append(g.hidx, h)
		g.names = append(g.names, r.Name)
	}
	return g, nil
}

// Config returns the configuration with defaults filled in.
func (g *Generator) Config() Config { return g.cfg }

// run is the state of one Run.
type run struct {
	g        *Generator
	base     time.Time
	hard     context.Context // cancelled when the caller cancels, or a timeout after the end: cut requests short
	endHard  context.CancelFunc
	rec      *recorder
	reg      *connRegistry
	dialer   *net.Dialer
	client   *http.Client // h2c and https requests
	inFlight atomic.Int64
	seq      atomic.Int64 // closed model's sequence
	vus      atomic.Int64 // closed model's target
}

func (g *Generator) newRun(ctx context.Context) *run {
	hard, endHard := context.WithCancel(ctx)
	r := &run{g: g, hard: hard, endHard: endHard, reg: newConnRegistry(), dialer: &net.Dialer{KeepAlive: 30 * time.Second}}
	r.rec = newRecorder(g.names, min(runtime.GOMAXPROCS(0), 8), g.m)
	needHTTP := g.cfg.H2C
	for _, c := range g.reqs {
		needHTTP = needHTTP || c.scheme == "https"
	}
	if needHTTP {
		tr := &http.Transport{
			Proxy:               nil,
			DialContext:         r.dialer.DialContext,
			MaxIdleConnsPerHost: g.cfg.Connections,
			MaxConnsPerHost:     g.cfg.Connections,
			DisableCompression:  true,
			ForceAttemptHTTP2:   true,
		}
		if g.cfg.H2C {
			p := new(http.Protocols)
			p.SetUnencryptedHTTP2(true)
			p.SetHTTP2(true)
			tr.Protocols = p
		}
		r.client = &http.Client{Transport: tr, Timeout: g.cfg.Timeout}
	}
	return r
}

// sender sends requests for one worker or virtual user. Not shared.
type sender struct {
	r       *run
	shard   int
	conns   []*rawConn
	buf     []byte
	scratch []byte
	rng     rng
}

func (r *run) newSender(i int) *sender {
	s := &sender{r: r, shard: i % len(r.rec.shards)}
	for _, h := range r.g.hosts {
		s.conns = append(s.conns, &rawConn{addr: h, dialer: r.dialer, reg: r.reg})
	}
	return s
}

func (s *sender) close() {
	for _, c := range s.conns {
		c.close()
	}
}

// send sends request idx and records it; intended is when it was due.
func (s *sender) send(idx int, seq int64, seed uint64, intended time.Time) {
	r := s.r
	c := r.g.reqs[idx]
	if r.hard.Err() != nil {
		r.rec.record(s.shard, idx, 0, 0, 0, cCanceled)
		return
	}
	start := time.Now()
	var status int
	var err error
	if c.scheme == "https" || r.g.cfg.H2C {
		s.rng = rng{s: seed}
		status, err = s.doHTTP(c, seq)
	} else {
		req := c.raw
		if req == nil {
			s.rng = rng{s: seed}
			s.buf = c.appendRaw(s.buf[:0], &s.scratch, &s.rng, seq)
			req = s.buf
		}
		status, err = s.conns[r.g.hidx[idx]].roundTrip(r.hard, req, c.isHead, c.idempotent, start.Add(r.g.cfg.Timeout))
	}
	end := time.Now()
	class := classifyStatus(status)
	if err != nil {
		class = classifyErr(err)
		if r.hard.Err() != nil {
			class = cCanceled
		}
		status = 0
	}
	r.rec.record(s.shard, idx, end.Sub(intended), end.Sub(start), status, class)
}

func (s *sender) doHTTP(c *compiled, seq int64) (int, error) {
	s.buf = c.url.appendTo(s.buf[:0], &s.rng, seq)
	u := string(s.buf)
	body := c.body.appendTo(nil, &s.rng, seq)
	var rd io.Reader
	if len(body) > 0 {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(s.r.hard, c.method, u, rd)
	if err != nil {
		return 0, err
	}
	for _, kv := range c.hdrs {
		if kv[0] == "Host" {
			req.Host = kv[1]
			continue
		}
		req.Header.Set(kv[0], kv[1])
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "gameday-loadgen")
	}
	resp, err := s.r.client.Do(req)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	cerr := resp.Body.Close()
	if err == nil {
		err = cerr
	}
	return resp.StatusCode, err
}

// clock is what the open model's scheduler needs of time; tests fake it.
type clock interface {
	since() time.Duration // since the run's start
	sleep(d time.Duration) error
}

type realClock struct {
	base time.Time
	s    *finesleep.Timer // bound to the run's context
}

func (c realClock) since() time.Duration        { return time.Since(c.base) }
func (c realClock) sleep(d time.Duration) error { return c.s.Sleep(d) }

// schedule walks the pacer's arrivals up to total, waits for each to be due
// and calls dispatch with the arrival's offset and the scheduler's lag. It
// stops early when sleep fails (cancellation) or dispatch returns false.
//
// It wakes at most once per quantum: at high rates the arrivals due within a
// quantum go out together (each late by less than the quantum, and that lag
// is measured and counted in the corrected latency), which keeps the cost of
// waking up (a timer, a context switch) from growing with the rate.
func schedule(clk clock, p *pacer, total, quantum time.Duration, dispatch func(n int64, off, lag time.Duration) bool) {
	lastWake := time.Duration(-1 << 62)
	for n := int64(0); ; n++ {
		off, ok := p.next()
		if !ok || off >= total {
			return
		}
		now := clk.since()
		if off > now {
			if err := clk.sleep(max(off, lastWake+quantum) - now); err != nil {
				return
			}
			now = clk.since()
			lastWake = now
		}
		lag := now - off
		if lag < 0 {
			lag = 0
		}
		if !dispatch(n, off, lag) {
			return
		}
	}
}

// wakeQuantum is the open model scheduler's shortest sleep.
const wakeQuantum = 200 * time.Microsecond

type job struct {
	intended time.Time
	seq      int64
	seed     uint64
	idx      int32
}

// runOpen drives the open model until the schedule ends or ctx is done.
func (r *run) runOpen(ctx context.Context) error {
	cfg := r.g.cfg
	sl, err := finesleep.NewBound(ctx)
	if err != nil {
		return err
	}
	defer sl.Close()
	qcap := 1 << 16
	if cfg.MaxInFlight > 0 {
		qcap = cfg.MaxInFlight
	}
	jobs := make(chan job, qcap)
	var wg sync.WaitGroup
	var idle atomic.Int64
	workers := 0
	worker := func(i int) {
		defer wg.Done()
		s := r.newSender(i)
		defer s.close()
		for j := range jobs {
			idle.Add(-1)
			s.send(int(j.idx), j.seq, j.seed, j.intended)
			r.inFlight.Add(-1)
			if r.g.m != nil {
				r.g.m.inFlight.Dec()
			}
			idle.Add(1)
		}
	}
	picker := rng{s: uint64(cfg.Seed)}
	done := ctx.Done()
	schedule(realClock{base: r.base, s: sl}, newPacer(cfg.Stages), cfg.TotalDuration(), wakeQuantum, func(n int64, off, lag time.Duration) bool {
		r.rec.recordLag(lag)
		idx := r.g.mix.pick(&picker)
		seed := picker.next()
		if cfg.MaxInFlight > 0 && r.inFlight.Load() >= int64(cfg.MaxInFlight) {
			r.rec.drop(idx)
			return true
		}
		r.inFlight.Add(1)
		if r.g.m != nil {
			r.g.m.inFlight.Inc()
		}
		if idle.Load() <= 0 && workers < cfg.Connections {
			idle.Add(1)
			wg.Add(1)
			go worker(workers)
			workers++
		}
		select {
		case jobs <- job{intended: r.base.Add(off), seq: n, seed: seed, idx: int32(idx)}:
			return true
		case <-done:
			r.inFlight.Add(-1)
			if r.g.m != nil {
				r.g.m.inFlight.Dec()
			}
			return false
		}
	})
	close(jobs)
	r.drain(&wg)
	return nil
}

// drain waits for the requests still queued or in flight when the schedule
// ends, for one request timeout at most: then whatever is left is cut short
// (counted as Cancelled, not as errors), so that a run always ends soon
// after its stages.
func (r *run) drain(wg *sync.WaitGroup) {
	t := time.AfterFunc(r.g.cfg.Timeout, r.endHard)
	wg.Wait()
	t.Stop()
}

// runClosed drives the closed model: virtual users that loop until the
// stages end or ctx is done. A virtual user finishes its request in flight.
func (r *run) runClosed(ctx context.Context) error {
	cfg := r.g.cfg
	total := cfg.TotalDuration()
	var mu sync.Mutex
	wake := make(chan struct{})
	waitChange := func() <-chan struct{} {
		mu.Lock()
		defer mu.Unlock()
		return wake
	}
	stages, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	vu := func(id int) {
		defer wg.Done()
		s := r.newSender(id)
		defer s.close()
		pick := rng{s: uint64(cfg.Seed) + uint64(id)*0x9e3779b97f4a7c15}
		think := time.NewTimer(time.Hour)
		think.Stop()
		for stages.Err() == nil {
			if int64(id) >= r.vus.Load() {
				select {
				case <-waitChange():
				case <-stages.Done():
				}
				continue
			}
			idx := r.g.mix.pick(&pick)
			seed := pick.next()
			r.inFlight.Add(1)
			if r.g.m != nil {
				r.g.m.inFlight.Inc()
			}
			s.send(idx, r.seq.Add(1)-1, seed, time.Now())
			r.inFlight.Add(-1)
			if r.g.m != nil {
				r.g.m.inFlight.Dec()
			}
			if cfg.ThinkTime > 0 {
				think.Reset(cfg.ThinkTime)
				select {
				case <-think.C:
				case <-stages.Done():
					think.Stop()
				}
			}
		}
	}
	started := 0
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		el := time.Since(r.base)
		if el >= total {
			break
		}
		target := vusAt(cfg.Stages, el)
		if int64(target) != r.vus.Load() {
			r.vus.Store(int64(target))
			for ; started < target; started++ {
				wg.Add(1)
				go vu(started)
			}
			mu.Lock()
			close(wake)
			wake = make(chan struct{})
			mu.Unlock()
		}
		next := min(10*time.Millisecond, total-el)
		tick.Reset(next)
		select {
		case <-tick.C:
			continue
		case <-ctx.Done():
		}
		break
	}
	stop()
	r.drain(&wg)
	return nil
}

// Run drives the load until the stages are done (and the requests left have
// finished, for one Config.Timeout at most) or ctx is cancelled; then it cuts
// requests in flight short (counted as Cancelled: neither completed nor
// errors) and still returns the partial Result, with Interrupted set and a
// nil error.
func (g *Generator) Run(ctx context.Context) (*Result, error) {
	r := g.newRun(ctx)
	defer r.endHard()
	res := newResult(g)
	var hl *hlogWriter
	if g.cfg.HlogWriter != nil {
		hl = newHlogWriter(g.cfg.HlogWriter)
	}
	abort := context.AfterFunc(r.hard, r.reg.abort)
	defer abort()

	r.base = time.Now()
	res.Start = r.base
	if hl != nil {
		if err := hl.header(r.base); err != nil {
			return nil, fmt.Errorf("hlog: %w", err)
		}
	}
	var pc *pacer
	if g.cfg.Model == ModelOpen {
		pc = newPacer(g.cfg.Stages)
	}
	total := g.cfg.TotalDuration()
	var hlErr error
	flush := func(start, end time.Time) {
		iv := r.rec.collect()
		iv.Start, iv.Duration = start, end.Sub(start)
		iv.Elapsed, iv.Total = end.Sub(r.base), total
		iv.InFlight = r.inFlight.Load()
		if pc != nil {
			iv.TargetRate = pc.rateAt(min(iv.Elapsed, total-1))
		} else {
			iv.TargetVUs = int(r.vus.Load())
		}
		res.add(iv)
		if hl != nil && hlErr == nil {
			hlErr = hl.write(iv, r.base, g.names)
		}
		if g.cfg.OnInterval != nil {
			g.cfg.OnInterval(*iv)
		}
	}
	collectorDone := make(chan struct{})
	stopCollector := make(chan struct{})
	var last time.Time
	go func() {
		defer close(collectorDone)
		t := time.NewTicker(g.cfg.Interval)
		defer t.Stop()
		last = r.base
		for {
			select {
			case now := <-t.C:
				flush(last, now)
				last = now
			case <-stopCollector:
				return
			}
		}
	}()

	var err error
	if g.cfg.Model == ModelClosed {
		err = r.runClosed(ctx)
	} else {
		err = r.runOpen(ctx)
	}
	close(stopCollector)
	<-collectorDone
	end := time.Now()
	flush(last, end)
	if r.client != nil {
		r.client.CloseIdleConnections()
	}
	res.finish(end, ctx.Err() != nil)
	if err != nil {
		return res, err
	}
	if hlErr != nil {
		return res, fmt.Errorf("hlog: %w", hlErr)
	}
	return res, nil
}
