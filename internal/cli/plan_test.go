package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestPlanText(t *testing.T) {
	dir := t.TempDir()
	writeExperiment(t, dir, "good.yaml", goodExperiment)
	code, out, errOut := experimentsCLI(t, dir, "plan", "good.yaml")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"experiment good",
		"total 40s · runtime local · variant resilient · open model",
		"  baseline    0s – 10s   ---------------....",
		"  fault       10s – 20s  ...............###############.....",
		"  recovery    20s – 40s  ..............................~~~~~",
		"latency payment delay=500ms",
		"after slow: recovery < 10s (by 30s)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
}

func TestPlanJSONByLibraryName(t *testing.T) {
	code, out, errOut := experimentsCLI(t, t.TempDir(), "plan", "orders-crash-loop", "--output", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var p struct {
		Name   string `json:"name"`
		Total  string `json:"total"`
		Faults []struct {
			Fault string `json:"fault"`
			Start string `json:"start"`
			N, Of int
		} `json:"faults"`
	}
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if p.Name != "orders-crash-loop" || len(p.Faults) != 3 || p.Faults[0].Start != "20s" || p.Faults[1].Start != "40s" || p.Faults[2].Start != "1m" || p.Faults[2].Of != 3 {
		t.Errorf("plan: %+v", p)
	}
}

func TestPlanErrors(t *testing.T) {
	dir := t.TempDir()
	writeExperiment(t, dir, "bad.yaml", badExperiment)
	code, out, errOut := experimentsCLI(t, dir, "plan", "bad.yaml")
	if code != 2 || out != "" || !strings.HasPrefix(errOut, "bad.yaml:6:15: unknown field") || strings.Count(errOut, "\n") != 2 {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, _, errOut = experimentsCLI(t, dir, "plan", "bad.yaml", "--output", "yaml")
	if code != 2 || !strings.Contains(errOut, `--output "yaml": want text or json`) {
		t.Fatalf("bad --output: exit %d, %q", code, errOut)
	}
}
