package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/internal/errext"
	"github.com/gameday/gameday/platform/local"
	"github.com/gameday/gameday/sut"
	"github.com/gameday/gameday/sut/policy"
	"github.com/gameday/gameday/sut/server"
)

// newSUTCommand groups the shop's commands: `serve` (one instance, the
// start-up contract the runtimes use) and `up` (the whole shop, locally).
func newSUTCommand(gs *GlobalState) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sut",
		Short: "Run the bundled shop (the system under test)",
	}
	getenv := func(k string) string { return gs.Env[k] }
	cmd.AddCommand(server.NewServeCommand(gs.Stdout, gs.Stderr, getenv), newSUTUpCommand(gs))
	return cmd
}

type sutUpOptions struct {
	variant      string
	replicas     []string
	runDir       string
	restartDelay time.Duration
	noRestart    bool
	faults       []string
	seed         int64
}

func newSUTUpCommand(gs *GlobalState) *cobra.Command {
	o := &sutUpOptions{}
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run the whole shop locally until Ctrl-C; print the gateway URL and the metrics targets",
		Long: `Runs every instance of every shop service as a child process on 127.0.0.1,
every call edge through gameday's fault proxy, until Ctrl-C or SIGTERM (a
second Ctrl-C skips the graceful drain). Point your own tools (k6, vegeta,
curl) at the gateway URL it prints.

--fault injects a fault for the whole session (reverted on exit), written as
TYPE:SERVICE[:PARAM=VALUE,…], for example latency:payment:delay=50ms or
pause:payment; see docs/faults.md.`,
		Example: `  gameday sut up --variant resilient --replicas payment=2
  gameday sut up --variant naive --fault latency:payment:delay=200ms`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runSUTUp(cmd.Context(), gs, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.variant, "variant", "resilient", "shop variant: "+strings.Join(policy.Names(), ", "))
	f.StringArrayVar(&o.replicas, "replicas", nil, "replica count of a service, SERVICE=N (repeatable)")
	f.StringVar(&o.runDir, "run-dir", "", "directory for logs and data (default runs/sut-up-TIMESTAMP)")
	f.DurationVar(&o.restartDelay, "restart-delay", time.Second, "restart an instance that exits this long after (doubling in a row, up to 30s)")
	f.BoolVar(&o.noRestart, "no-restart", false, "leave instances that exit dead")
	f.StringArrayVar(&o.faults, "fault", nil, "inject a fault until exit, TYPE:SERVICE[:PARAM=VALUE,...] (repeatable)")
	f.Int64Var(&o.seed, "seed", 1, "seed of random picks and probabilistic faults")
	return cmd
}

// parseFaultFlag reads TYPE:SERVICE[:K=V,…].
func parseFaultFlag(s string, i int, seed int64) (faults.Spec, error) {
	parts := strings.SplitN(s, ":", 3)
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return faults.Spec{}, fmt.Errorf("--fault %q: want TYPE:SERVICE[:PARAM=VALUE,...]", s)
	}
	spec := faults.Spec{Name: fmt.Sprintf("%s-%d", parts[0], i), Type: parts[0], Target: faults.Target{Service: parts[1]}, Params: map[string]string{}, Seed: seed}
	if len(parts) == 3 && parts[2] != "" {
		for _, kv := range strings.Split(parts[2], ",") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return faults.Spec{}, fmt.Errorf("--fault %q: %q is not PARAM=VALUE", s, kv)
			}
			spec.Params[k] = v
		}
	}
	ti, ok := faults.Lookup(spec.Type)
	if !ok {
		var names []string
		for _, t := range faults.Types() {
			names = append(names, t.Name)
		}
		return faults.Spec{}, fmt.Errorf("--fault %q: unknown type %q (known: %s)", s, spec.Type, strings.Join(names, ", "))
	}
	if err := ti.Validate(spec.Params); err != nil {
		return faults.Spec{}, fmt.Errorf("--fault %q: %w", s, err)
	}
	return spec, nil
}

// shopConfig turns a variant into the local runtime's topology.
func shopConfig(v *policy.Variant) ([]local.Service, []faults.Edge) {
	var svcs []local.Service
	for _, s := range sut.Services() {
		svcs = append(svcs, local.Service{Name: s, Replicas: max(1, v.Replicas(s))})
	}
	var edges []faults.Edge
	for _, e := range sut.Edges() {
		edges = append(edges, faults.Edge{From: e.From, To: e.To})
	}
	return svcs, edges
}

