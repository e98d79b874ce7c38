// Package proxy is the TCP fault proxy every call edge of the local runtime
// passes through: one Proxy per edge (caller → callee instance), listening on
// 127.0.0.1, forwarding to the current upstream address and applying the
// active toxics (latency, bandwidth, loss, reset, partition).
//
// With no toxic the copy loop is one goroutine per direction, a pooled 32 KiB
// buffer, no allocation and no lock per chunk: each chunk costs one atomic load
// of the immutable toxic set. Toxics are added and removed at any time and act
// on new and, where meaningful, existing connections.
package proxy

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gameday/gameday/internal/lib/rawio"
)

// DefaultDialTimeout bounds the dial to the upstream for each new connection.
const DefaultDialTimeout = 5 * time.Second

// Option configures a Proxy.
type Option func(*config)

type config struct {
	name        string
	seed        int64
	seedSet     bool
	metrics     *Metrics
	dialTimeout time.Duration
	listener    net.Listener
	dial        func(ctx context.Context, network, addr string) (net.Conn, error)
}

// WithName labels the proxy (the edge, e.g. "orders->payment") in metrics and
// errors.
func WithName(edge string) Option { return func(c *config) { c.name = edge } }

// WithSeed seeds the proxy's random source (jitter, probabilistic toxics).
// Without it the seed is 1, so runs are reproducible by default.
func WithSeed(seed int64) Option { return func(c *config) { c.seed, c.seedSet = seed, true } }

// WithMetrics reports the proxy's counters through m (see NewMetrics).
func WithMetrics(m *Metrics) Option { return func(c *config) { c.metrics = m } }

// WithDialTimeout bounds the dial to the upstream (default DefaultDialTimeout).
func WithDialTimeout(d time.Duration) Option { return func(c *config) { c.dialTimeout = d } }

// WithListener makes the proxy accept on ln instead of listening on Listen's
// listen address (which may then be ""): for example a socket opened inside
// another network namespace. The proxy owns ln from then on: Close, or a
// failed Listen, closes it.
func WithListener(ln net.Listener) Option { return func(c *config) { c.listener = ln } }

// WithDialer makes the proxy dial its upstream with dial instead of a
// net.Dialer: for example from inside another network namespace. The dial
// timeout (WithDialTimeout) still applies, through dial's ctx.
func WithDialer(dial func(ctx context.Context, network, addr string) (net.Conn, error)) Option {
	return func(c *config) { c.dial = dial }
}

// upstreamDialer opens the connection to the upstream for each new connection.
type upstreamDialer interface {
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
}

// funcDialer applies the dial timeout to a dial function given WithDialer.
type funcDialer struct {
	dial    func(ctx context.Context, network, addr string) (net.Conn, error)
	timeout time.Duration
}

func (d funcDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if d.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.timeout)
		defer cancel()
	}
	return d.dial(ctx, network, addr)
}

// Stats are a proxy's counters since Listen.
type Stats struct {
	Accepted        int64 // connections accepted
	Active          int64 // connections open now (including blackholed ones)
	BytesUpstream   int64 // bytes forwarded caller → upstream
	BytesDownstream int64 // bytes forwarded upstream → caller
	Refused         int64 // connections reset at once by a Refuse partition
	Reset           int64 // connections reset by the Reset toxic
	Blackholed      int64 // connections that were held by a Blackhole partition
	Dropped         int64 // connections closed by Loss{Mode: DropConnection}
	ChunksLost      int64 // chunks swallowed by a blackhole (loss or partition)
	DialErrors      int64 // connections closed because the upstream could not be dialled
	Delayed         int64 // chunks waiting in a latency's delay line now
}

// Proxy is one TCP fault proxy. All methods are safe for concurrent use.
type Proxy struct {
	name        string
	ln          net.Listener
	addr        string
	upstream    atomic.Pointer[string]
	toxics      atomic.Pointer[toxicSet]
	metrics     *Metrics
	dialer      upstreamDialer
	seed        uint64
	ctx         context.Context // cancelled by Close or by Listen's ctx
	cancel      context.CancelFunc
	stopWatch   func() bool
	wg          sync.WaitGroup // accept loop and every connection's goroutines
	closeOnce   sync.Once
	toxicMu     sync.Mutex // serialises Add/Remove
	nextToxicID int64

	mu     sync.Mutex // guards conns, closed and rng
	conns  map[*conn]struct{}
	closed bool
	rng    *rand.Rand
	connID uint64

	accepted, active                    atomic.Int64
	refused, reset, blackholed, dropped atomic.Int64
	chunksLost, dialErrors, delayed     atomic.Int64
	// The byte counters are added to on every chunk, from the goroutines of
	// each direction: one cache line each.
	bytesUp, bytesDown paddedCounter
}

