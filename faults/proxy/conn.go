package proxy

import (
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gameday/gameday/internal/lib/finesleep"
	"github.com/gameday/gameday/internal/lib/rawio"
)

// bufSize is the copy buffer of each direction (and of each delayed chunk).
const bufSize = 32 << 10

// delayQueueLen bounds the chunks a delayed direction holds before the reader
// stops reading (backpressure).
const delayQueueLen = 128

var bufPool = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

func getBuf() *[]byte  { return bufPool.Get().(*[]byte) }
func putBuf(b *[]byte) { bufPool.Put(b) }

// conn is one proxied connection: the caller's side and the upstream side.
type conn struct {
	p       *Proxy
	id      uint64
	client  net.Conn
	server  atomic.Pointer[net.Conn] // nil until dialled (never for blackholed connections)
	tainted atomic.Bool              // a blackhole held it or swallowed data from it
	once    sync.Once
	done    chan struct{} // closed by close
}

// close tears the connection down; reset sends the caller a RST. Idempotent.
func (c *conn) close(reset bool) {
	c.once.Do(func() {
		close(c.done)
		if reset {
			resetClose(c.client)
		} else {
			_ = c.client.Close()
		}
		if s := c.server.Load(); s != nil {
			_ = (*s).Close()
		}
	})
}

func (c *conn) serve() {
	p := c.p
	defer p.wg.Done()
	defer p.untrack(c)
	ts := p.toxics.Load()
	switch {
	case ts.eff.refuse:
		p.refused.Add(1)
		c.close(true)
		return
	case p.chance(ts.eff.resetConn):
		p.reset.Add(1)
		c.close(true)
		return
	case p.chance(ts.eff.dropConn):
		p.dropped.Add(1)
		c.close(false)
		return
	case ts.eff.blackhole:
		c.holdBlackholed()
		return
	}

	s, err := p.dialer.DialContext(p.ctx, "tcp", *p.upstream.Load())
	if err != nil {
		p.dialErrors.Add(1)
		c.close(true)
		return
	}
	s = rawio.Wrap(s)
	c.server.Store(&s)
	select {
	case <-c.done: // closed while dialling: close has not seen s
		_ = s.Close()
		return
	default:
	}

	up := &pipe{c: c, dir: Upstream, src: c.client, dst: s, counter: &p.bytesUp.Int64}
	down := &pipe{c: c, dir: Downstream, src: s, dst: c.client, counter: &p.bytesDown.Int64}
	downDone := make(chan struct{})
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer close(downDone)
		down.run()
	}()
	up.run()
	<-downDone
	c.close(false)
}

// holdBlackholed keeps a connection accepted under a blackhole partition:
// whatever the caller sends is swallowed, nothing is answered, until the
// caller gives up or the partition is removed (then it is closed).
func (c *conn) holdBlackholed() {
	p := c.p
	c.tainted.Store(true)
	p.blackholed.Add(1)
	if !p.toxics.Load().eff.blackhole { // removed meanwhile: its detach may have missed us
		c.close(false)
		return
	}
	bp := getBuf()
	defer putBuf(bp)
	for {
		n, err := c.client.Read(*bp)
		if n > 0 {
			p.chunksLost.Add(1)
		}
		if err != nil {
			c.close(false)
			return
		}
	}
}

// chunk is a delayed piece of the stream.
type chunk struct {
	buf    *[]byte
	n      int
	at     time.Time // when the proxy read it
	jitter float64   // in [-1, 1], scales the latency's jitter
}

// pipe copies one direction. The reader goroutine (run) owns src, rng and,
// while nothing is queued, the bandwidth state; the delay line goroutine,
// started the first time a chunk must wait, owns them while chunks are queued.
type pipe struct {
	c       *conn
	dir     Direction
	src     net.Conn
	dst     net.Conn
	counter *atomic.Int64

	pending    atomic.Int64 // chunks queued and not yet written
	queue      chan chunk   // nil until a chunk is delayed
	writerDone chan struct{}
	rng        *rand.Rand
	bwNext     time.Time // earliest time of the next bandwidth slice
	wait       waiter    // the reader's waiter
}

