// Command benchtarget is the trivial loopback HTTP target of the benchmark
// script (bench/run.sh): GET / answers "ok", /delay?ms=N answers after N ms.
// It prints "listening ADDR" once bound, and counts the requests it served
// (GET /__served, not counted, and "served N" on SIGTERM/SIGINT).
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

type holdStats struct {
	mu sync.Mutex
	h  *hdrhistogram.Histogram
}

func (s *holdStats) record(d time.Duration) {
	s.mu.Lock()
	_ = s.h.RecordValue(int64(d))
	s.mu.Unlock()
}

func (s *holdStats) snapshot() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := fmt.Sprintf("p50_ms=%.3f max_ms=%.3f count=%d", float64(s.h.ValueAtQuantile(50))/1e6, float64(s.h.Max())/1e6, s.h.TotalCount())
	s.h.Reset()
	return out
}

// hold waits d (Go's timers wake about 1 ms late on Linux: the accuracy
// benchmark compares the client with what the target measured itself, not
// with d). No spinning: a spinning handler would starve the netpoller of a
// GOMAXPROCS=1 target and delay the next requests.
func hold(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	select {
	case <-t.C:
	case <-ctx.Done():
		t.Stop()
	}
}

func main() {
	addr := flag.String("listen", "127.0.0.1:18090", "address to listen on")
	flag.Parse()
	var served atomic.Int64
	held := &holdStats{h: hdrhistogram.New(1000, int64(time.Minute), 3)}
	ok := []byte("ok\n")
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		w.Header().Set("Content-Length", "3")
		_, _ = w.Write(ok)
	})
	mux.HandleFunc("/delay", func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		start := time.Now()
		ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
		hold(r.Context(), time.Duration(ms)*time.Millisecond)
		held.record(time.Since(start))
		w.Header().Set("Content-Length", "3")
		_, _ = w.Write(ok)
	})
	// The truth of the accuracy benchmark: how long /delay really held its
	// answers (p50, max in ms, count), then reset.
	mux.HandleFunc("/__held", func(w http.ResponseWriter, r *http.Request) {
		_, _ = fmt.Fprintln(w, held.snapshot())
	})
	mux.HandleFunc("/__served", func(w http.ResponseWriter, r *http.Request) {
		_, _ = fmt.Fprintln(w, served.Load())
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtarget:", err)
		os.Exit(1)
	}
	fmt.Println("listening", ln.Addr())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, "benchtarget:", err)
		os.Exit(1)
	}
	fmt.Println("served", served.Load())
}
