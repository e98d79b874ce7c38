package compare

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/gameday/gameday/experiments"
	"github.com/gameday/gameday/internal/errext"
)

func TestLabels(t *testing.T) {
	got := labels([]string{"resilient", "naive", "resilient"})
	if want := []string{"resilient", "naive", "resilient#2"}; !slices.Equal(got, want) {
		t.Errorf("labels = %v, want %v", got, want)
	}
}

func TestRunRefusesBadOptions(t *testing.T) {
	e, err := experiments.Load("testdata/replica-slowdown.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, o := range map[string]Options{
		"no experiment":   {Variants: []string{"naive", "resilient"}, Dir: dir},
		"one variant":     {Experiment: e, Variants: []string{"naive"}, Dir: dir},
		"unknown variant": {Experiment: e, Variants: []string{"naive", "sturdy"}, Dir: dir},
		"negative repeat": {Experiment: e, Variants: []string{"naive", "resilient"}, Repeat: -1, Dir: dir},
		"no directory":    {Experiment: e, Variants: []string{"naive", "resilient"}},
	} {
		t.Run(name, func(t *testing.T) {
			res, err := Run(context.Background(), o)
			if err == nil || res != nil {
				t.Fatalf("accepted: %v", res)
			}
			var ec errext.HasExitCode
			if name != "no experiment" && (!errors.As(err, &ec) || ec.ExitCode() != errext.Invalid) {
				t.Errorf("error %v does not carry exit code 2", err)
			}
		})
	}
}

// Variants are resolved through the scenario: its inline variants are
// accepted beside the shop's, an unknown name is refused naming both.
func TestValidateResolvesInlineVariants(t *testing.T) {
	e, err := experiments.Parse("inline.yaml", []byte(`apiVersion: gameday/v1
kind: Experiment
metadata: {name: inline-compare}
spec:
  variants:
    short-timeouts:
      base: resilient
      overrides: {edges: {orders->payment: {timeout: 150ms}}}
  load:
    stages: [{duration: 10s, rate: 10}]
    mix: [{name: browse, request: GET /api/products}]
`))
	if err != nil {
		t.Fatal(err)
	}
	ok := Options{Experiment: e, Variants: []string{"resilient", "short-timeouts"}, Dir: t.TempDir()}
	if err := ok.validate(); err != nil {
		t.Errorf("inline variant refused: %v", err)
	}
	bad := Options{Experiment: e, Variants: []string{"short-timeouts", "short-timeout"}, Dir: t.TempDir()}
	err = bad.validate()
	var ec errext.HasExitCode
	if err == nil || !errors.As(err, &ec) || ec.ExitCode() != errext.Invalid {
		t.Fatalf("unknown variant: error %v, want exit code 2", err)
	}
	for _, want := range []string{`variant "short-timeout"`, "spec.variants: short-timeouts", "naive, resilient, retries"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}
