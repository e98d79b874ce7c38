package platform_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/internal/cli"
	"github.com/gameday/gameday/metrics"
	"github.com/gameday/gameday/platform"
	"github.com/gameday/gameday/platform/local"
)

// throwaway is a runtime gameday does not ship, written the way a new
// runtime package is: it registers itself, and from then on validation,
// `gameday run`, `gameday sut up` and the fault catalog know it, with no
// other change anywhere. It runs the shop through the local runtime but
// offers only the process capability (kill, pause), so the fault types it
// supports are kill and pause and nothing else: derived from its
// deployment's methods, never listed.
type throwaway struct{}

func init() { platform.Register(throwaway{}) }

// throwawayKills counts the kills the runtime was asked for.
var throwawayKills atomic.Int32

func (throwaway) Name() string                 { return "throwaway" }
func (throwaway) Summary() string              { return "the local runtime, with process faults only (a test)" }
func (throwaway) Capabilities() faults.Runtime { return (*throwawayDeployment)(nil) }

func (throwaway) Deploy(ctx context.Context, s platform.Spec) (platform.Deployment, error) {
	d, err := local.Runtime{}.Deploy(ctx, s)
	if err != nil {
		return nil, err
	}
	return &throwawayDeployment{d: d.(*local.Deployment)}, nil
}

// throwawayDeployment has the methods of platform.Deployment and of
// faults.ProcessRuntime (kill), not those of pause, the link or the HTTP
// capabilities.
type throwawayDeployment struct{ d *local.Deployment }

var (
	_ platform.Deployment   = (*throwawayDeployment)(nil)
	_ faults.ProcessRuntime = (*throwawayDeployment)(nil)
)

func (t *throwawayDeployment) Name() string                    { return "throwaway" }
func (t *throwawayDeployment) RunID() string                   { return t.d.RunID() }
func (t *throwawayDeployment) AdminToken() string              { return t.d.AdminToken() }
func (t *throwawayDeployment) GatewayURL() string              { return t.d.GatewayURL() }
func (t *throwawayDeployment) GatewayURLs() []string           { return t.d.GatewayURLs() }
func (t *throwawayDeployment) Targets() []metrics.Target       { return t.d.Targets() }
func (t *throwawayDeployment) Close(ctx context.Context) error { return t.d.Close(ctx) }
func (t *throwawayDeployment) Instances(service string) ([]faults.Instance, error) {
	return t.d.Instances(service)
}
func (t *throwawayDeployment) Kill(ctx context.Context, inst faults.Instance, r faults.RestartPolicy) error {
	throwawayKills.Add(1)
	return t.d.Kill(ctx, inst, r)
}
func (t *throwawayDeployment) Restart(ctx context.Context, inst faults.Instance) error {
	return t.d.Restart(ctx, inst)
}

// syncBuffer is an io.Writer that the command and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// gameday runs the CLI in-process in dir, with its own state directory;
// exe is the binary the local runtime starts the shop's instances from.
func gameday(t *testing.T, dir, exe string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut syncBuffer
	gs := &cli.GlobalState{
		Ctx:    context.Background(),
		Stdin:  strings.NewReader(""),
		Stdout: &out, Stderr: &errOut,
		Env:   map[string]string{"GAMEDAY_STATE_DIR": filepath.Join(dir, "state")},
		Getwd: func() (string, error) { return dir, nil },
		Now:   time.Now,
		Exe:   func() (string, error) { return exe, nil },
		Signal: cli.SignalFuncs{
			Notify: func(chan<- os.Signal, ...os.Signal) {},
			Stop:   func(chan<- os.Signal) {},
		},
		Exit: func(code int) { t.Errorf("the command forced an exit with %d", code) },
	}
	code = cli.Execute(gs, args)
	return code, out.String(), errOut.String()
}

