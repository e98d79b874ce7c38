package resilience

import "time"

// window counts events in a sliding time window made of buckets. It is not
// safe for concurrent use; its owner locks.
type window struct {
	span    time.Duration // length of one bucket
	buckets [][2]int64    // per bucket: two counters
	starts  []int64       // bucket start, in spans since the epoch, or -1
}

const windowBuckets = 10

func newWindow(length time.Duration) *window {
	if length <= 0 {
		length = 10 * time.Second
	}
	w := &window{span: length / windowBuckets, buckets: make([][2]int64, windowBuckets), starts: make([]int64, windowBuckets)}
	if w.span <= 0 {
		w.span = 1
	}
	for i := range w.starts {
		w.starts[i] = -1
	}
	return w
}

func (w *window) slot(now time.Time) int {
	n := now.UnixNano() / int64(w.span)
	i := int(n % windowBuckets)
	if w.starts[i] != n {
		w.starts[i] = n
		w.buckets[i] = [2]int64{}
	}
	return i
}

// add adds a and b to the two counters of the current bucket.
func (w *window) add(now time.Time, a, b int64) {
	i := w.slot(now)
	w.buckets[i][0] += a
	w.buckets[i][1] += b
}

// sums returns the two counters over the window ending at now.
func (w *window) sums(now time.Time) (a, b int64) {
	n := now.UnixNano() / int64(w.span)
	for i, s := range w.starts {
		if s >= 0 && s > n-windowBuckets && s <= n {
			a += w.buckets[i][0]
			b += w.buckets[i][1]
		}
	}
	return a, b
}

func (w *window) reset() {
	for i := range w.starts {
		w.starts[i] = -1
		w.buckets[i] = [2]int64{}
	}
}
