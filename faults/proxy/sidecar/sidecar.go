// Package sidecar runs the fault proxies of one caller as a process of their
// own, `sut proxy`: the sidecar container beside a caller in its pod, where
// the harness cannot hold a *proxy.Proxy and drives each edge's proxy over
// HTTP instead (proxy.AdminHandler here, proxy.Remote in the harness).
//
//	sut proxy --admin ADDR --edge NAME=LISTEN=UPSTREAM [--edge …] [--seed N] [--dial-timeout 5s] [--insecure-no-token]
//
// Each --edge is one proxy.Proxy named NAME (the call edge, such as
// orders->payment-0), accepting on LISTEN (the address the caller calls) and
// forwarding to UPSTREAM. One admin server on --admin serves:
//
//	GET  /edges                 [{"name","listen","upstream"}], in --edge order  (token)
//	     /edges/{NAME}/toxics…  proxy.AdminHandler of that edge: GET/POST /toxics,
//	                            DELETE /toxics/{id}, DELETE /toxics; NAME path-escaped
//	                            or not (EdgeURL builds a proxy.Remote's URL)  (token)
//	GET  /metrics               gameday_proxy_* of every edge  (no token)
//	GET  /healthz, /readyz      200; /readyz is 503 while stopping  (no token)
//
// The token is $GAMEDAY_ADMIN_TOKEN, sent as "Authorization: Bearer TOKEN".
// Once everything is bound, exactly one line goes to stdout: "listening
// ADDR", the admin server's bound address. SIGTERM, SIGINT or the end of the
// command's context closes the admin server and every proxy, then exits 0.
//
// Of gameday, the package imports faults/proxy only.
package sidecar

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/gameday/gameday/faults/proxy"
)

// AdminTokenEnv is the environment variable that holds the admin token: the
// same variable as the shop's (sut/server.AdminTokenEnv, not imported so that
// this package depends on faults/proxy alone).
const AdminTokenEnv = "GAMEDAY_ADMIN_TOKEN"

// edgeExample is an --edge value shown in errors.
const edgeExample = "orders->payment-0=127.0.0.1:15001=10.96.0.12:8080"

// Edge is one proxied call edge, an --edge NAME=LISTEN=UPSTREAM. In the
// admin API's GET /edges, Listen is the bound address.
type Edge struct {
	Name     string `json:"name"`     // the edge label, caller->callee instance
	Listen   string `json:"listen"`   // HOST:PORT the caller connects to (port 0: any)
	Upstream string `json:"upstream"` // HOST:PORT connections are forwarded to
}

// String is the edge as an --edge value.
func (e Edge) String() string { return e.Name + "=" + e.Listen + "=" + e.Upstream }

// ParseEdge reads one --edge value, NAME=LISTEN=UPSTREAM, and checks each
// part (see Edge).
func ParseEdge(v string) (Edge, error) {
	parts := strings.Split(v, "=")
	if len(parts) != 3 {
		return Edge{}, fmt.Errorf("--edge %q: want NAME=LISTEN=UPSTREAM, such as %s", v, edgeExample)
	}
	e := Edge{Name: parts[0], Listen: parts[1], Upstream: parts[2]}
	return e, e.validate()
}

// validate checks the parts of one edge.
func (e Edge) validate() error {
	for _, p := range [...]struct{ what, v string }{{"NAME", e.Name}, {"LISTEN", e.Listen}, {"UPSTREAM", e.Upstream}} {
		if p.v == "" {
			return fmt.Errorf("--edge %q: empty %s: want NAME=LISTEN=UPSTREAM, such as %s", e, p.what, edgeExample)
		}
	}
	if !validName(e.Name) {
		return fmt.Errorf("--edge %q: name %q: want letters, digits and . _ - > only, such as orders->payment-0", e, e.Name)
	}
	if !validAddr(e.Listen, false) {
		return fmt.Errorf("--edge %q: LISTEN %q: want HOST:PORT with PORT 0-65535, such as 127.0.0.1:15001", e, e.Listen)
	}
	if !validAddr(e.Upstream, true) {
		return fmt.Errorf("--edge %q: UPSTREAM %q: want HOST:PORT with a HOST and PORT 1-65535, such as 10.96.0.12:8080", e, e.Upstream)
	}
	return nil
}

// validName: an edge name is a path segment of the admin API and a label
// value, so it is kept to a safe alphabet.
func validName(s string) bool {
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			r == '.' || r == '_' || r == '-' || r == '>'
		if !ok {
			return false
		}
	}
	return s != ""
}

// validAddr: HOST:PORT with a numeric port (remote: a host and a port > 0).
func validAddr(s string, remote bool) bool {
	host, port, err := net.SplitHostPort(s)
	if err != nil || strings.ContainsAny(host, " /") {
		return false
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return false
	}
	return !remote || (host != "" && n > 0)
}

