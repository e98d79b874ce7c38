package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// experimentsCLI runs the CLI in-process in dir and returns the exit code,
// stdout and stderr.
func experimentsCLI(t *testing.T, dir string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	gs := &GlobalState{
		Ctx: context.Background(), Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
		Env: map[string]string{}, Getwd: func() (string, error) { return dir, nil }, Now: time.Now,
		Exe:    func() (string, error) { return "gameday", nil },
		Signal: SignalFuncs{Notify: func(chan<- os.Signal, ...os.Signal) {}, Stop: func(chan<- os.Signal) {}},
	}
	code := Execute(gs, args)
	return code, out.String(), errb.String()
}

func writeExperiment(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

const goodExperiment = `apiVersion: gameday/v1
kind: Experiment
metadata: {name: good}
spec:
  load:
    stages: [{duration: 40s, rate: 10}]
    mix: [{name: browse, request: GET /api/products}]
  faults:
    - {name: slow, type: latency, target: {service: payment}, at: 10s, duration: 10s, params: {delay: 500ms}}
  slos:
    - {name: p99 during, during: slow, promql: 'gameday:latency:p99_10s', expect: '< 1s'}
    - {name: recovers, after: slow, recoveryTime: '< 10s'}
`

const badExperiment = `apiVersion: gameday/v1
kind: Experiment
metadata: {name: bad}
spec:
  load:
    stages: [{durtion: 40s, rate: 10}]
    mix: [{name: browse, request: GET /api/products}]
  faults:
    - {name: slow, type: latncy, target: {service: payment}, at: 10s, duration: 10s}
`

func TestValidateGoodAndBadFiles(t *testing.T) {
	dir := t.TempDir()
	writeExperiment(t, dir, "good.yaml", goodExperiment)
	writeExperiment(t, dir, "bad.yaml", badExperiment)

	code, out, errOut := experimentsCLI(t, dir, "validate", "good.yaml", "payment-slowdown")
	if code != 0 || errOut != "" {
		t.Fatalf("valid files: exit %d, stderr %q", code, errOut)
	}
	for _, want := range []string{"good.yaml: ok (good: 40 s, 1 fault occurrence(s), 2 SLO(s))", "library/payment-slowdown.yaml: ok"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}

	code, out, errOut = experimentsCLI(t, dir, "validate", "good.yaml", "bad.yaml", "missing.yaml")
	if code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	if !strings.Contains(out, "good.yaml: ok") {
		t.Errorf("the valid file is still reported: %q", out)
	}
	wantErr := []string{
		`bad.yaml:6:15: unknown field "durtion" in spec.load.stages[0] (allowed: duration, rate, vus); did you mean "duration"?`,
		`bad.yaml:9:26: spec.faults[0]: unknown fault type "latncy"`,
		`did you mean "latency"?`,
		`gameday: no such experiment: "missing.yaml" is not a file nor a built-in scenario`,
	}
	for _, want := range wantErr {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if strings.Contains(errOut, "invalid\n") && strings.Count(errOut, "gameday:") > 1 {
		t.Errorf("the summary error is printed although the errors were: %s", errOut)
	}
}

func TestValidateNeedsAFile(t *testing.T) {
	code, _, errOut := experimentsCLI(t, t.TempDir(), "validate")
	if code != 2 || !strings.Contains(errOut, "requires at least 1 arg") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}
