package runner

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gameday/gameday/experiments"
	"github.com/gameday/gameday/internal/errext"
)

// refusingPlatform records what it was asked to deploy and refuses.
type refusingPlatform struct{ got *DeploySpec }

func (p *refusingPlatform) Deploy(_ context.Context, d DeploySpec) (Deployment, error) {
	p.got = &d
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
	p := &refusingPlatform{}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := Run(ctx, Options{
		Experiment: e, RunsDir: t.TempDir(),
		Platforms: map[string]Platform{"local": p},
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
	v := p.got.Variant
	if v.Name != "naive-scaled" || v.Replicas("payment") != 3 || v.Replicas("catalog") != 2 || v.Service("payment").Capacity.Workers != 32 {
		t.Errorf("deployed %s with payment×%d (%d workers), catalog×%d; want naive-scaled, 3 (32), 2",
			v.Name, v.Replicas("payment"), v.Service("payment").Capacity.Workers, v.Replicas("catalog"))
	}
	if out.Run.Variant != "naive-scaled" || out.Run.Policy.Name != "naive-scaled" || out.Run.Policy.Hash != want.Hash() {
		t.Errorf("record: variant %q, policy %q hash %s; want naive-scaled, naive-scaled, %s", out.Run.Variant, out.Run.Policy.Name, out.Run.Policy.Hash, want.Hash())
	}
	b, err := os.ReadFile(filepath.Join(out.Dir, "policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != out.Run.Policy.YAML {
		t.Error("policy.yaml differs from the record's policy")
	}
}
