package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/gameday/gameday/internal/lib/errext"
	"github.com/gameday/gameday/loadgen"
)

type loadFlags struct {
	rate        float64
	stages      string
	vus         int
	duration    time.Duration
	connections int
	timeout     time.Duration
	headers     []string
	body        string
	method      string
	seed        int64
	hlog        string
	output      string
	mixFile     string
	think       time.Duration
	maxInFlight int
	h2c         bool
	interval    time.Duration
	quiet       bool
}

// mixFile is the --mix file: the same request syntax as an experiment's load.mix.
type mixFile struct {
	BaseURL string `yaml:"baseURL"`
	Mix     []struct {
		Name    string            `yaml:"name"`
		Weight  int               `yaml:"weight"`
		Request string            `yaml:"request"` // "METHOD URL"
		Method  string            `yaml:"method"`
		URL     string            `yaml:"url"`
		Headers map[string]string `yaml:"headers"`
		Body    string            `yaml:"body"`
	} `yaml:"mix"`
}

func newLoadCommand(gs *GlobalState) *cobra.Command {
	f := &loadFlags{}
	cmd := &cobra.Command{
		Use:   "load [flags] URL",
		Short: "Drive HTTP load at a URL (open or closed model) and print latency percentiles",
		Long: `Drive HTTP load and print what the client saw.

Open model (default): --rate arrivals per second for --duration, or --stages
"10s:100,30s:500" (the first stage holds its rate, each later stage ramps
linearly to its own). Every request starts at its scheduled time and its
latency is measured from that time (corrected for coordinated omission).
Closed model: --vus N virtual users, each looping with --think between
requests; with --stages too, the stages' values are virtual users.

URL and --body are templates: {{seq}}, {{uuid}}, {{randInt 1 100}},
{{pick red green blue}}. --mix FILE gives a weighted request mix instead:

  baseURL: http://127.0.0.1:8080
  mix:
    - {name: browse, weight: 7, request: GET /api/products}
    - {name: buy, weight: 3, request: POST /api/checkout, body: '{"n":{{seq}}}',
       headers: {Content-Type: application/json}}
    - {name: item, request: "GET /api/products/{{randInt 1 500}}"}   # quote templates

The run stops by itself; Ctrl-C stops it early and still prints the summary
(requests it cuts short are counted as cancelled, not as errors). The JSON
summary (--output json) is documented in docs/performance.md.`,
		Example: `  gameday load --rate 1000 --duration 30s http://127.0.0.1:8080/
  gameday load --vus 50 --duration 10s --output json http://127.0.0.1:8080/
  gameday load --mix mix.yaml --stages 10s:50,60s:200 --hlog latency.hlog`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLoad(cmd, gs, f, args)
		},
	}
	fl := cmd.Flags()
	fl.Float64Var(&f.rate, "rate", 0, "open model: arrivals per second (default 10 unless --vus or --stages)")
	fl.StringVar(&f.stages, "stages", "", `stages "DURATION:VALUE,…" (VALUE: rate, or VUs with --vus)`)
	fl.IntVar(&f.vus, "vus", 0, "closed model: virtual users")
	fl.DurationVar(&f.duration, "duration", 10*time.Second, "run duration (without --stages)")
	fl.IntVar(&f.connections, "connections", 0, "open model: most connections (default 1024)")
	fl.DurationVar(&f.timeout, "timeout", 10*time.Second, "per-request timeout")
	fl.StringArrayVarP(&f.headers, "header", "H", nil, `request header "Name: value" (repeatable)`)
	fl.StringVar(&f.body, "body", "", "request body template")
	fl.StringVarP(&f.method, "method", "X", "", "request method (default GET, or POST with --body)")
	fl.Int64Var(&f.seed, "seed", 1, "seed of the mix and template variables")
	fl.StringVar(&f.hlog, "hlog", "", "write the HdrHistogram interval log to FILE")
	fl.StringVarP(&f.output, "output", "o", "text", "summary format: text or json")
	fl.StringVar(&f.mixFile, "mix", "", "request mix FILE (YAML); a URL argument becomes its base URL")
	fl.DurationVar(&f.think, "think", 0, "closed model: think time between a user's requests")
	fl.IntVar(&f.maxInFlight, "max-in-flight", 0, "open model: drop (and count) arrivals beyond this many in flight (default: no cap)")
	fl.BoolVar(&f.h2c, "h2c", false, "HTTP/2 without TLS (prior knowledge)")
	fl.DurationVar(&f.interval, "interval", time.Second, "reporting interval")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no live progress")
	return cmd
}

