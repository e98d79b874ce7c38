package loadgen

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

func testInterval(elapsed time.Duration) Interval {
	st := &IntervalStats{Count: 100, Errors: map[string]int64{Class5xx: 5}, Corrected: NewHistogram(), Uncorrected: NewHistogram()}
	for i := range 100 {
		_ = st.Corrected.RecordValue(int64(i+1) * int64(time.Millisecond))
	}
	return Interval{Duration: time.Second, Elapsed: elapsed, Total: 10 * time.Second, TargetRate: 120, InFlight: 3,
		ByName: map[string]*IntervalStats{"x": st}}
}

func TestProgressPlain(t *testing.T) {
	var b bytes.Buffer
	p := NewProgress(&b, false, 10*time.Second)
	p.Update(testInterval(time.Second))
	p.Update(testInterval(2 * time.Second))
	p.Close()
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want one line per interval, got %q", b.String())
	}
	for _, want := range []string{"[2s / 10s]", "100/s (target 120/s)", "in flight 3", "p99 99.", "errors 5.00%"} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("line %q lacks %q", lines[1], want)
		}
	}
}

func TestProgressTTY(t *testing.T) {
	var b syncBuf
	p := NewProgress(&b, true, 10*time.Second)
	p.Update(testInterval(5 * time.Second))
	p.Close()
	out := b.String()
	if !strings.Contains(out, "5s / 10s") || !strings.Contains(out, "target 120/s") || !strings.Contains(out, "[") {
		t.Errorf("bar output %q", out)
	}
}

// syncBuf is written by mpb's goroutine and read by the test after Close.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestProgressCancelledApart: requests the stop cut short are shown as
// cancelled, not in the error percentage nor in the rate.
func TestProgressCancelledApart(t *testing.T) {
	var b bytes.Buffer
	p := NewProgress(&b, false, 10*time.Second)
	iv := testInterval(3 * time.Second)
	iv.ByName["x"].Cancelled = 7
	p.Update(iv)
	iv = testInterval(4 * time.Second)
	iv.ByName["x"].Errors = map[string]int64{}
	p.Update(iv)
	p.Close()
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %q", b.String())
	}
	if !strings.HasSuffix(lines[0], "100/s (target 120/s)  in flight 3  p99 99.025ms  errors 5.00%  cancelled 7") {
		t.Errorf("line with cancellations %q", lines[0])
	}
	if !strings.HasSuffix(lines[1], "errors 0.00%") {
		t.Errorf("line without cancellations %q: no cancelled part", lines[1])
	}
}
