package cli

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// These cases are rejected before anything is deployed: no shop binary is
// needed, and no run directory may be created.

func TestRunInvalidFileExits2WithPosition(t *testing.T) {
	dir := t.TempDir()
	writeExperiment(t, dir, "bad.yaml", badExperiment)
	code, _, errOut := experimentsCLI(t, dir, "run", "--out", "runs", "bad.yaml")
	if code != 2 {
		t.Fatalf("exit %d, want 2; stderr:\n%s", code, errOut)
	}
	for _, want := range []string{
		`bad.yaml:6:15: unknown field "durtion" in spec.load.stages[0]`,
		`did you mean "duration"?`,
		`bad.yaml:9:26: spec.faults[0]: unknown fault type "latncy"`,
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	assertNoRunDir(t, dir)
}

func TestRunUnknownScenarioExits2(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := experimentsCLI(t, dir, "run", "--out", "runs", "no-such-scenario")
	if code != 2 {
		t.Fatalf("exit %d, want 2; stdout %q stderr %q", code, out, errOut)
	}
	if want := `no such experiment: "no-such-scenario" is not a file nor a built-in scenario`; !strings.Contains(errOut, want) {
		t.Errorf("stderr lacks %q:\n%s", want, errOut)
	}
	assertNoRunDir(t, dir)
}

func TestRunUnknownVariantExits2(t *testing.T) {
	dir := t.TempDir()
	writeExperiment(t, dir, "good.yaml", goodExperiment)
	for _, arg := range []string{"good.yaml", "payment-slowdown"} {
		code, out, errOut := experimentsCLI(t, dir, "run", "--out", "runs", "--variant", "sturdy", arg)
		if code != 2 {
			t.Fatalf("%s: exit %d, want 2; stdout %q stderr %q", arg, code, out, errOut)
		}
		for _, want := range []string{`--variant "sturdy": not a variant of the shop`, "resilient", "naive"} {
			if !strings.Contains(errOut, want) {
				t.Errorf("%s: stderr lacks %q:\n%s", arg, want, errOut)
			}
		}
	}
	assertNoRunDir(t, dir)
}

func TestRunUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{
		{"run"},
		{"run", "a.yaml", "b.yaml"},
		{"run", "--no-such-flag", "payment-slowdown"},
		{"run", "--seed", "many", "payment-slowdown"},
	} {
		code, _, errOut := experimentsCLI(t, t.TempDir(), args...)
		if code != 2 || errOut == "" {
			t.Errorf("%v: exit %d, stderr %q; want 2 and a message", args, code, errOut)
		}
	}
}

// The cluster flags belong to the kubernetes runtime and --image to a
// runtime that runs one: on the local runtime each is refused before
// anything starts, naming the flag.
func TestRunPlatformFlagsThatDoNotApplyExit2(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--kubeconfig", "k.yaml"}, "--kubeconfig is for runtimes on a cluster (kubernetes); this run's runtime is local"},
		{[]string{"--context", "kind-kind"}, "--context is for runtimes on a cluster (kubernetes); this run's runtime is local"},
		{[]string{"--image", "shop:v2"}, "--image is for runtimes that run an image"},
	} {
		dir := t.TempDir()
		code, _, errOut := experimentsCLI(t, dir, append(append([]string{"run"}, c.args...), "payment-slowdown")...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, want 2 and %q; stderr:\n%s", c.args, code, c.want, errOut)
		}
		assertNoRunDir(t, dir)
	}
}

// assertNoRunDir fails when a rejected run created runs/ under dir.
func assertNoRunDir(t *testing.T, dir string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, "runs")); !os.IsNotExist(err) {
		t.Errorf("a rejected run created %s (stat: %v)", filepath.Join(dir, "runs"), err)
	}
}

