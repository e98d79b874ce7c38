package sidecar_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gameday/gameday/faults/proxy"
	"github.com/gameday/gameday/faults/proxy/sidecar"
)

const (
	token   = "s3cret"
	payEdge = "orders->payment-0"
	invEdge = "orders->inventory-0"
)

// withToken is a getenv that holds the admin token tok ("" for none).
func withToken(tok string) func(string) string {
	return func(k string) string {
		if k == sidecar.AdminTokenEnv {
			return tok
		}
		return ""
	}
}

// syncBuffer is the command's stderr: written by its goroutines, read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// running is a `proxy` command running in process.
type running struct {
	admin  string            // http://127.0.0.1:PORT
	listen map[string]string // edge name -> bound LISTEN address
	stderr *syncBuffer
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

// start runs the command with args until the test ends, and returns once it
// printed its listening line (everything is bound then).
func start(t *testing.T, getenv func(string) string, args ...string) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	r := &running{stderr: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	cmd := sidecar.NewCommand(pw, r.stderr, getenv)
	cmd.SetArgs(args)
	go func() {
		err := cmd.ExecuteContext(ctx)
		_ = pw.Close()
		r.done <- err
	}()
	t.Cleanup(func() { r.stop(t) })
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no listening line (%v): command returned %v; stderr:\n%s", err, r.stop(t), r.stderr)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	addr, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), "listening ")
	if !ok {
		t.Fatalf("first line %q, want \"listening ADDR\"", line)
	}
	r.admin = "http://" + addr
	var edges []sidecar.Edge
	if code := getJSON(t, r.admin+"/edges", token, &edges); code != http.StatusOK { // any token passes without one
		t.Fatalf("GET /edges: %d", code)
	}
	r.listen = map[string]string{}
	for _, e := range edges {
		r.listen[e.Name] = e.Listen
	}
	return r
}

// stop cancels the command's context and returns what it returned.
func (r *running) stop(t *testing.T) error {
	r.once.Do(func() {
		r.cancel()
		select {
		case r.err = <-r.done:
		case <-time.After(10 * time.Second):
			t.Fatalf("the command did not return within 10s of its context's end; stderr:\n%s", r.stderr)
		}
	})
	return r.err
}

// upstream is a loopback HTTP server that answers "ok".
func upstream(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// twoEdges runs the sidecar with payEdge and invEdge to two upstreams.
func twoEdges(t *testing.T) *running {
	t.Helper()
	r := start(t, withToken(token), "--admin", "127.0.0.1:0",
		"--edge", payEdge+"=127.0.0.1:0="+upstream(t),
		"--edge", invEdge+"=127.0.0.1:0="+upstream(t),
		"--seed", "7", "--dial-timeout", "2s")
	if len(r.listen) != 2 || r.listen[payEdge] == "" || r.listen[invEdge] == "" {
		t.Fatalf("GET /edges listed %v, want %s and %s", r.listen, payEdge, invEdge)
	}
	return r
}

// do sends one request with the token (when not empty) and returns the
// status and body.
func do(t *testing.T, method, url, tok string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func getJSON(t *testing.T, url, tok string, out any) int {
	t.Helper()
	code, body := do(t, http.MethodGet, url, tok)
	if code == http.StatusOK {
		if err := json.Unmarshal([]byte(body), out); err != nil {
			t.Fatalf("GET %s: %v in %q", url, err, body)
		}
	}
	return code
}

// keepAlive is a client of its own, so that each edge is timed on a warm
// connection of its own.
func keepAlive(t *testing.T) *http.Client {
	t.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: 1}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}
}

// get sends one GET through a proxy and returns how long it took.
func get(t *testing.T, c *http.Client, addr string) time.Duration {
	t.Helper()
	begin := time.Now()
	resp, err := c.Get("http://" + addr + "/")
	if err != nil {
		t.Fatalf("GET through %s: %v", addr, err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(begin)
	if err != nil || resp.StatusCode != http.StatusOK || string(b) != "ok" {
		t.Fatalf("GET through %s: %s %q %v", addr, resp.Status, b, err)
	}
	return took
}

// timings sends n GETs through each of the two addresses, interleaved, and
// returns the two medians and the smallest time through a.
func timings(t *testing.T, ca *http.Client, a string, cb *http.Client, b string, n int) (medA, medB, minA time.Duration) {
	t.Helper()
	var ta, tb []time.Duration
	for range n {
		ta = append(ta, get(t, ca, a))
		tb = append(tb, get(t, cb, b))
	}
	slices.Sort(ta)
	slices.Sort(tb)
	return ta[n/2], tb[n/2], ta[0]
}

// A latency toxic added through proxy.Remote on one edge slows that edge by
// its delay and not the other; removing it restores the edge.
func TestRemoteLatencyActsOnItsEdgeOnly(t *testing.T) {
	r := twoEdges(t)
	ctx := context.Background()
	slow, fast := keepAlive(t), keepAlive(t)
	pay, inv := r.listen[payEdge], r.listen[invEdge]
	timings(t, slow, pay, fast, inv, 3) // warm both connections

	remote := &proxy.Remote{URL: sidecar.EdgeURL(r.admin, payEdge), Token: token}
	const delay = 50 * time.Millisecond
	id, err := remote.AddToxic(ctx, proxy.Latency{Delay: delay, Direction: proxy.Downstream})
	if err != nil {
		t.Fatal(err)
	}
	// The edge name unescaped in the URL routes to the same edge.
	raw := &proxy.Remote{URL: r.admin + "/edges/" + payEdge, Token: token}
	listed, err := raw.Toxics(ctx)
	if err != nil || len(listed) != 1 || listed[0].ID != id || listed[0].Spec.Delay != "50ms" {
		t.Fatalf("toxics of %s through an unescaped URL: %+v, %v", payEdge, listed, err)
	}
	if other, err := (&proxy.Remote{URL: sidecar.EdgeURL(r.admin, invEdge), Token: token}).Toxics(ctx); err != nil || len(other) != 0 {
		t.Fatalf("toxics of %s: %+v, %v", invEdge, other, err)
	}

	medSlow, medFast, minSlow := timings(t, slow, pay, fast, inv, 7)
	if minSlow < delay {
		t.Errorf("a GET through %s took %v with a %v latency toxic", payEdge, minSlow, delay)
	}
	const tolerance = 3 * time.Millisecond
	if d := medSlow - medFast; d < delay-tolerance || d > delay+30*time.Millisecond {
		t.Errorf("%s is %v slower than %s (medians %v, %v), want %v (-%v, +30ms)", payEdge, d, invEdge, medSlow, medFast, delay, tolerance)
	}

	if err := remote.RemoveToxic(ctx, id); err != nil {
		t.Fatal(err)
	}
	if listed, err := remote.Toxics(ctx); err != nil || len(listed) != 0 {
		t.Fatalf("toxics after remove: %+v, %v", listed, err)
	}
	medSlow, medFast, _ = timings(t, slow, pay, fast, inv, 7)
	if d := medSlow - medFast; d > 10*time.Millisecond {
		t.Errorf("after remove, %s is still %v slower than %s (medians %v, %v)", payEdge, d, invEdge, medSlow, medFast)
	}

	if code, body := do(t, http.MethodGet, r.admin+"/edges/orders->nowhere-0/toxics", token); code != http.StatusNotFound || !strings.Contains(body, `unknown edge "orders->nowhere-0"`) {
		t.Errorf("unknown edge: %d %q, want 404", code, body)
	}
}

// A refuse partition added through proxy.Remote makes new connections on
// its edge fail; removing it restores them.
func TestRemoteRefusePartitionCutsItsEdge(t *testing.T) {
	r := twoEdges(t)
	ctx := context.Background()
	pay, inv := r.listen[payEdge], r.listen[invEdge]
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	get(t, c, pay)

	remote := &proxy.Remote{URL: sidecar.EdgeURL(r.admin, payEdge), Token: token}
	id, err := remote.AddToxic(ctx, proxy.Partition{Mode: proxy.Refuse})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if resp, err := c.Get("http://" + pay + "/"); err == nil {
			resp.Body.Close()
			t.Fatalf("GET through %s succeeded (%s) during a refuse partition", payEdge, resp.Status)
		}
	}
	get(t, c, inv) // the other edge is not cut

	if err := remote.RemoveToxic(ctx, id); err != nil {
		t.Fatal(err)
	}
	get(t, c, pay)
}

// The edges and their toxics need the token; /metrics, /healthz and /readyz
// do not.
func TestAdminAPIRequiresTheToken(t *testing.T) {
	r := twoEdges(t)
	ctx := context.Background()
	toxics := sidecar.EdgeURL(r.admin, payEdge) + "/toxics"
	for _, url := range []string{r.admin + "/edges", toxics, r.admin + "/edges/orders->nowhere-0/toxics"} {
		for _, tok := range []string{"", "guess"} {
			if code, _ := do(t, http.MethodGet, url, tok); code != http.StatusUnauthorized {
				t.Errorf("GET %s with token %q: %d, want 401", url, tok, code)
			}
		}
	}
	if code, _ := do(t, http.MethodDelete, toxics, ""); code != http.StatusUnauthorized {
		t.Errorf("DELETE %s without a token: %d, want 401", toxics, code)
	}
	wrong := &proxy.Remote{URL: sidecar.EdgeURL(r.admin, payEdge), Token: "guess"}
	if _, err := wrong.AddToxic(ctx, proxy.Reset{Probability: 1}); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("AddToxic with a wrong token: %v, want a 401", err)
	}
	if listed, err := (&proxy.Remote{URL: sidecar.EdgeURL(r.admin, payEdge), Token: token}).Toxics(ctx); err != nil || len(listed) != 0 {
		t.Errorf("toxics after refused requests: %+v, %v", listed, err)
	}
	var edges []sidecar.Edge
	if code := getJSON(t, r.admin+"/edges", token, &edges); code != http.StatusOK || len(edges) != 2 ||
		edges[0].Name != payEdge || edges[1].Name != invEdge || edges[0].Upstream == "" || edges[0].Listen != r.listen[payEdge] {
		t.Errorf("GET /edges: %d %+v", code, edges)
	}
	for _, path := range []string{"/metrics", "/healthz", "/readyz"} {
		if code, _ := do(t, http.MethodGet, r.admin+path, ""); code != http.StatusOK {
			t.Errorf("GET %s without a token: %d, want 200", path, code)
		}
	}
}

func TestMetricsNameEveryEdge(t *testing.T) {
	r := twoEdges(t)
	c := keepAlive(t)
	get(t, c, r.listen[payEdge])
	get(t, c, r.listen[invEdge])
	code, body := do(t, http.MethodGet, r.admin+"/metrics", "")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d", code)
	}
	for _, edge := range []string{payEdge, invEdge} {
		for _, series := range []string{
			`gameday_proxy_connections_total{edge="` + edge + `"} 1`,
			`gameday_proxy_bytes_total{direction="downstream",edge="` + edge + `"}`,
			`gameday_proxy_toxics_active{edge="` + edge + `",type="latency"} 0`,
		} {
			if !strings.Contains(body, series) {
				t.Errorf("/metrics lacks %s:\n%s", series, body)
			}
		}
	}
}

