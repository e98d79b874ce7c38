package metrics

import (
	"os"
	"strings"
	"testing"
)

// TestDefaultRulesDocumented: every default rule is listed in
// docs/metrics.md (the per-scenario variants through the :by_scenario
// suffix).
func TestDefaultRulesDocumented(t *testing.T) {
	b, err := os.ReadFile("../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	if !strings.Contains(doc, "## Recording rules (gameday:*)") || !strings.Contains(doc, "`:by_scenario`") {
		t.Fatal("docs/metrics.md has no recording rules section")
	}
	for _, r := range DefaultRules() {
		name := strings.TrimSuffix(r.Record, ":by_scenario")
		if !strings.Contains(doc, "`"+name+"`") {
			t.Errorf("rule %s is not documented in docs/metrics.md", r.Record)
		}
	}
	if !strings.Contains(doc, errorCodeRegex) {
		t.Errorf("docs/metrics.md does not show the error code regex %s", errorCodeRegex)
	}
}