func loadConfig(gs *GlobalState, f *loadFlags, args []string) (loadgen.Config, error) {
	cfg := loadgen.Config{
		Connections: f.connections, Timeout: f.timeout, Seed: f.seed, Interval: f.interval,
		H2C: f.h2c, ThinkTime: f.think, MaxInFlight: f.maxInFlight,
	}
	if f.output != "text" && f.output != "json" {
		return cfg, fmt.Errorf("--output %q: want text or json", f.output)
	}
	closed := f.vus > 0
	if closed && f.rate > 0 {
		return cfg, errors.New("--rate (open model) and --vus (closed model) exclude each other")
	}
	if closed {
		cfg.Model = loadgen.ModelClosed
	} else {
		cfg.Model = loadgen.ModelOpen
	}
	switch {
	case f.stages != "":
		st, err := parseStages(f.stages, closed)
		if err != nil {
			return cfg, err
		}
		cfg.Stages = st
	case closed:
		cfg.Stages = []loadgen.Stage{{Duration: f.duration, VUs: f.vus}}
	default:
		rate := f.rate
		if rate == 0 {
			rate = 10
		}
		cfg.Stages = []loadgen.Stage{{Duration: f.duration, Rate: rate}}
	}
	hdrs := map[string]string{}
	for _, h := range f.headers {
		k, v, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(k) == "" {
			return cfg, fmt.Errorf("-H %q: want \"Name: value\"", h)
		}
		hdrs[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	if f.mixFile != "" {
		wd, err := gs.Getwd()
		if err != nil {
			return cfg, err
		}
		path := f.mixFile
		if !strings.HasPrefix(path, "/") {
			path = wd + "/" + path
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("--mix: %w", err)
		}
		var mf mixFile
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&mf); err != nil {
			return cfg, fmt.Errorf("--mix %s: %w", f.mixFile, err)
		}
		cfg.BaseURL = mf.BaseURL
		if len(args) == 1 {
			cfg.BaseURL = args[0]
		}
		for i, m := range mf.Mix {
			r := loadgen.Request{Name: m.Name, Weight: m.Weight, Method: m.Method, URL: m.URL, Headers: map[string]string{}, Body: m.Body}
			if m.Request != "" {
				meth, u, ok := strings.Cut(strings.TrimSpace(m.Request), " ")
				if !ok {
					return cfg, fmt.Errorf("--mix %s: mix[%d].request %q: want \"METHOD URL\"", f.mixFile, i, m.Request)
				}
				r.Method, r.URL = meth, strings.TrimSpace(u)
			}
			for k, v := range hdrs {
				r.Headers[k] = v
			}
			for k, v := range m.Headers {
				r.Headers[k] = v
			}
			cfg.Mix = append(cfg.Mix, r)
		}
		return cfg, nil
	}
	if len(args) != 1 {
		return cfg, errors.New("a URL (or --mix FILE) is required")
	}
	method := f.method
	if method == "" {
		method = "GET"
		if f.body != "" {
			method = "POST"
		}
	}
	cfg.Mix = []loadgen.Request{{Name: "default", Weight: 1, Method: method, URL: args[0], Headers: hdrs, Body: f.body}}
	return cfg, nil
}

// parseStages reads "10s:100,30s:500".
func parseStages(s string, closed bool) ([]loadgen.Stage, error) {
	var out []loadgen.Stage
	for _, part := range strings.Split(s, ",") {
		d, v, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok {
			return nil, fmt.Errorf("--stages %q: want DURATION:VALUE,…", s)
		}
		dur, err := time.ParseDuration(d)
		if err != nil {
			return nil, fmt.Errorf("--stages %q: %w", s, err)
		}
		st := loadgen.Stage{Duration: dur}
		if closed {
			st.VUs, err = strconv.Atoi(v)
		} else {
			st.Rate, err = strconv.ParseFloat(v, 64)
		}
		if err != nil {
			return nil, fmt.Errorf("--stages %q: value %q: %w", s, v, err)
		}
		out = append(out, st)
	}
	return out, nil
}

func runLoad(cmd *cobra.Command, gs *GlobalState, f *loadFlags, args []string) error {
	cfg, err := loadConfig(gs, f, args)
	if err != nil {
		return errext.WithExitCode(fmt.Errorf("load: %w", err), errext.Invalid)
	}
	if f.hlog != "" {
		path := f.hlog
		if !strings.HasPrefix(path, "/") {
			wd, err := gs.Getwd()
			if err != nil {
				return err
			}
			path = wd + "/" + path
		}
		hf, err := os.Create(path)
		if err != nil {
			return errext.WithExitCode(fmt.Errorf("load: --hlog: %w", err), errext.Invalid)
		}
		defer hf.Close()
		cfg.HlogWriter = hf
	}
	var prog *loadgen.Progress
	if !f.quiet {
		if f.output == "json" {
			prog = loadgen.NewProgress(gs.Stderr, false, cfg.TotalDuration())
		} else {
			prog = loadgen.NewProgress(gs.Stdout, gs.StdoutIsTTY, cfg.TotalDuration())
		}
		cfg.OnInterval = prog.Update
	}
	gen, err := loadgen.New(cfg, nil)
	if err != nil {
		if prog != nil {
			prog.Close()
		}
		return errext.WithExitCode(fmt.Errorf("load: %w", err), errext.Invalid)
	}

	ctx, cancel := context.WithCancel(cmd.Context())
	defer cancel()
	sig := make(chan os.Signal, 1)
	gs.Signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer gs.Signal.Stop(sig)
	interrupted := make(chan struct{})
	go func() {
		select {
		case <-sig:
			close(interrupted)
			cancel()
		case <-ctx.Done():
		}
	}()

	res, runErr := gen.Run(ctx)
	cancel()
	if prog != nil {
		prog.Close()
	}
	if res != nil {
		var werr error
		if f.output == "json" {
			werr = res.WriteJSON(gs.Stdout)
		} else {
			fmt.Fprintln(gs.Stdout)
			werr = res.WriteText(gs.Stdout)
		}
		if werr != nil && runErr == nil {
			runErr = werr
		}
	}
	if runErr != nil {
		return fmt.Errorf("load: %w", runErr)
	}
	select {
	case <-interrupted:
		return errext.WithExitCode(errors.New("load: interrupted"), errext.Interrupted)
	default:
	}
	return nil
}