type paddedCounter struct {
	atomic.Int64
	_ [56]byte
}

// Listen starts a proxy listening on listen (use "127.0.0.1:0"; "" with
// WithListener) and forwarding to upstream. ctx bounds the accept loop's life: when it is done
// the proxy shuts down as if Close was called (Close must still be called to
// wait for its goroutines).
func Listen(ctx context.Context, listen, upstream string, opts ...Option) (*Proxy, error) {
	cfg := config{seed: 1, dialTimeout: DefaultDialTimeout}
	for _, o := range opts {
		o(&cfg)
	}
	ln := cfg.listener
	if ln != nil {
		listen = ln.Addr().String()
	}
	if cfg.name == "" {
		cfg.name = listen + "->" + upstream
	}
	if upstream == "" {
		if ln != nil {
			_ = ln.Close()
		}
		return nil, fmt.Errorf("proxy %s: empty upstream address", cfg.name)
	}
	if ln == nil {
		var lc net.ListenConfig
		var err error
		if ln, err = lc.Listen(ctx, "tcp", listen); err != nil {
			return nil, fmt.Errorf("proxy %s: listen %s: %w", cfg.name, listen, err)
		}
	}
	var dialer upstreamDialer = &net.Dialer{Timeout: cfg.dialTimeout}
	if cfg.dial != nil {
		dialer = funcDialer{dial: cfg.dial, timeout: cfg.dialTimeout}
	}
	pctx, cancel := context.WithCancel(context.Background())
	p := &Proxy{
		name:    cfg.name,
		ln:      ln,
		addr:    ln.Addr().String(),
		metrics: cfg.metrics,
		dialer:  dialer,
		seed:    uint64(cfg.seed),
		ctx:     pctx,
		cancel:  cancel,
		conns:   make(map[*conn]struct{}),
		rng:     rand.New(rand.NewPCG(uint64(cfg.seed), 0x9e3779b97f4a7c15)),
	}
	p.upstream.Store(&upstream)
	p.toxics.Store(newToxicSet(nil))
	if p.metrics != nil {
		p.metrics.register(p)
	}
	p.stopWatch = context.AfterFunc(ctx, p.shutdown)
	p.wg.Add(1)
	go p.acceptLoop()
	return p, nil
}

// Name is the proxy's edge label.
func (p *Proxy) Name() string { return p.name }

// Addr is the bound listen address ("127.0.0.1:PORT").
func (p *Proxy) Addr() string { return p.addr }

// Upstream is the address new connections are forwarded to.
func (p *Proxy) Upstream() string { return *p.upstream.Load() }

// SetUpstream changes where new connections go (a restarted instance comes
// back on a new port). Existing connections keep their upstream.
func (p *Proxy) SetUpstream(addr string) { p.upstream.Store(&addr) }

// Add activates a toxic and returns its id for Remove. It acts on new
// connections and, where meaningful, on existing ones: latency, bandwidth and
// chunk loss from their next chunk, a blackhole partition at once, a refuse
// partition resets them, a drop-connection loss closes each with its
// probability.
func (p *Proxy) Add(t Toxic) (string, error) {
	if t == nil {
		return "", fmt.Errorf("proxy %s: add nil toxic", p.name)
	}
	if err := t.Validate(); err != nil {
		return "", fmt.Errorf("proxy %s: add %s: %w", p.name, t.Type(), err)
	}
	p.toxicMu.Lock()
	defer p.toxicMu.Unlock()
	if p.ctx.Err() != nil {
		return "", fmt.Errorf("proxy %s: add %s: %w", p.name, t.Type(), net.ErrClosed)
	}
	p.nextToxicID++
	id := t.Type() + "-" + strconv.FormatInt(p.nextToxicID, 10)
	old := p.toxics.Load()
	entries := make([]toxicEntry, len(old.entries), len(old.entries)+1)
	copy(entries, old.entries)
	entries = append(entries, toxicEntry{id: id, toxic: t})
	p.publish(newToxicSet(entries))
	t.attach(p)
	return id, nil
}

// Remove deactivates the toxic with this id. Removing an unknown or already
// removed id is not an error. Chunks waiting on a removed latency are
// released at once; connections a removed blackhole swallowed data from are
// closed.
func (p *Proxy) Remove(id string) error {
	p.toxicMu.Lock()
	defer p.toxicMu.Unlock()
	old := p.toxics.Load()
	entries := make([]toxicEntry, 0, len(old.entries))
	var removed Toxic
	for _, e := range old.entries {
		if e.id == id {
			removed = e.toxic
			continue
		}
		entries = append(entries, e)
	}
	if removed == nil {
		return nil
	}
	p.publish(newToxicSet(entries))
	removed.detach(p)
	return nil
}