// EdgeURL is the base URL of edge name on the admin server at admin (such
// as "http://10.1.2.3:9901"): the URL of the proxy.Remote that drives it.
func EdgeURL(admin, name string) string {
	return strings.TrimSuffix(admin, "/") + "/edges/" + url.PathEscape(name)
}

// Config is what Run needs.
type Config struct {
	Admin       string        // admin server's HOST:PORT (port 0: any)
	Edges       []Edge        // one proxy each; at least one, names and listen addresses distinct
	Seed        int64         // mixed with a hash of each edge's name: that edge's proxy.WithSeed
	DialTimeout time.Duration // proxy.WithDialTimeout; 0 means proxy.DefaultDialTimeout
	// Token guards /edges…; empty serves them to anyone (--insecure-no-token).
	Token  string
	Stdout io.Writer // receives exactly one line: "listening ADDR"
	Stderr io.Writer // logs
}

// validate checks the whole configuration before anything is bound.
func (c Config) validate() error {
	if c.Admin == "" {
		return errors.New("--admin is required, such as 0.0.0.0:9901")
	}
	if !validAddr(c.Admin, false) {
		return fmt.Errorf("--admin %q: want HOST:PORT with PORT 0-65535, such as 0.0.0.0:9901", c.Admin)
	}
	if len(c.Edges) == 0 {
		return fmt.Errorf("at least one --edge NAME=LISTEN=UPSTREAM is required, such as %s", edgeExample)
	}
	if c.DialTimeout < 0 {
		return fmt.Errorf("--dial-timeout %s: must be positive", c.DialTimeout)
	}
	names := map[string]bool{}
	listens := map[string]string{} // fixed-port listen address -> edge
	for _, e := range c.Edges {
		if err := e.validate(); err != nil {
			return err
		}
		if names[e.Name] {
			return fmt.Errorf("--edge %q: edge name %q given twice", e, e.Name)
		}
		names[e.Name] = true
		if _, port, _ := net.SplitHostPort(e.Listen); port == "0" {
			continue // any free port: cannot clash
		}
		if e.Listen == c.Admin {
			return fmt.Errorf("--edge %q: LISTEN %s is also --admin", e, e.Listen)
		}
		if other, ok := listens[e.Listen]; ok {
			return fmt.Errorf("--edge %q: LISTEN %s is also edge %q's", e, e.Listen, other)
		}
		listens[e.Listen] = e.Name
	}
	return nil
}

// edgeSeed derives an edge's seed from --seed and its name, so that an
// edge's random draws do not depend on the order or number of --edge flags.
func edgeSeed(seed int64, name string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(name))
	return seed ^ int64(h.Sum64())
}

// Run binds the admin server and every edge's proxy, prints "listening
// ADDR" and serves until ctx is done; then it closes the admin server and
// the proxies (waiting for their goroutines) and returns nil. A bad
// configuration is reported before anything is bound.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.validate(); err != nil {
		return fmt.Errorf("proxy: %w", err)
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = proxy.DefaultDialTimeout
	}
	if cfg.Stdout == nil {
		cfg.Stdout = io.Discard
	}
	if cfg.Stderr == nil {
		cfg.Stderr = io.Discard
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.Admin)
	if err != nil {
		return fmt.Errorf("proxy: --admin: %w", err)
	}
	reg := prometheus.NewRegistry()
	m := proxy.NewMetrics(reg)
	proxies := make([]*proxy.Proxy, 0, len(cfg.Edges))
	closeProxies := func() {
		for _, p := range proxies {
			_ = p.Close()
		}
	}
	for _, e := range cfg.Edges {
		p, err := proxy.Listen(ctx, e.Listen, e.Upstream, proxy.WithName(e.Name),
			proxy.WithSeed(edgeSeed(cfg.Seed, e.Name)), proxy.WithMetrics(m), proxy.WithDialTimeout(cfg.DialTimeout))
		if err != nil {
			_ = ln.Close()
			closeProxies()
			return fmt.Errorf("proxy: --edge %q: %w", e, err)
		}
		proxies = append(proxies, p)
	}

	var ready atomic.Bool
	srv := &http.Server{
		Handler:           adminHandler(proxies, cfg.Token, reg, &ready),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(cfg.Stderr, "proxy: admin: ", 0),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	ready.Store(true)
	for _, p := range proxies {
		fmt.Fprintf(cfg.Stderr, "proxy: edge %s: %s -> %s\n", p.Name(), p.Addr(), p.Upstream())
	}
	fmt.Fprintf(cfg.Stdout, "listening %s\n", ln.Addr().String())

	var runErr error
	select {
	case err := <-serveErr:
		runErr = fmt.Errorf("proxy: admin server: %w", err)
	case <-ctx.Done():
	}
	ready.Store(false)
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
	}
	if runErr == nil {
		<-serveErr
	}
	closeProxies()
	fmt.Fprintln(cfg.Stderr, "proxy: stopped")
	return runErr
}

