// Package server runs one service of the shop: `sut serve --service NAME`.
// It implements the start-up contract of docs/architecture.md: bind (port 0
// allowed), print `listening ADDR` once, serve the service's API, /metrics,
// /healthz, /readyz and the token-guarded /admin API, and drain on SIGTERM.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/gameday/gameday/sut"
	"github.com/gameday/gameday/sut/policy"
	"github.com/gameday/gameday/sut/store"
)

// HTTPEnv is the environment variable that picks the shop's HTTP path:
// HTTPOwn (the default: its own connection reader and HTTP/1.1 client) or
// HTTPNetHTTP (net/http alone, an ordinary Go service).
const (
	HTTPEnv     = "GAMEDAY_SHOP_HTTP"
	HTTPOwn     = "own"
	HTTPNetHTTP = "net/http"
)

// ParseHTTPPath reads $GAMEDAY_SHOP_HTTP: whether to use net/http alone.
func ParseHTTPPath(v string) (netHTTP bool, err error) {
	switch v {
	case "", HTTPOwn:
		return false, nil
	case HTTPNetHTTP:
		return true, nil
	}
	return false, fmt.Errorf("$%s=%q: want %q (the default) or %q", HTTPEnv, v, HTTPOwn, HTTPNetHTTP)
}

func httpPath(netHTTP bool) string {
	if netHTTP {
		return HTTPNetHTTP
	}
	return HTTPOwn
}

// AdminTokenEnv is the environment variable that holds the admin token.
const AdminTokenEnv = "GAMEDAY_ADMIN_TOKEN"

// Config is everything a service instance needs to run.
type Config struct {
	Service   string              // one of sut.Services()
	Listen    string              // address to bind, e.g. 127.0.0.1:0
	Instance  string              // instance id, for logs (the scrape adds instance itself)
	Variant   *policy.Variant     // the policy in force
	Upstreams map[string][]string // callee -> base URLs of its replicas
	DataDir   string              // where the store lives (stateful services)
	// Replicas is how many instances of the service share DataDir; 0 means
	// the variant's count. More than one makes the store take a file lock
	// per write batch, so that replicas behind one store never race.
	Replicas int
	// AdminToken guards /admin/*; empty disables the admin API.
	AdminToken string
	// DrainTimeout bounds how long SIGTERM waits for in-flight requests.
	DrainTimeout time.Duration
	// Slow is the threshold above which an inbound request is logged as
	// slow (0: DefaultSlow; negative: never).
	Slow time.Duration
	// LogRate is how many lines of one kind (5xx answered, slow request,
	// failed call, timed-out call) are logged per second at most (0:
	// DefaultLogRate); the rest are counted in a "suppressed" line.
	LogRate int
	// NetHTTP serves and calls with net/http alone, instead of the shop's
	// own HTTP path (raw-syscall connection reader, own HTTP/1.1 client):
	// an ordinary Go service, to compare against ($GAMEDAY_SHOP_HTTP).
	NetHTTP bool
	Stdout  io.Writer // receives exactly one line: "listening ADDR"
	Stderr  io.Writer // logs
}

// Run runs the service until ctx is done, then drains in-flight requests and
// returns nil. The store is shared by replicas when more than one instance
// of the service runs (Config.Replicas, else the variant's count).
func Run(ctx context.Context, cfg Config) error {
	if !sut.IsService(cfg.Service) {
		return fmt.Errorf("serve: unknown service %q (known: %s)", cfg.Service, strings.Join(sut.Services(), ", "))
	}
	if cfg.Variant == nil {
		return errors.New("serve: no policy")
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = 10 * time.Second
	}
	if cfg.Stdout == nil {
		cfg.Stdout = io.Discard
	}
	if cfg.Stderr == nil {
		cfg.Stderr = io.Discard
	}
	switch {
	case cfg.Slow == 0:
		cfg.Slow = DefaultSlow
	case cfg.Slow < 0:
		cfg.Slow = time.Duration(math.MaxInt64)
	}
	s, err := newService(cfg)
	if err != nil {
		return err
	}
	defer func() { s.bgCancel(); s.bg.Wait() }()
	defer s.closeEdges()
	if buckets, ok := storeBuckets[cfg.Service]; ok {
		if cfg.DataDir == "" {
			return fmt.Errorf("serve %s: --data DIR is required (the service keeps durable state)", cfg.Service)
		}
		if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
			return fmt.Errorf("serve %s: %w", cfg.Service, err)
		}
		replicas := cfg.Replicas
		if replicas <= 0 {
			replicas = cfg.Variant.Replicas(cfg.Service)
		}
		shared := replicas > 1
		db, err := store.Open(filepath.Join(cfg.DataDir, cfg.Service+".db"), shared, buckets...)
		if err != nil {
			return fmt.Errorf("serve %s: %w", cfg.Service, err)
		}
		defer db.Close()
		s.db = db
		if cfg.Service == sut.Inventory {
			if err := s.seedInventory(ctx); err != nil {
				return fmt.Errorf("serve %s: seed stock: %w", cfg.Service, err)
			}
		}
	}
	s.routes()
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		s.log.run(s.bgCtx)
	}()
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("serve %s: %w", cfg.Service, err)
	}
	// Inbound connections are written with raw system calls (internal/lib/rawio)
	// and read by a goroutine of their own (srvconn_linux.go), unless the
	// service is to be an ordinary net/http one.
	if !cfg.NetHTTP {
		ln = newListener(ln)
	}
	srv := &http.Server{Handler: s.mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	s.ready.Store(true)
	fmt.Fprintf(cfg.Stdout, "listening %s\n", ln.Addr().String())
	s.log.info("serving", "addr", ln.Addr().String(), "variant", cfg.Variant.Name, "policy", cfg.Variant.Hash(), "slow", cfg.Slow, "http", httpPath(cfg.NetHTTP))

	select {
	case err := <-serveErr:
		s.bgCancel()
		s.bg.Wait()
		return fmt.Errorf("serve %s: %w", cfg.Service, err)
	case <-ctx.Done():
	}
	// Drain: not ready any more, finish what is in flight, then stop.
	s.ready.Store(false)
	s.draining.Store(true)
	s.bgCancel()
	dctx, cancel := context.WithTimeout(context.Background(), cfg.DrainTimeout)
	defer cancel()
	err = srv.Shutdown(dctx)
	s.bg.Wait()
	<-serveErr
	s.log.flush(true)
	if err != nil {
		s.log.info("drain incomplete", "error", err.Error())
		return fmt.Errorf("serve %s: drain: %w", cfg.Service, err)
	}
	s.log.info("drained, exiting")
	return nil
}