func TestRunUnreachablePrometheusExits3BeforeDeploying(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	l.Close() // nothing listens there any more
	dir := t.TempDir()
	writeExperiment(t, dir, "good.yaml", goodExperiment)
	// Exe is "gameday", not a binary: the run must stop before it deploys.
	code, out, errOut := experimentsCLI(t, dir, "run", "--prometheus", url, "good.yaml")
	if code != 3 {
		t.Fatalf("exit %d, want 3\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if want := "prometheus at " + url + " does not answer"; !strings.Contains(out+errOut, want) {
		t.Errorf("output lacks %q:\nstdout:\n%s\nstderr:\n%s", want, out, errOut)
	}
	if strings.Contains(out, "deploying the shop") {
		t.Errorf("the shop was deployed although Prometheus is unreachable:\n%s", out)
	}
}

const inlineVariantsExperiment = `apiVersion: gameday/v1
kind: Experiment
metadata: {name: inline-variants}
spec:
  sut: {variant: short-timeouts}
  variants:
    short-timeouts:
      base: resilient
      overrides:
        edges: {orders->payment: {timeout: 150ms}}
    naive-scaled:
      base: naive
      replicas: {payment: 3}
  load:
    stages: [{duration: 40s, rate: 10}]
    mix: [{name: browse, request: GET /api/products}]
`

// A file with spec.variants validates and plans; its inline names are
// accepted by run --variant and compare --variants, an unknown name is
// refused with both kinds of names.
func TestInlineVariantsCLI(t *testing.T) {
	dir := t.TempDir()
	writeExperiment(t, dir, "inline.yaml", inlineVariantsExperiment)

	if code, out, errOut := experimentsCLI(t, dir, "validate", "inline.yaml"); code != 0 {
		t.Fatalf("validate: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	code, out, errOut := experimentsCLI(t, dir, "plan", "inline.yaml")
	if code != 0 {
		t.Fatalf("plan: exit %d\nstderr:\n%s", code, errOut)
	}
	if want := "variant short-timeouts"; !strings.Contains(out, want) {
		t.Errorf("plan lacks %q:\n%s", want, out)
	}

	code, out, errOut = experimentsCLI(t, dir, "run", "--out", "runs", "--variant", "unknown", "inline.yaml")
	if code != 2 {
		t.Fatalf("run --variant unknown: exit %d, want 2; stdout %q stderr %q", code, out, errOut)
	}
	for _, want := range []string{`--variant "unknown": not a variant of the shop`, "naive, resilient, retries", "spec.variants: naive-scaled, short-timeouts"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	code, _, errOut = experimentsCLI(t, dir, "compare", "inline.yaml", "--variants", "naive-scaled,unknown")
	if code != 2 || !strings.Contains(errOut, `variant "unknown": not a variant of the shop`) || !strings.Contains(errOut, "spec.variants: naive-scaled, short-timeouts") {
		t.Errorf("compare --variants naive-scaled,unknown: exit %d, want 2 naming both kinds; stderr:\n%s", code, errOut)
	}
	assertNoRunDir(t, dir)

	// An inline name passes the check: the run goes on until it finds
	// that Prometheus does not answer (exit 3), before deploying.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	l.Close()
	code, out, errOut = experimentsCLI(t, dir, "run", "--out", "runs", "--prometheus", url, "--variant", "naive-scaled", "inline.yaml")
	if code != 3 {
		t.Fatalf("run --variant naive-scaled: exit %d, want 3 (unreachable Prometheus)\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if strings.Contains(errOut, "not a variant") {
		t.Errorf("the inline variant was refused:\n%s", errOut)
	}
}

// --runtime moves the experiment to another runtime with the checks that
// spec.runtime gets: an unknown runtime, or one that cannot inject a fault
// of the file (stop is the docker runtime's), is refused before anything
// starts, naming the fault and the runtimes that can.
func TestRunRuntimeFlagIsValidated(t *testing.T) {
	dir := t.TempDir()
	writeExperiment(t, dir, "stop.yaml", `apiVersion: gameday/v1
kind: Experiment
metadata: {name: stop-on-docker}
spec:
  runtime: docker
  load:
    stages: [{duration: 20s, rate: 10}]
    mix: [{name: browse, request: GET /api/products}]
  faults:
    - {name: stop-payment, type: stop, target: {service: payment}, at: 5s, duration: 5s}
`)
	code, _, errOut := experimentsCLI(t, dir, "run", "--out", "runs", "--runtime", "local", "stop.yaml")
	if want := "stop.yaml:10:34: spec.faults[0]: a stop fault is not available on the local runtime (available on: docker, kubernetes)"; code != 2 || !strings.Contains(errOut, want) {
		t.Errorf("--runtime local: exit %d, want 2 and %q; stderr:\n%s", code, want, errOut)
	}
	code, _, errOut = experimentsCLI(t, dir, "run", "--out", "runs", "--runtime", "dokcer", "stop.yaml")
	if want := `--runtime: runtime "dokcer" is not available (allowed: local, docker, kubernetes); did you mean "docker"?`; code != 2 || !strings.Contains(errOut, want) {
		t.Errorf("--runtime dokcer: exit %d, want 2 and %q; stderr:\n%s", code, want, errOut)
	}
	assertNoRunDir(t, dir)
}