// adminHandler routes the admin server (see the package comment).
func adminHandler(proxies []*proxy.Proxy, token string, reg *prometheus.Registry, ready *atomic.Bool) http.Handler {
	byName := make(map[string]http.Handler, len(proxies))
	for _, p := range proxies {
		byName[p.Name()] = proxy.AdminHandler(p, token)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !ready.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ready\n")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("GET /edges", authorized(token, func(w http.ResponseWriter, _ *http.Request) {
		out := make([]Edge, 0, len(proxies))
		for _, p := range proxies {
			out = append(out, Edge{Name: p.Name(), Listen: p.Addr(), Upstream: p.Upstream()})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	}))
	// The wildcard's value is unescaped: orders->payment-0 and
	// orders-%3Epayment-0 name the same edge.
	mux.Handle("/edges/{name}/{rest...}", authorized(token, func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		h, ok := byName[name]
		if !ok {
			http.Error(w, fmt.Sprintf("unknown edge %q", name), http.StatusNotFound)
			return
		}
		// Hand the edge's handler the rest of the path, as http.StripPrefix would.
		r2 := new(http.Request)
		*r2 = *r
		u := *r.URL
		u.Path, u.RawPath = "/"+r.PathValue("rest"), ""
		r2.URL = &u
		h.ServeHTTP(w, r2)
	}))
	return mux
}

// authorized requires "Authorization: Bearer TOKEN" when token is not empty.
func authorized(token string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token != "" {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
		}
		h(w, r)
	})
}

// NewCommand returns the `proxy` command (see the package comment). getenv
// reads the environment (GAMEDAY_ADMIN_TOKEN). It stops on SIGTERM or
// SIGINT, or when the command's context is done.
func NewCommand(stdout, stderr io.Writer, getenv func(string) string) *cobra.Command {
	var (
		admin       string
		edges       []string
		seed        int64
		dialTimeout time.Duration
		insecure    bool
	)
	cmd := &cobra.Command{
		Use:   "proxy --admin ADDR --edge NAME=LISTEN=UPSTREAM [--edge ...] [flags]",
		Short: "Run a caller's fault proxies (the sidecar of its pod)",
		Long: `Run one fault proxy per --edge (NAME=LISTEN=UPSTREAM, such as
` + edgeExample + `) and their admin API on --admin, then print
"listening ADDR" on stdout once everything is bound. Admin routes: GET /edges,
/edges/{NAME}/toxics (the toxics of that edge's proxy), both requiring
"Authorization: Bearer $` + AdminTokenEnv + `"; /metrics, /healthz and /readyz without
it. $` + AdminTokenEnv + ` is required unless --insecure-no-token is given.
SIGTERM closes the admin server and every proxy, then exits 0.`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := Config{
				Admin: admin, Seed: seed, DialTimeout: dialTimeout, Token: getenv(AdminTokenEnv),
				Stdout: stdout, Stderr: stderr,
			}
			if cmd.Flags().Changed("dial-timeout") && dialTimeout <= 0 {
				return fmt.Errorf("proxy: --dial-timeout %s: must be positive", dialTimeout)
			}
			for _, v := range edges {
				e, err := ParseEdge(v)
				if err != nil {
					return fmt.Errorf("proxy: %w", err)
				}
				cfg.Edges = append(cfg.Edges, e)
			}
			if err := cfg.validate(); err != nil {
				return fmt.Errorf("proxy: %w", err)
			}
			if cfg.Token == "" {
				if !insecure {
					return fmt.Errorf("proxy: $%s is empty: set the admin token, or pass --insecure-no-token", AdminTokenEnv)
				}
				fmt.Fprintf(stderr, "proxy: --insecure-no-token: $%s is empty, the admin API accepts requests without a token\n", AdminTokenEnv)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			return Run(ctx, cfg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&admin, "admin", "", "address of the admin API, /metrics, /healthz and /readyz, such as 0.0.0.0:9901 (port 0: any free port)")
	f.StringArrayVar(&edges, "edge", nil, "one proxied call edge, NAME=LISTEN=UPSTREAM, such as "+edgeExample+" (repeatable)")
	f.Int64Var(&seed, "seed", 1, "seed of the proxies' random sources (mixed with a hash of each edge's name)")
	f.DurationVar(&dialTimeout, "dial-timeout", proxy.DefaultDialTimeout, "bound on each dial to an upstream")
	f.BoolVar(&insecure, "insecure-no-token", false, "serve the admin API without a token when $"+AdminTokenEnv+" is empty")
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	return cmd
}
