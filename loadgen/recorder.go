package loadgen

import (
	"strconv"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/prometheus/client_golang/prometheus"
)

// Histogram geometry: nanoseconds, 1 µs to 10 min, 3 significant digits.
const (
	histLowest  = int64(time.Microsecond)
	histHighest = int64(10 * time.Minute)
	histDigits  = 3
)

// NewHistogram returns an empty histogram with the generator's geometry
// (values in nanoseconds), for callers that merge interval histograms.
func NewHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(histLowest, histHighest, histDigits)
}

func clampNs(d time.Duration) int64 {
	v := int64(d)
	if v < 0 {
		return 0
	}
	if v > histHighest {
		return histHighest
	}
	return v
}

// nameData is what one shard holds for one request name during one interval.
type nameData struct {
	count, dropped, cancelled int64
	errs                      [numClasses]int64 // errs[cCanceled] stays 0: cancelled is apart
	corr, unc                 *hdrhistogram.Histogram
}

type shardData struct{ n []nameData }

func newShardData(names int) *shardData {
	d := &shardData{n: make([]nameData, names)}
	for i := range d.n {
		d.n[i].corr, d.n[i].unc = NewHistogram(), NewHistogram()
	}
	return d
}

func (d *shardData) reset() {
	for i := range d.n {
		nd := &d.n[i]
		nd.count, nd.dropped, nd.cancelled, nd.errs = 0, 0, 0, [numClasses]int64{}
		nd.corr.Reset()
		nd.unc.Reset()
	}
}

// shard is recorded into by some of the workers, under a lock that only the
// collector contends for once per interval (and workers of the same shard,
// rarely: there are as many shards as processors).
type shard struct {
	mu  sync.Mutex
	d   *shardData
	ctr [][]prometheus.Counter // per name: by status code, then 600+class
	_   [64]byte
}

// recorder accumulates per-interval data in shards; the collector swaps the
// shards' data out each interval (O(1) under the lock) and merges outside it.
type recorder struct {
	names  []string
	shards []*shard
	spare  []*shardData
	m      *Metrics
	obs    []prometheus.Observer
	drops  []prometheus.Counter

	lagMu sync.Mutex
	lag   *hdrhistogram.Histogram
}

func newRecorder(names []string, nshards int, m *Metrics) *recorder {
	r := &recorder{names: names, m: m, lag: NewHistogram()}
	for range nshards {
		r.shards = append(r.shards, &shard{d: newShardData(len(names)), ctr: make([][]prometheus.Counter, len(names))})
		r.spare = append(r.spare, newShardData(len(names)))
	}
	if m != nil {
		for _, n := range names {
			r.obs = append(r.obs, m.duration.WithLabelValues(n))
			r.drops = append(r.drops, m.dropped.WithLabelValues(n))
		}
	}
	return r
}

// record is the hot path: one request's outcome. class cCanceled is a
// request the generator's own stop cut short (or never sent): it is counted
// apart (cancelled), not as completed nor as an error, and it has no latency.
func (r *recorder) record(sh, name int, corrected, service time.Duration, status, class int) {
	s := r.shards[sh]
	s.mu.Lock()
	nd := &s.d.n[name]
	if class == cCanceled {
		nd.cancelled++
	} else {
		nd.count++
		nd.errs[class]++
		_ = nd.corr.RecordValue(clampNs(corrected))
		_ = nd.unc.RecordValue(clampNs(service))
	}
	var ctr prometheus.Counter
	if r.m != nil {
		ctr = r.counter(s, name, status, class)
	}
	s.mu.Unlock()
	if r.m != nil {
		ctr.Inc()
		if class != cCanceled {
			r.obs[name].Observe(corrected.Seconds())
		}
	}
}

// counter returns the cached requests_total child; s.mu is held.
func (r *recorder) counter(s *shard, name, status, class int) prometheus.Counter {
	if s.ctr[name] == nil {
		s.ctr[name] = make([]prometheus.Counter, 600+numClasses)
	}
	i := 600 + class
	if status > 0 && status < 600 {
		i = status
	}
	c := s.ctr[name][i]
	if c == nil {
		code := classNames[class]
		if i < 600 {
			code = strconv.Itoa(status)
		}
		c = r.m.requests.WithLabelValues(r.names[name], code)
		s.ctr[name][i] = c
	}
	return c
}

