package metrics

import (
	"strings"
	"testing"
)

func TestParseBound(t *testing.T) {
	good := []struct {
		in   string
		want Bound
		str  string
	}{
		{"< 1.2", Bound{Op: "<", Value: 1.2}, "< 1.2"},
		{"<=0.5", Bound{Op: "<=", Value: 0.5}, "<= 0.5"},
		{" >= 0.99 ", Bound{Op: ">=", Value: 0.99}, ">= 0.99"},
		{"> 99.9%", Bound{Op: ">", Value: 0.999}, "> 0.999"},
		{"== 0", Bound{Op: "==", Value: 0}, "== 0"},
		{"!= 1", Bound{Op: "!=", Value: 1}, "!= 1"},
		{"< 1e-3", Bound{Op: "<", Value: 0.001}, "< 0.001"},
		{"< 800ms", Bound{Op: "<", Value: 0.8}, "< 0.8"},
		{"< 1.5 * baseline", Bound{Op: "<", BaselineFactor: 1.5}, "< 1.5 * baseline"},
		{"<1.5*baseline", Bound{Op: "<", BaselineFactor: 1.5}, "< 1.5 * baseline"},
		{"<= baseline * 2", Bound{Op: "<=", BaselineFactor: 2}, "<= 2 * baseline"},
		{">= baseline", Bound{Op: ">=", BaselineFactor: 1}, ">= baseline"},
	}
	for _, tc := range good {
		b, err := ParseBound(tc.in)
		if err != nil {
			t.Errorf("ParseBound(%q): %v", tc.in, err)
			continue
		}
		if b.Op != tc.want.Op || b.BaselineFactor != tc.want.BaselineFactor || (b.Value-tc.want.Value) > 1e-12 || (tc.want.Value-b.Value) > 1e-12 {
			t.Errorf("ParseBound(%q) = %+v, want %+v", tc.in, b, tc.want)
		}
		if b.String() != tc.str {
			t.Errorf("ParseBound(%q).String() = %q, want %q", tc.in, b.String(), tc.str)
		}
	}
	bad := []struct{ in, want string }{
		{"1.2", "missing comparison operator"},
		{"= 1", "use == for equality"},
		{"<", "nothing after"},
		{"< fast", `"fast" is not a number`},
		{"< -1 * baseline", "must be positive"},
		{"< baseline + 1", "can only be multiplied"},
		{"< 2 * baseline * 3", "can only be multiplied"},
		{"~ 3", "want an operator (<, <=, >, >=, ==, !=)"},
	}
	for _, tc := range bad {
		_, err := ParseBound(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseBound(%q) error = %v, want it to contain %q", tc.in, err, tc.want)
		}
	}
}

func TestParseDurationBound(t *testing.T) {
	b, err := ParseDurationBound("< 10s")
	if err != nil || b.Op != "<" || b.Value != 10 {
		t.Fatalf("got %+v, %v", b, err)
	}
	b, err = ParseDurationBound("<= 1m30s")
	if err != nil || b.Value != 90 {
		t.Fatalf("got %+v, %v", b, err)
	}
	for _, in := range []string{"< 10", "10s", "< soon", "< -5s", "< 2 * baseline"} {
		if _, err := ParseDurationBound(in); err == nil {
			t.Errorf("ParseDurationBound(%q) accepted", in)
		} else if !strings.Contains(err.Error(), "10s") {
			t.Errorf("ParseDurationBound(%q) error %q does not show an example", in, err)
		}
	}
}

func TestBoundHoldsAndResolve(t *testing.T) {
	cases := []struct {
		bound string
		v     float64
		holds bool
	}{
		{"< 1", 0.999, true}, {"< 1", 1, false}, {"<= 1", 1, true}, {"> 1", 1, false},
		{">= 1", 1, true}, {"== 2", 2, true}, {"== 2", 2.1, false}, {"!= 2", 3, true},
	}
	for _, tc := range cases {
		b, _ := ParseBound(tc.bound)
		if got := b.Holds(tc.v); got != tc.holds {
			t.Errorf("%s holds for %v = %v, want %v", tc.bound, tc.v, got, tc.holds)
		}
	}
	nan := Bound{Op: "!=", Value: 1}
	if nan.Holds(nanValue()) {
		t.Error("NaN must never hold")
	}
	rel, _ := ParseBound("< 1.5 * baseline")
	if _, err := rel.Resolve(nil); err == nil {
		t.Error("resolving a relative bound without a baseline must fail")
	}
	base := 0.4
	abs, err := rel.Resolve(&base)
	if err != nil || abs.Relative() || abs.Value != 0.6000000000000001 && abs.Value != 0.6 {
		t.Errorf("resolve: %+v, %v", abs, err)
	}
}
