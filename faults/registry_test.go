package faults

import (
	"strings"
	"testing"
)

func TestEveryTypeIsDescribedAndItsDefaultsAreValid(t *testing.T) {
	want := []string{"bandwidth", "corrupt", "http-abort", "http-delay", "kill", "latency", "loss", "partition", "pause", "reset", "stop"}
	var got []string
	for _, ti := range Types() {
		got = append(got, ti.Name)
		if ti.Summary == "" || ti.Class == "" {
			t.Errorf("%s: summary and class are required", ti.Name)
		}
		for _, p := range ti.Params {
			if p.Help == "" {
				t.Errorf("%s.%s: no help", ti.Name, p.Name)
			}
			if p.Default != "" {
				if err := p.Check(p.Default); err != nil {
					t.Errorf("%s.%s: default %q invalid: %v", ti.Name, p.Name, p.Default, err)
				}
			}
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("types %v, want %v", got, want)
	}
}

func TestNewValidatesParams(t *testing.T) {
	rt := &linkBed{}
	cases := []struct {
		spec Spec
		want string
	}{
		{Spec{Name: "a", Type: "nope"}, "unknown type"},
		{Spec{Name: "b", Type: "latency", Target: Target{Service: "x"}}, "delay is required"},
		{Spec{Name: "c", Type: "latency", Target: Target{Service: "x"}, Params: map[string]string{"delay": "fast"}}, "not a duration"},
		{Spec{Name: "d", Type: "latency", Target: Target{Service: "x"}, Params: map[string]string{"delay": "1s", "speed": "2"}}, `unknown parameter "speed"`},
		{Spec{Name: "e", Type: "loss", Target: Target{Service: "x"}, Params: map[string]string{"mode": "eat"}}, "not allowed"},
		{Spec{Name: "f", Type: "kill", Target: Target{Service: "x"}}, "cannot kill"},
		{Spec{Name: "g", Type: "partition", Target: Target{Groups: [][]string{{"a"}}}}, "exactly two groups"},
		{Spec{Name: "h", Type: "http-abort", Target: Target{Service: "x"}, Params: map[string]string{"operation": "charge"}}, "no HTTP fault API"},
		{Spec{Name: "j", Type: "http-delay", Target: Target{Service: "x"}, Params: map[string]string{"delay": "1s"}}, "exactly one of the parameters operation and edge"},
		{Spec{Name: "i", Type: "bandwidth", Target: Target{Service: "x"}, Params: map[string]string{"rate": "fast"}}, "byte rate"},
	}
	for _, c := range cases {
		_, err := New(c.spec, rt)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to mention %q", c.spec.Name, err, c.want)
		}
	}
}

func TestSelectInstances(t *testing.T) {
	insts := make([]Instance, 10)
	for i := range insts {
		insts[i] = Instance{Service: "s", Index: i}
	}
	idx := func(sel []Instance) []int {
		var out []int
		for _, in := range sel {
			out = append(out, in.Index)
		}
		return out
	}
	three := 3
	cases := []struct {
		t    Target
		def  string
		want int
	}{
		{Target{Service: "s"}, "1", 1},
		{Target{Service: "s"}, "all", 10},
		{Target{Service: "s", Instances: "4"}, "1", 4},
		{Target{Service: "s", Instances: "25%"}, "1", 3}, // rounded up
		{Target{Service: "s", Instances: "1%"}, "1", 1},  // at least one
		{Target{Service: "s", Instances: "50"}, "1", 10}, // capped
		{Target{Service: "s", Index: &three}, "all", 1},
	}
	for _, c := range cases {
		sel, err := SelectInstances(c.t, insts, 1, c.def)
		if err != nil || len(sel) != c.want {
			t.Errorf("%+v: %v %v, want %d instances", c.t, idx(sel), err, c.want)
		}
	}
	sel, _ := SelectInstances(Target{Service: "s", Index: &three}, insts, 1, "1")
	if sel[0].Index != 3 {
		t.Errorf("index 3 picked %v", idx(sel))
	}
	a, _ := SelectInstances(Target{Service: "s", Instances: "3", Pick: "random"}, insts, 42, "1")
	b, _ := SelectInstances(Target{Service: "s", Instances: "3", Pick: "random"}, insts, 42, "1")
	c, _ := SelectInstances(Target{Service: "s", Instances: "3", Pick: "random"}, insts, 43, "1")
	if !equal(idx(a), idx(b)) {
		t.Errorf("same seed, different picks: %v %v", idx(a), idx(b))
	}
	if equal(idx(a), idx(c)) {
		t.Errorf("seeds 42 and 43 picked the same %v", idx(a))
	}
	first, _ := SelectInstances(Target{Service: "s", Instances: "3"}, insts, 42, "1")
	if !equal(idx(first), []int{0, 1, 2}) {
		t.Errorf("pick first: %v", idx(first))
	}
	for _, bad := range []Target{{Service: "s", Instances: "zero"}, {Service: "s", Pick: "best"}, {Instances: "1"}, {Service: "s", Index: new(int)}} {
		if bad.Index != nil {
			*bad.Index = 99
		}
		if _, err := SelectInstances(bad, insts, 1, "1"); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
