package server

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gameday/gameday/sut"
	"github.com/gameday/gameday/sut/policy"
)

const testToken = "test-token"

// startService runs one service in-process on 127.0.0.1:0 and returns its
// base URL; the test's cleanup stops it (draining) and waits for it.
func startService(t testing.TB, cfg Config) string {
	t.Helper()
	u, _ := runService(t, cfg)
	return u
}

// runService runs one service in-process on 127.0.0.1:0 (unless cfg says
// where) and returns its base URL and stop, which drains it (flushing its
// log) and waits; stop is idempotent and also runs at the test's cleanup.
func runService(t testing.TB, cfg Config) (url string, stop func()) {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.Instance == "" {
		cfg.Instance = cfg.Service + "-test"
	}
	pr, pw := io.Pipe()
	cfg.Stdout = pw
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		err := Run(ctx, cfg)
		pw.CloseWithError(io.EOF)
		done <- err
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("start %s: no listening line: %v (run: %v)", cfg.Service, err, <-done)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if !ok {
		t.Fatalf("start %s: first line %q", cfg.Service, line)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("%s: Run returned %v", cfg.Service, err)
				}
			case <-time.After(15 * time.Second):
				t.Errorf("%s did not stop", cfg.Service)
			}
		})
	}
	t.Cleanup(stop)
	return "http://" + addr, stop
}

// startShop runs every service of the shop in-process (as many replicas as
// the variant says) and returns the base URLs of each service's replicas;
// each option edits every service's Config.
func startShop(t *testing.T, v *policy.Variant, dataDir string, opts ...func(*Config)) map[string][]string {
	t.Helper()
	urls := map[string][]string{}
	order := []string{sut.Inventory, sut.Payment, sut.Cart, sut.Catalog, sut.Orders, sut.Gateway}
	for _, s := range order {
		ups := map[string][]string{}
		for _, c := range sut.Callees(s) {
			ups[c] = urls[c]
		}
		for i := 0; i < v.Replicas(s); i++ {
			cfg := Config{Service: s, Variant: v, Upstreams: ups, DataDir: dataDir, AdminToken: testToken}
			for _, o := range opts {
				o(&cfg)
			}
			urls[s] = append(urls[s], startService(t, cfg))
		}
	}
	return urls
}

func mustVariant(t *testing.T, name string) *policy.Variant {
	t.Helper()
	v, err := policy.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// doJSON sends a request and decodes a JSON answer into out (if not nil).
func doJSON(t *testing.T, method, url, token, body string, out any) int {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %d %q: %v", method, url, resp.StatusCode, data, err)
		}
	}
	return resp.StatusCode
}

// metricValue scrapes url/metrics and returns the sum of the samples of
// name whose labels contain every label="value" of match.
func metricValue(t *testing.T, url, name string, match ...string) float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var sum float64
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		ok := true
		for _, m := range match {
			ok = ok && strings.Contains(line, m)
		}
		if !ok {
			continue
		}
		var v float64
		fields := strings.Fields(line)
		if err := json.Unmarshal([]byte(fields[len(fields)-1]), &v); err == nil {
			sum += v
		}
	}
	return sum
}
