// Package loadgen drives HTTP load: an open model (arrival rate, requests start
// at their scheduled time whatever earlier ones did) or a closed model (virtual
// users looping), a weighted request mix with templates, and latency recorded
// from the intended send time into HdrHistograms per interval and per request
// name. See docs/performance.md for how fast and how accurate it is.
package loadgen

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"time"
)

// Models of load.
const (
	ModelOpen   = "open"
	ModelClosed = "closed"
)

// Stage is one step of the load profile. The first stage holds its rate (or
// VUs) for its whole duration; every later stage ramps linearly from the
// previous stage's value to its own over its duration. A constant load is a
// single stage; to hold after a ramp, repeat the value in a further stage.
type Stage struct {
	Duration time.Duration
	Rate     float64 // open model: arrivals per second
	VUs      int     // closed model: virtual users
}

// Request is one named entry of the request mix. URL and Body are templates
// (see ParseTemplate for the variables); a URL starting with "/" is resolved
// against Config.BaseURL.
type Request struct {
	Name    string
	Weight  int
	Method  string
	URL     string
	Headers map[string]string
	Body    string
}

// Config describes one load run. Zero values take the defaults documented on
// each field.
type Config struct {
	Model  string // "open" (default) or "closed"
	Stages []Stage
	Mix    []Request
	// BaseURL resolves relative request URLs ("/api/products").
	BaseURL string
	// Connections: open model, the most connections (and so concurrent
	// requests on the wire) the generator opens, default 1024; arrivals beyond
	// them wait for a free connection, and that wait counts in the corrected
	// latency. Closed model: each virtual user owns one connection; ignored.
	Connections int
	// Timeout bounds each request (connect, send, whole response); default
	// 10s. It also bounds the drain: a run ends at most one Timeout after its
	// stages, and requests still queued or in flight then are cut short and
	// counted as "canceled".
	Timeout time.Duration
	// MaxInFlight caps the arrivals in flight (queued or on the wire) in the
	// open model: arrivals beyond it are not sent and are counted as dropped.
	// 0 (default): no cap, late arrivals are queued and sent.
	MaxInFlight int
	// Seed makes the mix and the template variables deterministic; 0 means 1.
	Seed int64
	// Interval is the reporting interval; default 1s.
	Interval time.Duration
	// H2C speaks HTTP/2 without TLS (prior knowledge) through net/http.
	H2C bool
	// ThinkTime is the pause of each virtual user between two requests.
	ThinkTime time.Duration
	// OnInterval, if set, is called from the collector goroutine after every
	// interval, with histograms the callee may keep.
	OnInterval func(Interval)
	// HlogWriter, if set, receives the HdrHistogram interval log (.hlog).
	HlogWriter io.Writer
}

var nameRe = regexp.MustCompile(`^[A-Za-z0-9_.:-]+$`)

// TotalDuration is the sum of the stages' durations.
func (c *Config) TotalDuration() time.Duration {
	var d time.Duration
	for _, s := range c.Stages {
		d += s.Duration
	}
	return d
}

// withDefaults returns a copy of c with defaults filled in.
func (c Config) withDefaults() Config {
	if c.Model == "" {
		c.Model = ModelOpen
	}
	if c.Connections <= 0 {
		c.Connections = 1024
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Interval <= 0 {
		c.Interval = time.Second
	}
	mix := make([]Request, len(c.Mix))
	for i, r := range c.Mix {
		if r.Method == "" {
			r.Method = "GET"
		}
		if r.Weight == 0 {
			r.Weight = 1
		}
		mix[i] = r
	}
	c.Mix = mix
	return c
}

// Validate reports every problem of the configuration at once.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	switch c.Model {
	case ModelOpen, ModelClosed:
	default:
		errs = append(errs, fmt.Errorf("model %q: want %q or %q", c.Model, ModelOpen, ModelClosed))
	}
	if len(c.Stages) == 0 {
		errs = append(errs, errors.New("stages: at least one stage is needed"))
	}
	var total time.Duration
	var peak float64
	for i, s := range c.Stages {
		if s.Duration < 0 {
			errs = append(errs, fmt.Errorf("stage %d: negative duration %s", i+1, s.Duration))
		}
		total += s.Duration
		if s.Rate < 0 || s.VUs < 0 {
			errs = append(errs, fmt.Errorf("stage %d: negative rate or vus", i+1))
		}
		if c.Model == ModelClosed {
			peak = max(peak, float64(s.VUs))
		} else {
			peak = max(peak, s.Rate)
		}
	}
	if len(c.Stages) > 0 && total <= 0 {
		errs = append(errs, errors.New("stages: total duration must be positive"))
	}
	if len(c.Stages) > 0 && peak <= 0 {
		if c.Model == ModelClosed {
			errs = append(errs, errors.New("stages: closed model needs vus > 0 in some stage"))
		} else {
			errs = append(errs, errors.New("stages: open model needs rate > 0 in some stage"))
		}
	}
	if len(c.Mix) == 0 {
		errs = append(errs, errors.New("mix: at least one request is needed"))
	}
	seen := map[string]bool{}
	for i, r := range c.Mix {
		if !nameRe.MatchString(r.Name) {
			errs = append(errs, fmt.Errorf("mix[%d]: name %q: want letters, digits, '_', '.', ':' or '-'", i, r.Name))
		}
		if seen[r.Name] {
			errs = append(errs, fmt.Errorf("mix[%d]: duplicate name %q", i, r.Name))
		}
		seen[r.Name] = true
		if r.Weight < 0 {
			errs = append(errs, fmt.Errorf("mix[%d] %s: negative weight", i, r.Name))
		}
		if _, err := compileRequest(r, c.BaseURL); err != nil {
			errs = append(errs, fmt.Errorf("mix[%d] %s: %w", i, r.Name, err))
		}
	}
	if c.MaxInFlight < 0 {
		errs = append(errs, errors.New("max in flight: negative"))
	}
	if c.ThinkTime < 0 {
		errs = append(errs, errors.New("think time: negative"))
	}
	return errors.Join(errs...)
}
