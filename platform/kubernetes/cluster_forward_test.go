//go:build kubernetes

package kubernetes

import (
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gameday/gameday/platform"
)

// TestClusterForward opens many connections through one instance's
// port-forward, sequentially and 16 at a time: every request answers.
func TestClusterForward(t *testing.T) {
	c := requireCluster(t)
	s := platform.Spec{Gateway: "payment", Variant: "naive", RunDir: t.TempDir(), Seed: 1,
		RunID:    "k8stest-fwd-" + time.Now().UTC().Format("150405.000"),
		Services: []platform.Service{{Name: "payment", Replicas: 1, Stateful: true}}}
	d, _ := c.deploy(t, s)
	base := d.GatewayURL()
	var fails atomic.Int64
	var first atomic.Pointer[string]
	do := func(cl *http.Client) {
		resp, err := cl.Get(base + "/healthz")
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		if err != nil {
			fails.Add(1)
			s := err.Error()
			first.CompareAndSwap(nil, &s)
		}
	}
	fresh := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	start := time.Now()
	for range 300 {
		do(fresh)
	}
	t.Logf("300 sequential new connections in %s", time.Since(start).Round(time.Millisecond))
	var wg sync.WaitGroup
	start = time.Now()
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ka := &http.Client{Timeout: 5 * time.Second}
			for range 100 {
				do(ka)
				do(fresh)
			}
		}()
	}
	wg.Wait()
	t.Logf("3200 requests, 16 at a time, in %s", time.Since(start).Round(time.Millisecond))
	if n := fails.Load(); n > 0 {
		t.Errorf("%d requests failed, first: %s", n, *first.Load())
	}
}
