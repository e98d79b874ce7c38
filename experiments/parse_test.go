package experiments

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const minimalHead = `apiVersion: gameday/v1
kind: Experiment
metadata: {name: t}
spec:
  load:
    stages: [{duration: 30s, rate: 10}]
    mix: [{name: browse, request: GET /api/products}]
`

func TestSuggest(t *testing.T) {
	for _, c := range []struct{ word, want string }{
		{"durtion", `; did you mean "duration"?`},
		{"Duration", `; did you mean "duration"?`},
		{"rate", `; did you mean "rate"?`},
		{"xyz", ""},
		{"a", ""},
	} {
		if got := suggest(c.word, []string{"duration", "rate", "vus"}); got != c.want {
			t.Errorf("suggest(%q) = %q, want %q", c.word, got, c.want)
		}
	}
	if d := editDistance("kitten", "sitting"); d != 3 {
		t.Errorf("editDistance = %d, want 3", d)
	}
}

func TestDurationText(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "0s", 90 * time.Second: "1m30s", time.Minute: "1m", 800 * time.Millisecond: "800ms", time.Hour: "1h", 2*time.Hour + time.Minute: "2h1m"} {
		if got := Duration(d).String(); got != want {
			t.Errorf("Duration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestRequestSyntax(t *testing.T) {
	var r Request
	if err := r.decodeScalar("POST /api/cart/u{{randInt 1 500}}/items"); err != nil || r.Method != "POST" || r.Path != "/api/cart/u{{randInt 1 500}}/items" {
		t.Errorf("request with a template: %+v, %v", r, err)
	}
	for _, bad := range []string{"", "GET", "get /x", "GET x", "GET /{{nope}}"} {
		if err := r.decodeScalar(bad); err == nil {
			t.Errorf("request %q accepted", bad)
		}
	}
}

func TestBoundsFollowMetrics(t *testing.T) {
	var b Bound
	if err := b.decodeScalar(">= 99.5%"); err != nil || b.Value != 0.995 || b.Op != ">=" || b.Text != ">= 99.5%" {
		t.Errorf("percentage bound: %+v, %v", b, err)
	}
	if err := b.decodeScalar("<   1.5*baseline"); err != nil || !b.Relative() || b.BaselineFactor != 1.5 || b.Text != "< 1.5*baseline" {
		t.Errorf("baseline bound: %+v, %v", b, err)
	}
	if err := b.decodeScalar("< 800ms"); err != nil || b.Value != 0.8 {
		t.Errorf("duration bound: %+v, %v", b, err)
	}
	var d DurationBound
	if err := d.decodeScalar("< 1m30s"); err != nil || d.Max() != 90*time.Second {
		t.Errorf("duration bound: %+v, %v", d, err)
	}
}

func TestAliasesAndMergeKeys(t *testing.T) {
	withAlias := minimalHead + `  faults:
    - &f {name: a, type: pause, target: {service: cart}, at: 5s, duration: 5s}
  slos:
    - {name: s, during: a, promql: up, expect: '> 0'}
`
	if _, err := Parse("alias.yaml", []byte(withAlias)); err != nil {
		t.Fatalf("anchors are allowed: %v", err)
	}
	merge := minimalHead + `  faults:
    - &f {name: a, type: pause, target: {service: cart}, at: 5s, duration: 5s}
    - {<<: *f, name: b}
`
	_, err := Parse("merge.yaml", []byte(merge))
	if err == nil || !strings.Contains(err.Error(), "merge.yaml:10:8: spec.faults[1]: keys must be plain field names (merge keys << are not supported)") {
		t.Fatalf("merge key: %v", err)
	}
}

func TestErrorListIsSortedAndComplete(t *testing.T) {
	_, err := Parse("x.yaml", []byte(`kind: Experiment
apiVersion: gameday/v9
metadata: {name: x, nmae: y}
spec:
  load:
    stages: [{duration: 1s, rate: -1}]
    mix: [{name: a, request: GET /}]
`))
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("want ErrorList, got %T %v", err, err)
	}
	want := []string{
		`x.yaml:2:13: apiVersion "gameday/v9" is not supported; write apiVersion: gameday/v1`,
		`x.yaml:3:21: unknown field "nmae" in metadata (allowed: description, labels, name); did you mean "name"?`,
		`x.yaml:6:35: spec.load.stages[0]: rate -1 is out of range (allowed: more than 0, at most 1e+06 per second)`,
	}
	if got := list.Error(); got != strings.Join(want, "\n") {
		t.Errorf("errors\n got:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Load(missing) = %v", err)
	}
}

func TestConversions(t *testing.T) {
	e := mustLoad(t, "testdata/full.good.yaml")
	c := e.Spec.Load.Config()
	if c.Model != "open" || len(c.Stages) != 2 || c.Stages[1].Rate != 50.5 || len(c.Mix) != 2 || c.Mix[1].Weight != 3 ||
		c.Mix[1].Method != "POST" || c.Mix[1].URL != "/api/checkout" || c.Seed != 42 || c.Timeout != 2*time.Second {
		t.Errorf("loadgen config: %+v", c)
	}
	s := e.Spec.Faults[2].Spec(7)
	if s.Type != "partition" || len(s.Target.Groups) != 2 || s.Params["mode"] != "blackhole" || s.Seed != 7 {
		t.Errorf("fault spec: %+v", s)
	}
	if r := e.Spec.Rules(); len(r) != 1 || r[0].Record != "job:errors:ratio" {
		t.Errorf("rules: %+v", r)
	}
}

func TestAliasExpansionIsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString(minimalHead)
	b.WriteString("  faults:\n    - &f {name: a, type: partition, target: {groups: [&g [orders")
	for i := 0; i < 500; i++ {
		b.WriteString(", orders")
	}
	b.WriteString("], *g")
	for i := 0; i < 500; i++ {
		b.WriteString(", *g")
	}
	b.WriteString("]}, at: 5s, duration: 5s}\n")
	for i := 0; i < 500; i++ {
		b.WriteString("    - *f\n")
	}
	start := time.Now()
	_, err := Parse("bomb.yaml", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "expands to more than 200000 YAML nodes") {
		t.Fatalf("alias bomb: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("alias bomb took %s", d)
	}
}
