// Command benchproxy is the Go side of bench/proxy/run.sh: a loopback HTTP
// target and a standalone gameday fault proxy, so the script can put wrk in
// front of either.
//
//	benchproxy target -addr 127.0.0.1:18180
//	    GET / -> 200 "ok"
//	benchproxy proxy -listen 127.0.0.1:18181 -upstream 127.0.0.1:18180 \
//	    [-latency 50ms -jitter 0 -direction downstream] [-cpuprofile FILE]
//	    prints "listening ADDR" once bound, runs until SIGINT/SIGTERM.
//
// Both refuse non-loopback addresses.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/gameday/gameday/faults/proxy"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "benchproxy:", err)
		os.Exit(2)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: benchproxy target|proxy [flags]")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch args[0] {
	case "target":
		return target(ctx, args[1:])
	case "proxy":
		return runProxy(ctx, args[1:])
	}
	return fmt.Errorf("unknown subcommand %q", args[0])
}

func loopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("refusing non-loopback address %q", addr)
	}
	return nil
}

func target(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("target", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:18180", "listen address (loopback only)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := loopback(*addr); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	ok := []byte("ok")
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write(ok)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	fmt.Println("listening", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("target: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

func runProxy(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "listen address (loopback only)")
	upstream := fs.String("upstream", "127.0.0.1:18180", "upstream address (loopback only)")
	latency := fs.Duration("latency", 0, "latency toxic delay (0: no toxic)")
	jitter := fs.Duration("jitter", 0, "latency toxic jitter")
	direction := fs.String("direction", "downstream", "latency direction: upstream, downstream or both")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile to this file until shutdown")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer func() { _ = f.Close() }()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	for _, a := range []string{*listen, *upstream} {
		if err := loopback(a); err != nil {
			return err
		}
	}
	p, err := proxy.Listen(ctx, *listen, *upstream, proxy.WithName("bench"))
	if err != nil {
		return err
	}
	defer func() { _ = p.Close() }()
	if *latency > 0 || *jitter > 0 {
		dir, err := proxy.ParseDirection(*direction)
		if err != nil {
			return err
		}
		if _, err := p.Add(proxy.Latency{Delay: *latency, Jitter: *jitter, Direction: dir}); err != nil {
			return err
		}
	}
	_, _ = io.WriteString(os.Stdout, "listening "+p.Addr()+"\n")
	<-ctx.Done()
	s := p.Stats()
	fmt.Fprintf(os.Stderr, "accepted %d, bytes up %d down %d\n", s.Accepted, s.BytesUpstream, s.BytesDownstream)
	return nil
}