func runSUTUp(ctx context.Context, gs *GlobalState, o *sutUpOptions) (err error) {
	v, err := policy.Load(o.variant)
	if err != nil {
		return errext.WithExitCode(fmt.Errorf("variant: %w", err), errext.Invalid)
	}
	if len(o.replicas) > 0 {
		reps := map[string]int{}
		for _, r := range o.replicas {
			k, n, ok := strings.Cut(r, "=")
			c, cerr := strconv.Atoi(n)
			if !ok || cerr != nil || c < 1 || !sut.IsService(k) {
				return errext.Errorf(errext.Invalid, "--replicas %q: want SERVICE=N with a shop service (%s) and N ≥ 1", r, strings.Join(sut.Services(), ", "))
			}
			reps[k] = c
		}
		if v, err = v.Apply(reps, nil); err != nil {
			return errext.WithExitCode(fmt.Errorf("replicas: %w", err), errext.Invalid)
		}
	}
	var specs []faults.Spec
	for i, f := range o.faults {
		s, err := parseFaultFlag(f, i, o.seed)
		if err != nil {
			return errext.WithExitCode(err, errext.Invalid)
		}
		specs = append(specs, s)
	}
	runDir := o.runDir
	if runDir == "" {
		wd, err := gs.Getwd()
		if err != nil {
			return errext.WithExitCode(err, errext.Platform)
		}
		runDir = filepath.Join(wd, "runs", "sut-up-"+gs.Now().UTC().Format("20060102-150405"))
	}
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return errext.WithExitCode(err, errext.Platform)
	}
	pol, err := v.Marshal()
	if err != nil {
		return errext.WithExitCode(err, errext.Platform)
	}
	policyFile := filepath.Join(runDir, "policy.yaml")
	if err := os.WriteFile(policyFile, pol, 0o644); err != nil {
		return errext.WithExitCode(err, errext.Platform)
	}
	j, err := faults.OpenJournal(gs.StateDir())
	if err != nil {
		return errext.WithExitCode(err, errext.Platform)
	}
	exe, err := gs.Exe()
	if err != nil {
		return errext.WithExitCode(fmt.Errorf("find own binary: %w", err), errext.Platform)
	}

	// First SIGINT/SIGTERM: stop (drain, revert); second: force.
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	closeCtx, force := context.WithCancel(context.WithoutCancel(ctx))
	defer force()
	sigs := make(chan os.Signal, 2)
	gs.Signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer gs.Signal.Stop(sigs)
	sigDone := make(chan struct{})
	defer close(sigDone)
	go func() {
		n := 0
		for {
			select {
			case <-sigs:
				n++
				if n == 1 {
					stop()
				} else {
					force()
				}
			case <-sigDone:
				return
			}
		}
	}()

	svcs, edges := shopConfig(v)
	cfg := local.Config{
		Command:  []string{exe, "sut"},
		Services: svcs,
		Edges:    edges,
		Gateway:  sut.Gateway,
		Policy:   policyFile,
		RunDir:   runDir,
		Journal:  j,
		Restart:  local.RestartConfig{Never: o.noRestart, Delay: o.restartDelay},
		Seed:     o.seed,
	}
	fmt.Fprintf(gs.Stderr, "starting the shop (variant %s) in %s …\n", v.Name, runDir)
	d, err := local.Start(runCtx, cfg)
	if err != nil {
		if runCtx.Err() != nil {
			return errext.WithExitCode(errors.New("interrupted while starting; everything started was stopped"), errext.Interrupted)
		}
		return errext.WithExitCode(err, errext.Platform)
	}
	var x *faults.Execution
	defer func() {
		// Also on a panic: revert the faults and stop the children, then
		// let the panic continue.
		r := recover()
		var errs []error
		if x != nil {
			events, xerr := x.Abort()
			errs = append(errs, xerr)
			for _, e := range events {
				if e.Action == faults.Revert {
					fmt.Fprintf(gs.Stderr, "reverted %s (%s)\n", e.Fault, e.Type)
				}
			}
		}
		errs = append(errs, d.Close(closeCtx))
		if cerr := errors.Join(errs...); cerr != nil && err == nil {
			err = errext.WithExitCode(cerr, errext.Platform)
		}
		fmt.Fprintf(gs.Stderr, "stopped %d instances; logs in %s\n", len(d.Status()), filepath.Join(runDir, "logs"))
		if r != nil {
			panic(r)
		}
	}()
	printUp(gs, d)
	if len(specs) > 0 {
		tl := &faults.Timeline{Runtime: d, Journal: j, RunID: d.RunID()}
		for _, s := range specs {
			tl.Faults = append(tl.Faults, faults.Planned{Spec: s, Duration: 100 * 365 * 24 * time.Hour})
		}
		tl.OnEvent = func(e faults.Event) {
			if e.Action == faults.Inject {
				if e.Error != "" {
					fmt.Fprintf(gs.Stderr, "fault %s: %s\n", e.Fault, e.Error)
				} else {
					fmt.Fprintf(gs.Stdout, "fault    %s injected\n", e.Fault)
				}
			}
		}
		if x, err = tl.Start(runCtx, time.Now()); err != nil {
			return errext.WithExitCode(err, errext.Invalid)
		}
	}
	fmt.Fprintln(gs.Stdout, "ready; Ctrl-C to stop")
	<-runCtx.Done()
	return nil
}

func printUp(gs *GlobalState, d *local.Deployment) {
	w := gs.Stdout
	fmt.Fprintf(w, "gateway  %s\n", d.GatewayURL())
	for _, u := range d.GatewayURLs()[1:] {
		fmt.Fprintf(w, "gateway  %s\n", u)
	}
	fmt.Fprintf(w, "run-id   %s\n", d.RunID())
	fmt.Fprintf(w, "admin    GAMEDAY_ADMIN_TOKEN=%s\n", d.AdminToken())
	for _, t := range d.Targets() {
		fmt.Fprintf(w, "metrics  %-12s %-13s %s\n", t.Job, t.Instance, t.URL)
	}
}
