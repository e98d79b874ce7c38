package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/gameday/gameday/experiments/runner"
	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/internal/lib/errext"
	"github.com/gameday/gameday/journal"
	"github.com/gameday/gameday/platform"
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
	runtime string
	platformFlags
	variant      string
	replicas     []string
	runDir       string
	restartDelay time.Duration
	noRestart    bool
	faults       []string
	seed         int64
}

// shopEnv is what of the harness's environment the shop's instances get
// where they do not inherit it (containers): the shop's own settings.
func shopEnv(gs *GlobalState) []string {
	if v, ok := gs.Env[server.HTTPEnv]; ok {
		return []string{server.HTTPEnv + "=" + v}
	}
	return nil
}

func newSUTUpCommand(gs *GlobalState) *cobra.Command {
	o := &sutUpOptions{}
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run the whole shop until Ctrl-C; print the gateway URL and the metrics targets",
		Long: `Runs every instance of every shop service, every call edge through
gameday's fault proxy, until Ctrl-C or SIGTERM (a second Ctrl-C skips the
graceful drain). Point your own tools (k6, vegeta, curl) at the gateway URL
it prints. It prints its run directory first (runs/sut-up-TIMESTAMP under
the working directory unless --run-dir says otherwise: the policy, each
instance's log and data), and the file there that holds the token of the
shop's /admin API (mode 0600, removed on exit); the token itself is never
printed.

--runtime local (the default) runs each instance as a child process on
127.0.0.1; --runtime docker runs each as a container of the image
gameday/sut:dev (build it with bash deploy/docker/build-images.sh) on a
network of its own, with the gateway and metrics published on 127.0.0.1
(see docs/runtimes.md).

--fault injects a fault for the whole session (reverted on exit), written as
TYPE:SERVICE[:PARAM=VALUE,…], for example latency:payment:delay=50ms or
pause:payment; see docs/faults.md.`,
		Example: `  gameday sut up --variant resilient --replicas payment=2
  gameday sut up --variant naive --fault latency:payment:delay=200ms
  gameday sut up --runtime docker --variant resilient --fault pause:payment`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runSUTUp(cmd.Context(), gs, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.runtime, "runtime", platform.Default, "where the shop runs: "+strings.Join(platform.Names(), ", ")+" (see docs/runtimes.md)")
	o.platformFlags.register(f)
	f.StringVar(&o.variant, "variant", "resilient", "shop variant: "+strings.Join(policy.Names(), ", "))
	f.StringArrayVar(&o.replicas, "replicas", nil, "replica count of a service, SERVICE=N (repeatable)")
	f.StringVar(&o.runDir, "run-dir", "", "directory for the policy, logs, data and admin token (default runs/sut-up-TIMESTAMP under the working directory)")
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

func runSUTUp(ctx context.Context, gs *GlobalState, o *sutUpOptions) (err error) {
	rt, ok := platform.Lookup(o.runtime)
	if !ok {
		return errext.Errorf(errext.Invalid, "--runtime %q: want one of %s", o.runtime, strings.Join(platform.Names(), ", "))
	}
	if err := o.platformFlags.check(o.runtime); err != nil {
		return err
	}
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
		runDir = filepath.Join("runs", "sut-up-"+gs.Now().UTC().Format("20060102-150405"))
	}
	if !filepath.IsAbs(runDir) {
		wd, err := gs.Getwd()
		if err != nil {
			return errext.WithExitCode(fmt.Errorf("run directory: %w", err), errext.Platform)
		}
		runDir = filepath.Join(wd, runDir)
	}
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return errext.WithExitCode(fmt.Errorf("run directory: %w", err), errext.Platform)
	}
	// Say where the files go before anything is written there.
	fmt.Fprintf(gs.Stdout, "run-dir  %s\n", runDir)
	pol, err := v.Marshal()
	if err != nil {
		return errext.WithExitCode(err, errext.Platform)
	}
	policyFile := filepath.Join(runDir, "policy.yaml")
	if err := os.WriteFile(policyFile, pol, 0o644); err != nil {
		return errext.WithExitCode(err, errext.Platform)
	}
	j, err := journal.Open(gs.StateDir())
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

	fmt.Fprintf(gs.Stderr, "starting the shop (variant %s, runtime %s): its policy, logs and data go to %s …\n", v.Name, o.runtime, runDir)
	spec := runner.ShopSpec(v)
	spec.Policy, spec.RunDir, spec.Journal, spec.Seed = policyFile, runDir, j, o.seed
	spec.Restart = platform.RestartConfig{Never: o.noRestart, Delay: o.restartDelay}
	spec.Settings = platform.Settings{Command: []string{exe, "sut"}, Env: shopEnv(gs)}
	o.platformFlags.apply(gs, &spec.Settings)
	d, err := rt.Deploy(runCtx, spec)
	if err != nil {
		if runCtx.Err() != nil {
			return errext.WithExitCode(errors.New("interrupted while starting; everything started was stopped"), errext.Interrupted)
		}
		return errext.WithExitCode(err, errext.Platform)
	}
	tokenFile := filepath.Join(runDir, adminTokenFile)
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
		// The token guards nothing once the shop is down.
		if rerr := os.Remove(tokenFile); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove the admin token: %w", rerr))
		}
		if cerr := errors.Join(errs...); cerr != nil && err == nil {
			err = errext.WithExitCode(cerr, errext.Platform)
		}
		fmt.Fprintf(gs.Stderr, "stopped %d instances; logs in %s\n", spec.Instances(), filepath.Join(runDir, "logs"))
		if r != nil {
			panic(r)
		}
	}()
	if err := writeSecret(tokenFile, d.AdminToken()); err != nil {
		return errext.WithExitCode(err, errext.Platform)
	}
	printUp(gs, d, tokenFile)
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

// imageDefaults lists the runtimes that run an image, each with its
// default image.
func imageDefaults() string {
	var out []string
	for _, n := range platform.Names() {
		rt, _ := platform.Lookup(n)
		if ir, ok := rt.(platform.ImageRuntime); ok {
			out = append(out, n+": default "+ir.DefaultImage())
		}
	}
	if len(out) == 0 {
		return "none in this build"
	}
	return strings.Join(out, "; ")
}

// adminTokenFile holds the shop's admin token in the run directory, mode
// 0600, while `sut up` runs: the token is never printed.
const adminTokenFile = "admin-token"

// writeSecret writes s to path, readable by its owner only (also when the
// file was there before, with a wider mode).
func writeSecret(path, s string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write the admin token: %w", err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("write the admin token: %w", err)
	}
	if _, err := f.WriteString(s + "\n"); err != nil {
		f.Close()
		return fmt.Errorf("write the admin token: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write the admin token: %w", err)
	}
	return nil
}

func printUp(gs *GlobalState, d platform.Deployment, tokenFile string) {
	w := gs.Stdout
	for _, u := range d.GatewayURLs() {
		fmt.Fprintf(w, "gateway  %s\n", u)
	}
	fmt.Fprintf(w, "run-id   %s\n", d.RunID())
	fmt.Fprintf(w, "admin    %s\n", tokenFile)
	for _, t := range d.Targets() {
		fmt.Fprintf(w, "metrics  %-12s %-13s %s\n", t.Job, t.Instance, t.URL)
	}
}