// throwawayExperiment is a kill game day on the throwaway runtime; extra
// is added to its faults.
func throwawayExperiment(extra string) string {
	return `apiVersion: gameday/v1
kind: Experiment
metadata: {name: throwaway-kill}
spec:
  runtime: throwaway
  sut: {variant: resilient, replicas: {orders: 2}}
  load:
    stages: [{duration: 24s, rate: 20}]
    timeout: 3s
    mix:
      - {name: browse, weight: 3, request: GET /api/products}
      - {name: checkout, weight: 1, request: POST /api/checkout, body: '{"user":"u{{randInt 1 500}}","items":[{"sku":"A1","qty":1}]}'}
  faults:
    - name: kill-orders
      type: kill
      target: {service: orders, instances: 1}
      at: 6s
      every: 8s
      times: 2
      params: {restart: delay, restartDelay: 1s}
` + extra + `  slos:
    - {name: availability, promql: 'gameday:availability:ratio30s', expect: '>= 0.5', mode: continuous, minSamples: 5}
`
}

func writeExperiment(t *testing.T, dir, yaml string) string {
	t.Helper()
	p := filepath.Join(dir, "throwaway.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// The registry derives what the new runtime supports from its deployment's
// methods: kill, none of the pause, link, HTTP or stop faults.
func TestNewRuntimeSupportsWhatItImplements(t *testing.T) {
	rt, ok := platform.Lookup("throwaway")
	if !ok {
		t.Fatalf("the throwaway runtime is not registered: %v", platform.Names())
	}
	var got []string
	for _, ti := range faults.Types() {
		if platform.Supports(rt, ti) {
			got = append(got, ti.Name)
		}
	}
	if strings.Join(got, ",") != "kill" {
		t.Errorf("throwaway supports %v, want kill alone", got)
	}
	if names := strings.Join(platform.Names(), ","); names != "local,docker,kubernetes,throwaway" {
		t.Errorf("registered %s, want local (the default), docker, kubernetes, throwaway", names)
	}
}

// Validation and the CLI's flags know the new runtime from the registry,
// and a fault type it does not support is refused before anything runs,
// naming the runtimes that do support it.
func TestNewRuntimeIsKnownToValidationAndTheCLI(t *testing.T) {
	dir := t.TempDir()
	ok := writeExperiment(t, dir, throwawayExperiment(""))
	if code, out, errOut := gameday(t, dir, "", "validate", ok); code != 0 {
		t.Fatalf("validate: exit %d\n%s%s", code, out, errOut)
	}
	bad := writeExperiment(t, dir, throwawayExperiment(`    - name: slow-payment
      type: latency
      target: {service: payment}
      at: 2s
      duration: 4s
      params: {delay: 50ms}
`))
	code, out, errOut := gameday(t, dir, "", "validate", bad)
	want := "throwaway.yaml:22:13: spec.faults[1]: a latency fault is not available on the throwaway runtime (available on: local, docker, kubernetes)"
	if code != 2 || !strings.Contains(out+errOut, want) {
		t.Errorf("validate: exit %d, want 2 and %q\n%s%s", code, want, out, errOut)
	}
	// kill is a process fault it implements; pause, of the same class, it
	// does not (it is not a faults.Pauser).
	paused := writeExperiment(t, dir, throwawayExperiment(`    - name: freeze-orders
      type: pause
      target: {service: orders}
      at: 2s
      duration: 4s
`))
	code, out, errOut = gameday(t, dir, "", "validate", paused)
	want = "throwaway.yaml:22:13: spec.faults[1]: a pause fault is not available on the throwaway runtime (available on: local, docker)"
	if code != 2 || !strings.Contains(out+errOut, want) {
		t.Errorf("validate: exit %d, want 2 and %q\n%s%s", code, want, out, errOut)
	}
	_, help, _ := gameday(t, dir, "", "sut", "up", "--help")
	if !strings.Contains(help, "local, docker, kubernetes, throwaway") {
		t.Errorf("sut up --help does not list the throwaway runtime:\n%s", help)
	}
	code, _, errOut = gameday(t, dir, "", "sut", "up", "--runtime", "throwaway", "--image", "x")
	if want := "--image is for runtimes that run an image (docker: default gameday/sut:dev; kubernetes: default gameday/sut:dev); the throwaway runtime runs this binary"; code != 2 || !strings.Contains(errOut, want) {
		t.Errorf("sut up --image on throwaway: exit %d, want 2 and %q\n%s", code, want, errOut)
	}
}
