package metrics

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
)

// Target is one scrape target: a /metrics URL on this machine plus the labels
// its series get. Job and Instance become the job and instance labels;
// Instance should be stable across restarts (a restarted process that comes
// back on a new port keeps its series).
type Target struct {
	Job, Instance, URL string
	Labels             map[string]string
}

// Querier runs PromQL against a Prometheus, embedded or remote.
type Querier interface {
	Instant(ctx context.Context, q string, t time.Time) (model.Value, error)
	Range(ctx context.Context, q string, start, end time.Time, step time.Duration) (model.Matrix, error)
}

// toModelValue converts a PromQL engine result into the
// prometheus/common/model types the remote API client returns, so both
// Queriers answer with the same types.
func toModelValue(v parser.Value) (model.Value, error) {
	switch v := v.(type) {
	case promql.Vector:
		out := make(model.Vector, 0, len(v))
		for _, s := range v {
			ms := &model.Sample{Metric: toMetric(s.Metric), Timestamp: model.Time(s.T)}
			if s.H != nil {
				ms.Histogram = toSampleHistogram(s.H)
			} else {
				ms.Value = model.SampleValue(s.F)
			}
			out = append(out, ms)
		}
		return out, nil
	case promql.Matrix:
		return toModelMatrix(v), nil
	case promql.Scalar:
		return &model.Scalar{Value: model.SampleValue(v.V), Timestamp: model.Time(v.T)}, nil
	case promql.String:
		return &model.String{Value: v.V, Timestamp: model.Time(v.T)}, nil
	default:
		return nil, fmt.Errorf("unexpected PromQL result type %T", v)
	}
}

func toModelMatrix(m promql.Matrix) model.Matrix {
	out := make(model.Matrix, 0, len(m))
	for _, s := range m {
		ss := &model.SampleStream{Metric: toMetric(s.Metric)}
		for _, p := range s.Floats {
			ss.Values = append(ss.Values, model.SamplePair{Timestamp: model.Time(p.T), Value: model.SampleValue(p.F)})
		}
		for _, p := range s.Histograms {
			ss.Histograms = append(ss.Histograms, model.SampleHistogramPair{Timestamp: model.Time(p.T), Histogram: toSampleHistogram(p.H)})
		}
		out = append(out, ss)
	}
	return out
}

func toMetric(ls labels.Labels) model.Metric {
	m := make(model.Metric, ls.Len())
	ls.Range(func(l labels.Label) { m[model.LabelName(l.Name)] = model.LabelValue(l.Value) })
	return m
}

// toSampleHistogram mirrors how the Prometheus HTTP API encodes a native
// histogram (util/jsonutil.MarshalHistogram), empty buckets omitted.
func toSampleHistogram(h *histogram.FloatHistogram) *model.SampleHistogram {
	sh := &model.SampleHistogram{Count: model.FloatString(h.Count), Sum: model.FloatString(h.Sum)}
	it := h.AllBucketIterator()
	for it.Next() {
		b := it.At()
		if b.Count == 0 {
			continue
		}
		var boundaries int32 = 2
		switch {
		case b.LowerInclusive && b.UpperInclusive:
			boundaries = 3
		case b.LowerInclusive:
			boundaries = 1
		case b.UpperInclusive:
			boundaries = 0
		}
		sh.Buckets = append(sh.Buckets, &model.HistogramBucket{
			Boundaries: boundaries, Lower: model.FloatString(b.Lower), Upper: model.FloatString(b.Upper), Count: model.FloatString(b.Count),
		})
	}
	return sh
}

// seriesValue is one float value of one series at one time, as the SLO code
// sees a query result. Histogram samples and NaN are not values.
type seriesValue struct {
	labels string
	t      time.Time
	v      float64
}

// floatValues flattens an instant query result into float values. NaN (for
// example 0/0 when there was no traffic) counts as no value.
func floatValues(v model.Value) ([]seriesValue, error) {
	var out []seriesValue
	add := func(lbl string, t model.Time, f model.SampleValue) {
		if math.IsNaN(float64(f)) {
			return
		}
		out = append(out, seriesValue{labels: lbl, t: t.Time(), v: float64(f)})
	}
	switch v := v.(type) {
	case nil:
		return nil, nil
	case model.Vector:
		for _, s := range v {
			if s.Histogram != nil {
				return nil, fmt.Errorf("query returns native histograms (series %s): wrap it in histogram_quantile, histogram_avg or similar", s.Metric)
			}
			add(s.Metric.String(), s.Timestamp, s.Value)
		}
	case *model.Scalar:
		add("scalar", v.Timestamp, v.Value)
	case model.Matrix:
		return nil, fmt.Errorf("query returns a range vector: SLO queries must return an instant vector or a scalar")
	default:
		return nil, fmt.Errorf("query returns %s: SLO queries must return an instant vector or a scalar", v.Type())
	}
	return out, nil
}