// RemoveAll deactivates every toxic.
func (p *Proxy) RemoveAll() {
	p.toxicMu.Lock()
	defer p.toxicMu.Unlock()
	old := p.toxics.Load()
	if len(old.entries) == 0 {
		return
	}
	p.publish(newToxicSet(nil))
	for _, e := range old.entries {
		e.toxic.detach(p)
	}
}

// Toxics lists the active toxics by id.
func (p *Proxy) Toxics() map[string]Toxic {
	s := p.toxics.Load()
	m := make(map[string]Toxic, len(s.entries))
	for _, e := range s.entries {
		m[e.id] = e.toxic
	}
	return m
}

// publish swaps in a new toxic set and wakes everything waiting on the old one.
func (p *Proxy) publish(s *toxicSet) {
	old := p.toxics.Swap(s)
	close(old.changed)
}

// Stats returns the proxy's counters.
func (p *Proxy) Stats() Stats {
	return Stats{
		Accepted:        p.accepted.Load(),
		Active:          p.active.Load(),
		BytesUpstream:   p.bytesUp.Load(),
		BytesDownstream: p.bytesDown.Load(),
		Refused:         p.refused.Load(),
		Reset:           p.reset.Load(),
		Blackholed:      p.blackholed.Load(),
		Dropped:         p.dropped.Load(),
		ChunksLost:      p.chunksLost.Load(),
		DialErrors:      p.dialErrors.Load(),
		Delayed:         p.delayed.Load(),
	}
}

// Close stops accepting, closes every connection and waits for all of the
// proxy's goroutines. It is idempotent.
func (p *Proxy) Close() error {
	p.stopWatch()
	p.shutdown()
	p.wg.Wait()
	p.closeOnce.Do(func() {
		if p.metrics != nil {
			p.metrics.unregister(p)
		}
	})
	return nil
}

// shutdown closes the listener and every connection without waiting.
func (p *Proxy) shutdown() {
	p.cancel()
	_ = p.ln.Close()
	p.mu.Lock()
	p.closed = true
	conns := make([]*conn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	for _, c := range conns {
		c.close(false)
	}
}

func (p *Proxy) acceptLoop() {
	defer p.wg.Done()
	var backoff time.Duration
	for {
		cl, err := p.ln.Accept()
		if err != nil {
			if p.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// Transient (EMFILE, ECONNABORTED): back off a little, bounded.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			t := time.NewTimer(backoff)
			select {
			case <-p.ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			continue
		}
		backoff = 0
		p.accepted.Add(1)
		c := &conn{p: p, client: rawio.Wrap(cl), done: make(chan struct{})}
		if !p.track(c) {
			resetClose(cl)
			continue
		}
		p.wg.Add(1)
		go c.serve()
	}
}

// track registers c; false when the proxy is closed.
func (p *Proxy) track(c *conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.connID++
	c.id = p.connID
	p.conns[c] = struct{}{}
	p.active.Add(1)
	return true
}

func (p *Proxy) untrack(c *conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	p.active.Add(-1)
}

// chance draws from the proxy's seeded source (accept path and Add only).
func (p *Proxy) chance(prob float64) bool {
	if prob <= 0 {
		return false
	}
	if prob >= 1 {
		return true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rng.Float64() < prob
}

func (p *Proxy) snapshot() []*conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*conn, 0, len(p.conns))
	for c := range p.conns {
		out = append(out, c)
	}
	return out
}

// dropExisting closes (reset: with RST) each existing connection with prob.
func (p *Proxy) dropExisting(prob float64, reset bool) {
	for _, c := range p.snapshot() {
		if !p.chance(prob) {
			continue
		}
		if reset {
			p.refused.Add(1)
		} else {
			p.dropped.Add(1)
		}
		c.close(reset)
	}
}

// taintAll marks every existing connection as blackholed: it is closed when
// the blackhole is removed.
func (p *Proxy) taintAll() {
	for _, c := range p.snapshot() {
		if !c.tainted.Swap(true) {
			p.blackholed.Add(1)
		}
	}
}

// closeTainted closes the connections a blackhole swallowed data from (or
// held), unless a blackhole partition is still active.
func (p *Proxy) closeTainted() {
	if p.toxics.Load().eff.blackhole {
		return
	}
	for _, c := range p.snapshot() {
		if c.tainted.Load() {
			c.close(false)
		}
	}
}

// resetClose closes a TCP connection with SO_LINGER 0: the peer gets a RST.
func resetClose(c net.Conn) {
	if tc, ok := c.(interface{ SetLinger(sec int) error }); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}
