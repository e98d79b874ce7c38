package server

import (
	"io"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/gameday/gameday/sut"
	"github.com/gameday/gameday/sut/policy"
)

// BenchmarkListProducts is the hot path, GET /api/products through
// gateway → catalog → inventory with the naive variant, the three services
// in this process (no proxies). allocs/op and B/op count the three services
// and the benchmark's client together; cpu-ns/op is the process's CPU time
// (user + system) per request, service-time sleeps included, which is what
// a request costs the machine.
func BenchmarkListProducts(b *testing.B) {
	v, err := policy.Load("naive")
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	urls := map[string][]string{}
	for _, s := range []string{sut.Inventory, sut.Catalog, sut.Gateway} {
		ups := map[string][]string{}
		for _, c := range sut.Callees(s) {
			ups[c] = urls[c]
		}
		if s == sut.Gateway { // callees it does not call here still need an address
			for _, c := range sut.Callees(s) {
				if len(ups[c]) == 0 {
					ups[c] = []string{"http://127.0.0.1:1"}
				}
			}
		}
		urls[s] = []string{startService(b, Config{Service: s, Variant: v, Upstreams: ups, DataDir: dir})}
	}
	url := urls[sut.Gateway][0] + "/api/products"
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	get := func() {
		resp, err := hc.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("GET %s: %d", url, resp.StatusCode)
		}
	}
	get() // connections up
	b.ReportAllocs()
	start := benchCPU(b)
	for b.Loop() {
		get()
	}
	b.ReportMetric(float64(benchCPU(b)-start)/float64(b.N), "cpu-ns/op")
}

func benchCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