func (r *recorder) drop(name int) {
	s := r.shards[0]
	s.mu.Lock()
	s.d.n[name].dropped++
	s.mu.Unlock()
	if r.m != nil {
		r.drops[name].Inc()
	}
}

func (r *recorder) recordLag(d time.Duration) {
	r.lagMu.Lock()
	_ = r.lag.RecordValue(clampNs(d))
	r.lagMu.Unlock()
}

// IntervalStats is one request name's share of one interval. Every request
// the generator started ends up in exactly one of Count and Cancelled;
// arrivals it did not send are in Dropped.
type IntervalStats struct {
	// Count is the requests completed: answered (any status) or failed on
	// their own (timeout, refused, reset, transport). Errors included,
	// Cancelled not.
	Count int64
	// Cancelled is the requests the generator's own stop cut short or never
	// sent: the caller cancelled Run (interrupt, abort) or the end-of-run hard
	// stop (one Config.Timeout after the stages) came first. They are not
	// errors (never in Errors, ErrorCount, the error ratios) and have no
	// latency (not in the histograms). A request the server or the network
	// broke (reset, timeout) is an error, not cancelled.
	Cancelled int64
	Dropped   int64 // arrivals not sent (in-flight cap)
	// Errors of the completed requests by class (ClassTimeout, ClassRefused,
	// ClassReset, ClassTransport, Class4xx, Class5xx); absent classes are 0.
	Errors map[string]int64
	// Corrected is the latency from the intended send time; Uncorrected the
	// service time from the actual send. Completed requests only (Count).
	// Nanoseconds. The callee owns them.
	Corrected, Uncorrected *hdrhistogram.Histogram
}

// ErrorCount is the sum of the errors of every class (Cancelled is not one).
func (s *IntervalStats) ErrorCount() int64 {
	var n int64
	for _, v := range s.Errors {
		n += v
	}
	return n
}

// Interval is what the generator saw in one reporting interval. Requests are
// counted in the interval in which they completed.
type Interval struct {
	Start    time.Time
	Duration time.Duration
	ByName   map[string]*IntervalStats
	// SchedulerLag of the open model's arrivals dispatched in this interval
	// (nanoseconds; empty in the closed model).
	SchedulerLag *hdrhistogram.Histogram
	// TargetRate (open model) or TargetVUs (closed) at the interval's end.
	TargetRate float64
	TargetVUs  int
	InFlight   int64
	// Elapsed since the run's start at the interval's end, and the run's total.
	Elapsed, Total time.Duration
}

// collect swaps every shard out and merges them into a fresh Interval.
func (r *recorder) collect() *Interval {
	for i, s := range r.shards {
		sp := r.spare[i]
		s.mu.Lock()
		s.d, r.spare[i] = sp, s.d
		s.mu.Unlock()
	}
	iv := &Interval{ByName: make(map[string]*IntervalStats, len(r.names))}
	for n, name := range r.names {
		st := &IntervalStats{Errors: map[string]int64{}, Corrected: NewHistogram(), Uncorrected: NewHistogram()}
		for _, d := range r.spare {
			nd := &d.n[n]
			st.Count += nd.count
			st.Cancelled += nd.cancelled
			st.Dropped += nd.dropped
			for c := 1; c < numClasses; c++ {
				if c != cCanceled && nd.errs[c] > 0 {
					st.Errors[classNames[c]] += nd.errs[c]
				}
			}
			st.Corrected.Merge(nd.corr)
			st.Uncorrected.Merge(nd.unc)
		}
		iv.ByName[name] = st
	}
	for _, d := range r.spare {
		d.reset()
	}
	lag := NewHistogram()
	r.lagMu.Lock()
	r.lag, lag = lag, r.lag
	r.lagMu.Unlock()
	iv.SchedulerLag = lag
	if r.m != nil {
		r.m.lag.Set(time.Duration(lag.ValueAtQuantile(99)).Seconds())
	}
	return iv
}
