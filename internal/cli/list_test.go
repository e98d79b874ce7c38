package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestListShowsTheLibrary(t *testing.T) {
	code, out, errOut := experimentsCLI(t, t.TempDir(), "list")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !strings.HasPrefix(lines[0], "NAME") || len(lines) != 8 {
		t.Fatalf("list:\n%s", out)
	}
	for _, name := range []string{"baseline", "payment-slowdown", "inventory-partition", "orders-crash-loop", "retry-storm", "gateway-pause", "bandwidth-squeeze"} {
		if !strings.Contains(out, "\n"+name+" ") {
			t.Errorf("list lacks %s", name)
		}
	}
	if !strings.Contains(out, "One of two payment replicas slows to 4 s") {
		t.Errorf("descriptions missing:\n%s", out)
	}

	code, out, _ = experimentsCLI(t, t.TempDir(), "list", "-o", "json")
	var lib []struct{ Name, Description, File string }
	if code != 0 || json.Unmarshal([]byte(out), &lib) != nil || len(lib) != 7 || lib[0].Name != "bandwidth-squeeze" || lib[0].File != "library/bandwidth-squeeze.yaml" {
		t.Fatalf("list -o json: exit %d\n%s", code, out)
	}
	if code, _, _ := experimentsCLI(t, t.TempDir(), "list", "extra"); code != 2 {
		t.Errorf("list with an argument: exit %d, want 2", code)
	}
}