// Bad flags are reported, naming the flag, before anything is bound.
func TestFlagErrors(t *testing.T) {
	// --admin is an address in use: an error other than the flag's would
	// mean the command bound something before checking every flag.
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	admin := held.Addr().String()
	const example = "orders->payment-0=127.0.0.1:15001=10.96.0.12:8080"
	for _, tc := range []struct {
		args  []string
		noTok bool
		want  string
	}{
		{[]string{"--admin", admin, "--edge", "bad"},
			false, `proxy: --edge "bad": want NAME=LISTEN=UPSTREAM, such as ` + example},
		{[]string{"--admin", admin, "--edge", "a=127.0.0.1:0=127.0.0.1:9", "--edge", "a=127.0.0.1:0=127.0.0.1:10"},
			false, `proxy: --edge "a=127.0.0.1:0=127.0.0.1:10": edge name "a" given twice`},
		{[]string{"--admin", admin, "--edge", "a=127.0.0.1:15001=127.0.0.1:9", "--edge", "b=127.0.0.1:15001=127.0.0.1:9"},
			false, `proxy: --edge "b=127.0.0.1:15001=127.0.0.1:9": LISTEN 127.0.0.1:15001 is also edge "a"'s`},
		{[]string{"--admin", admin, "--edge", "a=127.0.0.1:0="},
			false, `proxy: --edge "a=127.0.0.1:0=": empty UPSTREAM: want NAME=LISTEN=UPSTREAM, such as ` + example},
		{[]string{"--admin", admin, "--edge", "a=localhost=127.0.0.1:9"},
			false, `proxy: --edge "a=localhost=127.0.0.1:9": LISTEN "localhost": want HOST:PORT with PORT 0-65535, such as 127.0.0.1:15001`},
		{[]string{"--admin", admin, "--edge", "a=127.0.0.1:0=127.0.0.1:0"},
			false, `proxy: --edge "a=127.0.0.1:0=127.0.0.1:0": UPSTREAM "127.0.0.1:0": want HOST:PORT with a HOST and PORT 1-65535, such as 10.96.0.12:8080`},
		{[]string{"--admin", admin, "--edge", "a/b=127.0.0.1:0=127.0.0.1:9"},
			false, `proxy: --edge "a/b=127.0.0.1:0=127.0.0.1:9": name "a/b": want letters, digits and . _ - > only, such as orders->payment-0`},
		{[]string{"--admin", admin},
			false, `proxy: at least one --edge NAME=LISTEN=UPSTREAM is required, such as ` + example},
		{[]string{"--edge", "a=127.0.0.1:0=127.0.0.1:9"},
			false, `proxy: --admin is required, such as 0.0.0.0:9901`},
		{[]string{"--admin", "127.0.0.1", "--edge", "a=127.0.0.1:0=127.0.0.1:9"},
			false, `proxy: --admin "127.0.0.1": want HOST:PORT with PORT 0-65535, such as 0.0.0.0:9901`},
		{[]string{"--admin", admin, "--edge", "a=127.0.0.1:0=127.0.0.1:9", "--dial-timeout", "0s"},
			false, `proxy: --dial-timeout 0s: must be positive`},
		{[]string{"--admin", admin, "--edge", "a=127.0.0.1:0=127.0.0.1:9"},
			true, `proxy: $GAMEDAY_ADMIN_TOKEN is empty: set the admin token, or pass --insecure-no-token`},
	} {
		var stdout, stderr bytes.Buffer
		getenv := withToken(token)
		if tc.noTok {
			getenv = withToken("")
		}
		cmd := sidecar.NewCommand(&stdout, &stderr, getenv)
		cmd.SetArgs(tc.args)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := cmd.ExecuteContext(ctx)
		cancel()
		if err == nil || err.Error() != tc.want {
			t.Errorf("%q:\n got %v\nwant %s", tc.args, err, tc.want)
		}
		if stdout.Len() != 0 {
			t.Errorf("%q: stdout %q, want nothing", tc.args, stdout.String())
		}
	}
}

