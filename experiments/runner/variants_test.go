package runner

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gameday/gameday/experiments"
	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/internal/lib/errext"
	"github.com/gameday/gameday/platform"
)

// refusingRuntime records what it was asked to deploy and refuses.
type refusingRuntime struct{ got *platform.Spec }

func (*refusingRuntime) Name() string                 { return "refusing" }
func (*refusingRuntime) Summary() string              { return "refuses every deployment" }
func (*refusingRuntime) Capabilities() faults.Runtime { return nil }

func (p *refusingRuntime) Deploy(_ context.Context, s platform.Spec) (platform.Deployment, error) {
	p.got = &s
	return nil, errors.New("no deployment in this test")
}

// The runner resolves spec.sut.variant through the experiment's inline
// variants and applies the scenario's own overrides on top: the platform is
// handed that policy and the record names the inline variant and its hash.
func TestRunResolvesInlineVariant(t *testing.T) {
	e, err := experiments.Parse("inline.yaml", []byte(`apiVersion: gameday/v1
kind: Experiment
metadata: {name: inline-runner}
spec:
  sut:
    variant: naive-scaled
    replicas: {catalog: 2}
  variants:
    naive-scaled:
      base: naive
      replicas: {payment: 3}
      overrides:
        services: {payment: {capacity: {workers: 32}}}
  load:
    stages: [{duration: 10s, rate: 10}]
    mix: [{name: browse, request: GET /api/products}]
`))
	if err != nil {
		t.Fatal(err)
	}
	want, err := e.ResolveVariant("naive-scaled")
	if err != nil {
		t.Fatal(err)
	}
	want, err = want.Apply(e.Spec.SUT.Replicas, e.Spec.SUT.Overrides)
	if err != nil {
		t.Fatal(err)
	}
	p := &refusingRuntime{}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := Run(ctx, Options{
		Experiment: e, RunsDir: t.TempDir(),
		Runtimes: map[string]platform.Runtime{"local": p},
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.Code != errext.Platform {
		t.Errorf("exit code %d, want %d (the platform refused)", out.Code, errext.Platform)
	}
	if p.got == nil {
		t.Fatal("the platform was not asked to deploy")
	}
	replicas := map[string]int{}
	for _, sv := range p.got.Services {
		replicas[sv.Name] = sv.Replicas
	}
	if p.got.Variant != "naive-scaled" || replicas["payment"] != 3 || replicas["catalog"] != 2 || replicas["gateway"] != 1 {
		t.Errorf("deployed %s with %v; want naive-scaled with payment×3, catalog×2, gateway×1", p.got.Variant, replicas)
	}
	deployed, err := os.ReadFile(p.got.Policy)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(deployed), "workers: 32") {
		t.Errorf("the deployed policy does not give payment 32 workers:\n%s", deployed)
	}
	if out.Run.Variant != "naive-scaled" || out.Run.Policy.Name != "naive-scaled" || out.Run.Policy.Hash != want.Hash() {
		t.Errorf("record: variant %q, policy %q hash %s; want naive-scaled, naive-scaled, %s", out.Run.Variant, out.Run.Policy.Name, out.Run.Policy.Hash, want.Hash())
	}
	b, err := os.ReadFile(filepath.Join(out.Dir, "policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != out.Run.Policy.YAML || string(b) != string(deployed) {
		t.Error("policy.yaml differs from the record's policy or from the deployed one")
	}
}
