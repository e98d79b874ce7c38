package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/gameday/gameday/loadgen"
)

// syncBuffer is a goroutine-safe stdout that signals every write.
type syncBuffer struct {
	mu    sync.Mutex
	b     bytes.Buffer
	wrote chan struct{}
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{wrote: make(chan struct{}, 1)} }

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case s.wrote <- struct{}{}:
	default:
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type loadEnv struct {
	gs     *GlobalState
	stdout *syncBuffer
	stderr *syncBuffer
	sigs   chan chan<- os.Signal
}

func newLoadEnv(t *testing.T, dir string) *loadEnv {
	e := &loadEnv{stdout: newSyncBuffer(), stderr: newSyncBuffer(), sigs: make(chan chan<- os.Signal, 1)}
	e.gs = &GlobalState{
		Ctx: context.Background(), Stdin: strings.NewReader(""), Stdout: e.stdout, Stderr: e.stderr,
		Env: map[string]string{}, Getwd: func() (string, error) { return dir, nil }, Now: time.Now,
		Exe: func() (string, error) { return "gameday", nil },
		Signal: SignalFuncs{
			Notify: func(c chan<- os.Signal, _ ...os.Signal) { e.sigs <- c },
			Stop:   func(chan<- os.Signal) {},
		},
	}
	return e
}

func testTarget(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.URL.Path == "/missing" {
			w.WriteHeader(404)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestLoadText(t *testing.T) {
	srv := testTarget(t)
	e := newLoadEnv(t, t.TempDir())
	code := Execute(e.gs, []string{"load", "--rate", "50", "--duration", "300ms", "--interval", "100ms", srv.URL + "/"})
	out := e.stdout.String()
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, e.stderr.String())
	}
	for _, want := range []string{"open model, completed", "requests   15 ", "errors     0", "corrected", "uncorrected", "scheduler lag", "/s (target 50/s)"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
}

func TestLoadJSONMixAndHlog(t *testing.T) {
	srv := testTarget(t)
	dir := t.TempDir()
	mix := `baseURL: ` + srv.URL + `
mix:
  - {name: browse, weight: 3, request: "GET /products/{{randInt 1 9}}"}
  - {name: lost, weight: 1, request: GET /missing}
  - {name: buy, weight: 1, request: POST /checkout, body: '{"n":{{seq}}}', headers: {Content-Type: application/json}}
`
	if err := os.WriteFile(filepath.Join(dir, "mix.yaml"), []byte(mix), 0o644); err != nil {
		t.Fatal(err)
	}
	e := newLoadEnv(t, dir)
	code := Execute(e.gs, []string{"load", "--mix", "mix.yaml", "--stages", "200ms:100,200ms:200", "-o", "json", "--hlog", "out.hlog", "--seed", "7"})
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, e.stderr.String())
	}
	var j loadgen.JSONResult
	if err := json.Unmarshal([]byte(e.stdout.String()), &j); err != nil {
		t.Fatalf("stdout is not the JSON summary: %v\n%s", err, e.stdout.String())
	}
	// 200 ms at 100/s, then a ramp to 200/s over 200 ms: 20 + 30 = 50.
	if j.TargetRequests != 50 || j.Total.Count != 50 {
		t.Errorf("target %d count %d, want 50", j.TargetRequests, j.Total.Count)
	}
	if l := j.Scenarios["lost"]; l.Count == 0 || l.Errors["4xx"] != l.Count {
		t.Errorf("lost scenario %+v", l)
	}
	if !strings.Contains(e.stderr.String(), "target") {
		t.Errorf("progress lines should go to stderr with -o json: %q", e.stderr.String())
	}
	f, err := os.Open(filepath.Join(dir, "out.hlog"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd := hdrhistogram.NewHistogramLogReader(f)
	var n int64
	for {
		h, err := rd.NextIntervalHistogram()
		if err != nil {
			t.Fatal(err)
		}
		if h == nil {
			break
		}
		if !strings.HasSuffix(h.Tag(), ".uncorrected") {
			n += h.TotalCount()
		}
	}
	if n != 50 {
		t.Errorf("hlog holds %d corrected values, want 50", n)
	}
}

func TestLoadCtrlC(t *testing.T) {
	srv := testTarget(t)
	e := newLoadEnv(t, t.TempDir())
	done := make(chan int, 1)
	go func() {
		done <- Execute(e.gs, []string{"load", "--rate", "100", "--duration", "1m", "--interval", "100ms", srv.URL + "/"})
	}()
	sig := <-e.sigs
	// Wait for the first progress line, then press Ctrl-C.
	for !strings.Contains(e.stdout.String(), "target 100/s") {
		select {
		case <-e.stdout.wrote:
		case <-time.After(10 * time.Second):
			t.Fatal("no progress line within 10s")
		}
	}
	start := time.Now()
	sig <- os.Interrupt
	select {
	case code := <-done:
		if code != 130 {
			t.Errorf("exit %d after Ctrl-C, want 130", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("load did not stop within 5s of Ctrl-C")
	}
	t.Logf("stopped %v after the signal", time.Since(start))
	out := e.stdout.String()
	if !strings.Contains(out, "open model, interrupted") || !strings.Contains(out, "[all]") {
		t.Errorf("no summary after Ctrl-C:\n%s", out)
	}
	if !strings.Contains(e.stderr.String(), "interrupted") {
		t.Errorf("stderr %q", e.stderr.String())
	}
}

func TestLoadUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"load"},
		{"load", "--output", "xml", "http://127.0.0.1:1/"},
		{"load", "--rate", "5", "--vus", "2", "http://127.0.0.1:1/"},
		{"load", "--stages", "10s", "http://127.0.0.1:1/"},
		{"load", "ftp://127.0.0.1/"},
		{"load", "-H", "novalue", "http://127.0.0.1:1/"},
	} {
		e := newLoadEnv(t, t.TempDir())
		if code := Execute(e.gs, args); code != 2 {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", args, code, e.stderr.String())
		}
	}
}

