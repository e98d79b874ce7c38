package policy

import (
	"fmt"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/gameday/gameday/sut"
)

// Patch is a partial policy merged over a variant, as written under
// `sut.overrides` in an experiment:
//
//	overrides:
//	  services: {payment: {capacity: {workers: 8}}}
//	  edges:
//	    orders->payment: {timeout: 300ms, retry: {maxAttempts: 2}, breaker: null}
//
// Maps merge key by key; any other value replaces; null deletes the key
// (breaker: null disables the breaker). The result is validated strictly.
type Patch struct {
	Services map[string]map[string]any `yaml:"services,omitempty" json:"services,omitempty"`
	Edges    map[string]map[string]any `yaml:"edges,omitempty" json:"edges,omitempty"`
}

// Apply returns a copy of v with the replica counts and the patch applied
// (either may be nil). The name is kept and a "+overrides" suffix added to
// the description, so the hash (not the name) tells variants apart.
func (v *Variant) Apply(replicas map[string]int, patch *Patch) (*Variant, error) {
	data, err := v.Marshal()
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("apply overrides to %s: %w", v.Name, err)
	}
	var problems []string
	services, _ := doc["services"].(map[string]any)
	if services == nil {
		services = map[string]any{}
		doc["services"] = services
	}
	for _, s := range sortedKeys(replicas) {
		if !sut.IsService(s) {
			problems = append(problems, fmt.Sprintf("replicas.%s: unknown service (known: %s)", s, strings.Join(sut.Services(), ", ")))
			continue
		}
		if replicas[s] < 1 {
			problems = append(problems, fmt.Sprintf("replicas.%s: %d, want >= 1", s, replicas[s]))
			continue
		}
		spec, _ := services[s].(map[string]any)
		if spec == nil {
			spec = map[string]any{}
			services[s] = spec
		}
		spec["replicas"] = replicas[s]
	}
	if patch != nil {
		for _, s := range sortedKeys(patch.Services) {
			cur, _ := services[s].(map[string]any)
			services[s] = merge(cur, patch.Services[s])
		}
		edges, _ := doc["edges"].(map[string]any)
		if edges == nil {
			edges = map[string]any{}
			doc["edges"] = edges
		}
		for _, e := range sortedKeys(patch.Edges) {
			cur, _ := edges[e].(map[string]any)
			edges[e] = merge(cur, patch.Edges[e])
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("overrides: %s", strings.Join(problems, "; "))
	}
	if (len(replicas) > 0 || patch != nil) && !strings.HasSuffix(fmt.Sprint(doc["description"]), "(+overrides)") {
		d, _ := doc["description"].(string)
		doc["description"] = strings.TrimSpace(d + " (+overrides)")
	}
	out, err := yaml.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("apply overrides to %s: %w", v.Name, err)
	}
	nv, err := Parse(out)
	if err != nil {
		return nil, fmt.Errorf("overrides: %w", err)
	}
	return nv, nil
}

// merge deep-merges patch over base (nil values delete keys). It returns a
// new map and leaves both arguments alone.
func merge(base, patch map[string]any) map[string]any {
	out := make(map[string]any, len(base)+len(patch))
	for k, v := range base {
		out[k] = v
	}
	for k, pv := range patch {
		if pv == nil {
			delete(out, k)
			continue
		}
		pm, pIsMap := asMap(pv)
		bm, bIsMap := asMap(out[k])
		if pIsMap && bIsMap {
			out[k] = merge(bm, pm)
		} else if pIsMap {
			out[k] = merge(nil, pm)
		} else {
			out[k] = pv
		}
	}
	return out
}

func asMap(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, v := range m {
			out[fmt.Sprint(k)] = v
		}
		return out, true
	}
	return nil, false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