// Without a token, --insecure-no-token serves the admin API to anyone and
// says so.
func TestInsecureNoToken(t *testing.T) {
	r := start(t, withToken(""), "--admin", "127.0.0.1:0", "--insecure-no-token",
		"--edge", payEdge+"=127.0.0.1:0="+upstream(t))
	if !strings.Contains(r.stderr.String(), "--insecure-no-token") {
		t.Errorf("stderr does not warn:\n%s", r.stderr)
	}
	if len(r.listen) != 1 {
		t.Errorf("GET /edges without a token listed %v", r.listen)
	}
	if listed, err := (&proxy.Remote{URL: sidecar.EdgeURL(r.admin, payEdge)}).Toxics(context.Background()); err != nil || len(listed) != 0 {
		t.Errorf("toxics without a token: %+v, %v", listed, err)
	}
}

// Cancelling the context returns nil, closes the proxies (even with a
// connection open through one) and the admin server, and frees every port.
func TestCancelStopsAndFreesThePorts(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore, goleak.IgnoreAnyFunction("os/signal.loop")) }) // runs last
	r := twoEdges(t)
	c := keepAlive(t)
	get(t, c, r.listen[payEdge]) // a connection stays open through the proxy
	if code, _ := do(t, http.MethodGet, r.admin+"/readyz", ""); code != http.StatusOK {
		t.Fatalf("/readyz: %d", code)
	}
	if err := r.stop(t); err != nil {
		t.Fatalf("cancelled: returned %v, want nil; stderr:\n%s", err, r.stderr)
	}
	if !strings.Contains(r.stderr.String(), "proxy: stopped") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	for _, addr := range []string{strings.TrimPrefix(r.admin, "http://"), r.listen[payEdge], r.listen[invEdge]} {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("after the end: %v", err)
			continue
		}
		ln.Close()
	}
}