// run copies src to dst until EOF or an error, then half-closes dst (EOF) or
// tears the whole connection down (error).
func (pp *pipe) run() {
	err := pp.copy()
	if pp.queue != nil {
		close(pp.queue)
		<-pp.writerDone
	}
	pp.wait.stop()
	if err != nil || pp.failed() {
		pp.c.close(false)
		return
	}
	if cw, ok := pp.dst.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
}

func (pp *pipe) failed() bool {
	select {
	case <-pp.c.done:
		return true
	default:
		return false
	}
}

// copy is the hot path: with no toxic on this direction and nothing queued,
// a chunk costs one atomic load of the toxic set, one atomic load of pending
// and one atomic add for the byte counter.
func (pp *pipe) copy() error {
	bp := getBuf()
	defer putBuf(bp)
	buf := *bp
	p := pp.c.p
	for {
		n, rerr := pp.src.Read(buf)
		if n > 0 {
			ts := p.toxics.Load()
			if ts.fast[pp.dir] && pp.pending.Load() == 0 {
				w, err := pp.dst.Write(buf[:n])
				pp.counter.Add(int64(w))
				if err != nil {
					return err
				}
			} else if err := pp.slow(ts, buf[:n]); err != nil {
				return err
			}
		}
		if rerr != nil {
			if errors.Is(rerr, io.EOF) {
				return nil
			}
			return rerr
		}
	}
}

func (pp *pipe) random() *rand.Rand {
	if pp.rng == nil {
		pp.rng = rand.New(rand.NewPCG(pp.c.p.seed, pp.c.id<<1|uint64(pp.dir)))
	}
	return pp.rng
}

// slow handles a chunk when some toxic acts on this direction (or chunks are
// still queued from one that did).
func (pp *pipe) slow(ts *toxicSet, b []byte) error {
	p := pp.c.p
	e := &ts.eff
	if e.blackhole {
		if !pp.c.tainted.Swap(true) {
			p.blackholed.Add(1)
		}
		p.chunksLost.Add(1)
		return nil
	}
	if e.chunkLoss > 0 && pp.random().Float64() < e.chunkLoss {
		pp.c.tainted.Store(true)
		p.chunksLost.Add(1)
		return nil
	}
	pp.corrupt(e.corrupt[pp.dir], b)
	lat := e.latency[pp.dir]
	if lat.delay > 0 || lat.jitter > 0 || pp.pending.Load() > 0 {
		ch := chunk{at: time.Now(), n: len(b), buf: getBuf()}
		copy(*ch.buf, b)
		if lat.jitter > 0 {
			ch.jitter = pp.random().Float64()*2 - 1
		}
		return pp.enqueue(ch)
	}
	return pp.deliver(ts, b, &pp.wait)
}

func (pp *pipe) enqueue(ch chunk) error {
	if pp.queue == nil {
		pp.queue = make(chan chunk, delayQueueLen)
		pp.writerDone = make(chan struct{})
		p := pp.c.p
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer close(pp.writerDone)
			pp.delayLine()
		}()
	}
	pp.pending.Add(1)
	pp.c.p.delayed.Add(1)
	select {
	case pp.queue <- ch:
		return nil
	case <-pp.c.done:
		pp.pending.Add(-1)
		pp.c.p.delayed.Add(-1)
		putBuf(ch.buf)
		return net.ErrClosed
	}
}

// delayLine writes queued chunks in order, each when its delay (computed
// against the current toxic set, so a removed latency releases it at once)
// has elapsed.
func (pp *pipe) delayLine() {
	var w waiter
	defer w.stop()
	broken := false
	for ch := range pp.queue {
		if !broken {
			if err := pp.release(ch, &w); err != nil {
				broken = true
				pp.c.close(false)
			}
		}
		putBuf(ch.buf)
		pp.c.p.delayed.Add(-1)
		pp.pending.Add(-1)
	}
}