func TestLoadClosedModel(t *testing.T) {
	srv := testTarget(t)
	e := newLoadEnv(t, t.TempDir())
	code := Execute(e.gs, []string{"load", "--vus", "3", "--duration", "300ms", "--think", "10ms", "-q", srv.URL + "/"})
	if code != 0 {
		t.Fatalf("exit %d: %s", code, e.stderr.String())
	}
	out := e.stdout.String()
	if !strings.Contains(out, "closed model, completed") || strings.Contains(out, "scheduler lag") || strings.Contains(out, "/s (") {
		t.Errorf("closed-model summary (quiet):\n%s", out)
	}
}

// TestLoadCtrlCWhileRequestsHang: Ctrl-C while requests hang: the cut
// requests are cancelled, not errors, in the JSON summary and in the live
// progress; the JSON speaks camelCase with a schemaVersion.
func TestLoadCtrlCWhileRequestsHang(t *testing.T) {
	const hangs = 3
	var mu sync.Mutex
	n := 0
	hung := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		if n == hangs {
			close(hung)
		}
		mu.Unlock()
		<-r.Context().Done()
	}))
	defer srv.Close()
	e := newLoadEnv(t, t.TempDir())
	done := make(chan int, 1)
	go func() {
		done <- Execute(e.gs, []string{"load", "--rate", "50", "--duration", "1m", "--interval", "100ms", "-o", "json", srv.URL + "/"})
	}()
	sig := <-e.sigs
	select {
	case <-hung:
	case <-time.After(10 * time.Second):
		t.Fatal("no request reached the server within 10s")
	}
	sig <- os.Interrupt
	select {
	case code := <-done:
		if code != 130 {
			t.Errorf("exit %d after Ctrl-C, want 130", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("load did not stop within 5s of Ctrl-C")
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(e.stdout.String()), &raw); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, e.stdout.String())
	}
	if raw["schemaVersion"] != loadgen.JSONSchema || raw["targetRequests"] == nil || raw["durationSeconds"] == nil {
		t.Errorf("top level %v: want camelCase keys and schemaVersion %s", raw, loadgen.JSONSchema)
	}
	var j loadgen.JSONResult
	if err := json.Unmarshal([]byte(e.stdout.String()), &j); err != nil {
		t.Fatal(err)
	}
	if !j.Interrupted || j.Total.Cancelled < hangs || len(j.Total.Errors) != 0 || j.Total.ErrorRatio != 0 || j.Total.Count != 0 {
		t.Errorf("total %+v: want ≥ %d cancelled, nothing completed, no errors", j.Total, hangs)
	}
	progress := strings.TrimSpace(e.stderr.String())
	for _, l := range strings.Split(progress, "\n") {
		if strings.HasPrefix(l, "[") && !strings.Contains(l, "errors 0.00%") {
			t.Errorf("progress line %q shows errors", l)
		}
	}
	if !strings.Contains(progress, "cancelled ") {
		t.Errorf("progress %q does not show the cancelled requests", progress)
	}
}
