package metrics

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
)

// base is the start of the synthetic timelines the SLO tests append.
var base = time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)

func at(sec float64) time.Time { return base.Add(time.Duration(sec * float64(time.Second))) }

// startEmbedded starts an Embedded in a temporary directory and closes it at
// the end of the test.
func startEmbedded(t *testing.T, cfg EmbeddedConfig) *Embedded {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	e, err := StartEmbedded(context.Background(), cfg)
	if err != nil {
		t.Fatalf("StartEmbedded: %v", err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return e
}

// series appends one sample per second, from base+from seconds on, to the
// series with the given labels ("__name__" included).
func appendSeries(t *testing.T, e *Embedded, lbls map[string]string, fromSec int, vals ...float64) {
	t.Helper()
	app := e.Appender(context.Background())
	ls := labels.FromMap(lbls)
	for i, v := range vals {
		ts := at(float64(fromSec + i)).UnixMilli()
		if _, err := app.Append(0, ls, ts, v); err != nil {
			t.Fatalf("append %s@%d: %v", ls, ts, err)
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatalf("commit: %v", err)
	}
}

func sli(extra ...string) map[string]string {
	m := map[string]string{"__name__": "sli"}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	return m
}

func repeat(v float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// waitFor polls an instant query at the current time until it returns a
// value for which ok holds, or fails the test after timeout.
func waitFor(t *testing.T, q Querier, query string, timeout time.Duration, ok func(model.Vector) bool) model.Vector {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last model.Value
	var lastErr error
	for {
		v, err := q.Instant(ctx, query, time.Now())
		last, lastErr = v, err
		if err == nil {
			if vec, isVec := v.(model.Vector); isVec && ok(vec) {
				return vec
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: timed out after %s; last result %v, err %v", query, timeout, last, lastErr)
		case <-tick.C:
		}
	}
}

func nonEmpty(v model.Vector) bool { return len(v) > 0 }

func nanValue() float64 { var z float64; return z / z }