// bandwidthCatchUp bounds how far behind its schedule a throttled direction
// may be and still catch up (a burst of at most this much time's worth).
const bandwidthCatchUp = 50 * time.Millisecond

// fineWindow is the last stretch of a delay slept with the precise timer
// (not interruptible: a removed latency still releases within this window).
const fineWindow = 2 * time.Millisecond

func (pp *pipe) release(ch chunk, w *waiter) error {
	p := pp.c.p
	for {
		ts := p.toxics.Load()
		lat := ts.eff.latency[pp.dir]
		d := lat.delay + time.Duration(ch.jitter*float64(lat.jitter))
		left := time.Until(ch.at.Add(d))
		if left <= 0 {
			return pp.deliver(ts, (*ch.buf)[:ch.n], w)
		}
		if left > fineWindow {
			if w.wait(left-fineWindow, ts.changed, pp.c.done) == waitDone {
				return net.ErrClosed
			}
			continue // recompute: the toxic set may have changed
		}
		w.sleepFine(left)
		return pp.deliver(p.toxics.Load(), (*ch.buf)[:ch.n], w)
	}
}

// deliver writes b to dst, in bandwidth-sized slices when a Bandwidth toxic
// acts on this direction.
func (pp *pipe) deliver(ts *toxicSet, b []byte, w *waiter) error {
	p := pp.c.p
	for len(b) > 0 {
		rate := ts.eff.bandwidth[pp.dir]
		if rate == 0 {
			n, err := pp.dst.Write(b)
			pp.counter.Add(int64(n))
			return err
		}
		if now := time.Now(); pp.bwNext.After(now) {
			switch w.wait(pp.bwNext.Sub(now), ts.changed, pp.c.done) {
			case waitDone:
				return net.ErrClosed
			case waitChanged:
				ts = p.toxics.Load()
				continue
			case waitElapsed:
			}
		}
		slice := int(min(max(rate/100, 1), int64(len(b))))
		n, err := pp.dst.Write(b[:slice])
		pp.counter.Add(int64(n))
		if err != nil {
			return err
		}
		// Slots follow each other, so a late wake-up is caught up on the
		// next slices instead of slowing the link; after an idle spell (or
		// a change of rate) the schedule restarts from now.
		start := pp.bwNext
		if now := time.Now(); now.Sub(start) > bandwidthCatchUp {
			start = now
		}
		pp.bwNext = start.Add(time.Duration(int64(slice) * int64(time.Second) / rate))
		b = b[slice:]
	}
	return nil
}

type waitResult int

const (
	waitElapsed waitResult = iota
	waitChanged
	waitDone
)

// waiter is one goroutine's reusable timers.
type waiter struct {
	t    *time.Timer
	fine *finesleep.Timer // made on first use: the last stretch of a delay, slept precisely
}

// sleepFine sleeps the last stretch of a delay (at most fineWindow) on a
// timerfd: a runtime timer would overshoot by up to 1 ms. It falls back on a
// runtime timer if a timerfd cannot be had.
func (w *waiter) sleepFine(d time.Duration) {
	if w.fine == nil {
		t, err := finesleep.New()
		if err != nil {
			time.Sleep(d)
			return
		}
		w.fine = t
	}
	if err := w.fine.Sleep(d); err != nil {
		time.Sleep(d)
	}
}

// wait blocks for d, or until the toxic set changes or the connection closes.
func (w *waiter) wait(d time.Duration, changed, done <-chan struct{}) waitResult {
	if w.t == nil {
		w.t = time.NewTimer(d)
	} else {
		w.t.Reset(d)
	}
	select {
	case <-w.t.C:
		return waitElapsed
	case <-changed:
		w.t.Stop()
		return waitChanged
	case <-done:
		w.t.Stop()
		return waitDone
	}
}

func (w *waiter) stop() {
	if w.t != nil {
		w.t.Stop()
	}
	if w.fine != nil {
		_ = w.fine.Close()
		w.fine = nil
	}
}
