package experiments

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gameday/gameday/loadgen"
	"github.com/gameday/gameday/metrics"
)

// Duration is a Go duration written in YAML as 800ms, 20s, 1m30s. In JSON it
// is the same text.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String prints the duration compactly: 1m30s, 20s, 1m, 800ms, 0s.
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// MarshalJSON writes the duration as text ("20s").
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads the text form written by MarshalJSON.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	return d.decodeScalar(s)
}

func (d *Duration) decodeScalar(s string) error {
	s = strings.TrimSpace(s)
	if s == "0" {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration (a number with a unit: 800ms, 20s, 1m30s)", s)
	}
	if v < 0 {
		return fmt.Errorf("%q is negative; a duration must be 0 or more", s)
	}
	*d = Duration(v)
	return nil
}

// Bound is a condition on a number, written as `OP VALUE`: '< 1.2',
// '>= 0.99', '>= 99.5%', '< 800ms' (durations are read as seconds) or
// '< 1.5 * baseline'. It is parsed by metrics.ParseBound, so the file and
// the SLO evaluation share one grammar; Text keeps what was written.
type Bound struct {
	metrics.Bound
	Text string
}

func (b *Bound) decodeScalar(s string) error {
	mb, err := metrics.ParseBound(s)
	if err != nil {
		return err
	}
	*b = Bound{Bound: mb, Text: strings.Join(strings.Fields(s), " ")}
	return nil
}

// String returns the bound as written.
func (b Bound) String() string { return b.Text }

// MarshalJSON writes the bound as its text.
func (b Bound) MarshalJSON() ([]byte, error) { return json.Marshal(b.Text) }

// UnmarshalJSON reads the text form.
func (b *Bound) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	return b.decodeScalar(s)
}

// DurationBound is a bound on a duration, such as recoveryTime: '< 10s'.
// Value is in seconds (metrics.ParseDurationBound).
type DurationBound struct {
	metrics.Bound
	Text string
}

// Max returns the longest duration that satisfies a < or <= bound.
func (b DurationBound) Max() time.Duration { return time.Duration(b.Value * float64(time.Second)) }

func (b *DurationBound) decodeScalar(s string) error {
	mb, err := metrics.ParseDurationBound(s)
	if err != nil {
		return err
	}
	*b = DurationBound{Bound: mb, Text: strings.Join(strings.Fields(s), " ")}
	return nil
}

// String returns the bound as written.
func (b DurationBound) String() string { return b.Text }

// MarshalJSON writes the bound as its text.
func (b DurationBound) MarshalJSON() ([]byte, error) { return json.Marshal(b.Text) }

// UnmarshalJSON reads the text form.
func (b *DurationBound) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	return b.decodeScalar(s)
}

// Request is one mix entry's request line: "METHOD /path".
type Request struct {
	Method string
	Path   string
}

var httpMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

func (r *Request) decodeScalar(s string) error {
	method, path, _ := strings.Cut(strings.TrimSpace(s), " ")
	path = strings.TrimSpace(path)
	if method == "" || path == "" {
		return fmt.Errorf("request %q must be \"METHOD /path\" (for example \"GET /api/products\")", s)
	}
	if !slices.Contains(httpMethods, method) {
		return fmt.Errorf("request %q: method %q is not one of %s%s", s, method, strings.Join(httpMethods, ", "), suggest(method, httpMethods))
	}
	if !strings.HasPrefix(path, "/") {
		return fmt.Errorf("request %q: the path must start with / (for example \"GET /api/products\"); the runner sends it to the gateway", s)
	}
	if _, err := loadgen.ParseTemplate(path); err != nil {
		return fmt.Errorf("request %q: path: %w", s, err)
	}
	*r = Request{Method: method, Path: path}
	return nil
}

// String returns "METHOD /path".
func (r Request) String() string { return r.Method + " " + r.Path }

// MarshalJSON writes "METHOD /path".
func (r Request) MarshalJSON() ([]byte, error) { return json.Marshal(r.String()) }

// UnmarshalJSON reads "METHOD /path".
func (r *Request) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	return r.decodeScalar(s)
}
