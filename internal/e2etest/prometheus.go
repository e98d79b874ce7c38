package e2etest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// PrometheusBinary is where Debian's prometheus package installs the server.
const PrometheusBinary = "/usr/bin/prometheus"

// StartPrometheus starts Debian's real Prometheus server on a free loopback
// port, scraping every second what the file_sd file at sdPath lists and
// evaluating the rules in rulePath every second, with its TSDB in storage
// ("" for a fresh directory). It returns the server's URL and stops it
// (SIGTERM) when the test ends; its log is printed if the test failed. The
// test is skipped when the server is not installed.
func StartPrometheus(t testing.TB, sdPath, rulePath, storage string) string {
	t.Helper()
	if _, err := os.Stat(PrometheusBinary); err != nil {
		t.Skipf("%s not found (apt-get install prometheus): skipping the real-Prometheus test", PrometheusBinary)
	}
	dir := t.TempDir()
	cfg := fmt.Sprintf(`global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}
rule_files: [%q]
scrape_configs:
  - job_name: gameday
    file_sd_configs: [{files: [%q], refresh_interval: 1s}]
`, rulePath, sdPath)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	// The port is free when probed; another process may take it before
	// Prometheus binds it, hence the retries.
	for attempt := 0; attempt < 3; attempt++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		data := storage
		if data == "" {
			data = filepath.Join(dir, fmt.Sprintf("data%d", attempt))
		}
		ctx, cancel := context.WithCancel(context.Background())
		cmd := exec.CommandContext(ctx, PrometheusBinary,
			"--config.file="+cfgPath,
			"--storage.tsdb.path="+data,
			"--web.listen-address="+addr,
			"--enable-feature=native-histograms",
			"--log.level=warn")
		cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
		cmd.WaitDelay = 10 * time.Second
		var logs syncBuffer
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			cancel()
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		stop := func() {
			cancel()
			<-exited
		}
		if ready(t, "http://"+addr+"/-/ready", exited, 30*time.Second) {
			t.Cleanup(func() {
				stop()
				if t.Failed() {
					t.Logf("prometheus log:\n%s", logs.String())
				}
			})
			return "http://" + addr
		}
		stop()
		t.Logf("prometheus attempt %d on %s failed: %s", attempt, addr, logs.String())
	}
	t.Fatal("could not start prometheus")
	return ""
}

// ready polls url until it answers 200; false when the process exited.
func ready(t testing.TB, url string, exited <-chan error, timeout time.Duration) bool {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		}
		select {
		case <-exited:
			return false
		case <-deadline.C:
			t.Fatalf("prometheus not ready at %s after %s", url, timeout)
		case <-tick.C:
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the process' output goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
