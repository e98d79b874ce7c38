package platform

import (
	"sort"

	"github.com/gameday/gameday/faults"
)

// Default is the runtime an experiment runs on when it names none.
const Default = "local"

// registry is filled by each runtime's init (through the import list in
// platform/runtimes) and only read afterwards.
var registry = map[string]Runtime{}

// Register adds a runtime; called from the init of the runtime's package.
// It panics on a second runtime of the same name.
func Register(r Runtime) {
	if _, dup := registry[r.Name()]; dup {
		panic("platform: runtime registered twice: " + r.Name())
	}
	registry[r.Name()] = r
}

// Lookup returns the runtime of that name.
func Lookup(name string) (Runtime, bool) {
	r, ok := registry[name]
	return r, ok
}

// Names lists the registered runtimes: the default first, the others
// sorted.
func Names() []string {
	out := make([]string, 0, len(registry))
	for n := range registry {
		if n != Default {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	if _, ok := registry[Default]; ok {
		out = append([]string{Default}, out...)
	}
	return out
}

// Supports says whether the runtime's deployments have the capability the
// fault type needs.
func Supports(r Runtime, t faults.TypeInfo) bool {
	return t.SupportedBy(r.Capabilities())
}

// RuntimesOf lists the registered runtimes that support the fault type,
// in the order of Names.
func RuntimesOf(t faults.TypeInfo) []string {
	var out []string
	for _, n := range Names() {
		if Supports(registry[n], t) {
			out = append(out, n)
		}
	}
	return out
}