// ParseUpstream reads one --upstream value: SERVICE=URL[,URL...]. A URL
// without a scheme gets http://.
func ParseUpstream(v string) (string, []string, error) {
	name, list, ok := strings.Cut(v, "=")
	if !ok || name == "" || list == "" {
		return "", nil, fmt.Errorf("--upstream %q: want SERVICE=URL[,URL...]", v)
	}
	if !sut.IsService(name) {
		return "", nil, fmt.Errorf("--upstream %q: unknown service %q", v, name)
	}
	var urls []string
	for _, u := range strings.Split(list, ",") {
		u = strings.TrimRight(strings.TrimSpace(u), "/")
		if u == "" {
			continue
		}
		if !strings.Contains(u, "://") {
			u = "http://" + u
		}
		urls = append(urls, u)
	}
	if len(urls) == 0 {
		return "", nil, fmt.Errorf("--upstream %q: no URL", v)
	}
	return name, urls, nil
}

// NewServeCommand returns the `serve` command. getenv reads the environment
// (GAMEDAY_ADMIN_TOKEN). It stops on SIGTERM or SIGINT, or when the command's
// context is done, after draining.
func NewServeCommand(stdout, stderr io.Writer, getenv func(string) string) *cobra.Command {
	var (
		service, listen, instance, policyFile, variant, dataDir string
		upstreams                                               []string
		replicas                                                int
		drain, slow                                             time.Duration
	)
	cmd := &cobra.Command{
		Use:   "serve --service NAME [flags]",
		Short: "Run one service of the shop",
		Long: `Run one service of the shop (the system under test) and print
"listening ADDR" on stdout once bound. Services: ` + strings.Join(sut.Services(), ", ") + `.
Variants: ` + strings.Join(policy.Names(), ", ") + `. The admin API (/admin/*) requires the
token in $` + AdminTokenEnv + ` (disabled when unset). $` + HTTPEnv + `=` + HTTPNetHTTP + ` serves and calls
with net/http alone instead of the shop's own HTTP path. SIGTERM drains, then exits 0.`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if service == "" {
				return errors.New("serve: --service is required")
			}
			var v *policy.Variant
			var err error
			switch {
			case policyFile != "" && cmd.Flags().Changed("variant"):
				return errors.New("serve: give --policy or --variant, not both")
			case policyFile != "":
				data, rerr := os.ReadFile(policyFile)
				if rerr != nil {
					return fmt.Errorf("serve: %w", rerr)
				}
				v, err = policy.Parse(data)
				if err != nil {
					err = fmt.Errorf("serve: %s: %w", policyFile, err)
				}
			default:
				v, err = policy.Load(variant)
			}
			if err != nil {
				return err
			}
			ups := map[string][]string{}
			for _, u := range upstreams {
				name, urls, err := ParseUpstream(u)
				if err != nil {
					return err
				}
				ups[name] = append(ups[name], urls...)
			}
			if instance == "" {
				instance = service + "-0"
			}
			netHTTP, err := ParseHTTPPath(getenv(HTTPEnv))
			if err != nil {
				return fmt.Errorf("serve: %w", err)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			return Run(ctx, Config{
				Service: service, Listen: listen, Instance: instance, Variant: v, Upstreams: ups,
				DataDir: dataDir, Replicas: replicas, AdminToken: getenv(AdminTokenEnv), DrainTimeout: drain, Slow: slow,
				NetHTTP: netHTTP, Stdout: stdout, Stderr: stderr,
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&service, "service", "", "service to run: "+strings.Join(sut.Services(), ", "))
	f.StringVar(&listen, "listen", "127.0.0.1:0", "address to listen on (port 0: any free port)")
	f.StringVar(&instance, "instance", "", "instance id for logs (default SERVICE-0)")
	f.StringVar(&policyFile, "policy", "", "policy file (YAML, see docs/sut.md)")
	f.StringVar(&variant, "variant", "naive", "embedded variant: "+strings.Join(policy.Names(), ", "))
	f.StringArrayVar(&upstreams, "upstream", nil, "callee addresses, SERVICE=URL[,URL...] (repeatable)")
	f.StringVar(&dataDir, "data", "", "directory of the durable store (required for stateful services)")
	f.IntVar(&replicas, "replicas", 0, "how many instances of this service share --data (default: the policy's replica count)")
	f.DurationVar(&drain, "drain-timeout", 10*time.Second, "how long SIGTERM waits for in-flight requests")
	f.DurationVar(&slow, "slow", DefaultSlow, "log inbound requests slower than this (negative: never)")
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	return cmd
}
