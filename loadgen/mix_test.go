package loadgen

import (
	"regexp"
	"strings"
	"testing"
)

func TestMixWeights(t *testing.T) {
	reqs := []Request{{Name: "a", Weight: 7}, {Name: "b", Weight: 2}, {Name: "c", Weight: 1}}
	m := newMix(reqs)
	r := rng{s: 42}
	const n = 200000
	counts := make([]float64, len(reqs))
	for range n {
		counts[m.pick(&r)]++
	}
	// Chi-square goodness of fit, 2 degrees of freedom: 13.8 is p = 0.001.
	chi := 0.0
	for i, q := range reqs {
		exp := n * float64(q.Weight) / 10
		d := counts[i] - exp
		chi += d * d / exp
	}
	if chi > 13.8 {
		t.Errorf("chi² = %.2f for counts %v, weights 7:2:1", chi, counts)
	}
	// A wrong mix (say 6:3:1) must fail the same test: the test can fail.
	chiWrong := 0.0
	for i, w := range []float64{6, 3, 1} {
		exp := n * w / 10
		d := counts[i] - exp
		chiWrong += d * d / exp
	}
	if chiWrong < 100 {
		t.Errorf("chi² against 6:3:1 = %.2f: the test has no power", chiWrong)
	}
}

func TestMixDeterministic(t *testing.T) {
	m := newMix([]Request{{Name: "a", Weight: 1}, {Name: "b", Weight: 1}})
	draw := func(seed uint64) string {
		r := rng{s: seed}
		var b strings.Builder
		for range 64 {
			b.WriteByte(byte('a' + m.pick(&r)))
		}
		return b.String()
	}
	if draw(7) != draw(7) {
		t.Error("same seed, different draws")
	}
	if draw(7) == draw(8) {
		t.Error("different seeds, same 64 draws")
	}
}

func TestTemplate(t *testing.T) {
	tp, err := ParseTemplate(`/items/{{seq}}?id={{uuid}}&n={{randInt 5 7}}&c={{pick red green}}`)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^/items/42\?id=[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}&n=[567]&c=(red|green)$`)
	seen := map[string]bool{}
	for i := range 200 {
		r := rng{s: uint64(i)}
		out := string(tp.appendTo(nil, &r, 42))
		if !re.MatchString(out) {
			t.Fatalf("rendered %q", out)
		}
		seen[out[len(out)-3:]] = true
		r2 := rng{s: uint64(i)}
		if again := string(tp.appendTo(nil, &r2, 42)); again != out {
			t.Fatalf("same seed rendered %q then %q", out, again)
		}
	}
	if !seen["red"] || !seen["een"] {
		t.Errorf("pick never chose both words: %v", seen)
	}
	for _, bad := range []string{"{{", "{{nope}}", "{{randInt 3 1}}", "{{pick}}", "{{uuid x}}", "{{}}"} {
		if _, err := ParseTemplate(bad); err == nil {
			t.Errorf("ParseTemplate(%q) accepted", bad)
		}
	}
}

func TestCompileRequest(t *testing.T) {
	c, err := compileRequest(Request{Name: "x", Method: "post", URL: "/a?b=1", Body: "hello",
		Headers: map[string]string{"X-A": "1", "Host": "example.test"}}, "http://127.0.0.1:9/base/")
	if err != nil {
		t.Fatal(err)
	}
	want := "POST /base/a?b=1 HTTP/1.1\r\nHost: example.test\r\nUser-Agent: gameday-loadgen\r\nX-A: 1\r\nContent-Length: 5\r\n\r\nhello"
	if string(c.raw) != want {
		t.Errorf("raw request\n%q\nwant\n%q", c.raw, want)
	}
	if c.host != "127.0.0.1:9" {
		t.Errorf("dial address %q", c.host)
	}
	for _, bad := range []Request{
		{Name: "x", URL: "/rel"},                 // no base
		{Name: "x", URL: "ftp://h/"},             // scheme
		{Name: "x", URL: "http://{{pick a b}}/"}, // templated host
		{Name: "x", URL: "http://h/", Headers: map[string]string{"Content-Length": "1"}},
	} {
		if _, err := compileRequest(bad, ""); err == nil {
			t.Errorf("compileRequest(%+v) accepted", bad)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	ok := Config{Stages: []Stage{{Duration: 1e9, Rate: 1}}, Mix: []Request{{Name: "a", URL: "http://127.0.0.1:1/"}}}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid config rejected: %v", err)
	}
	bad := Config{Model: "half-open", Mix: []Request{{Name: "a b", URL: "x"}, {Name: "a b", URL: "x"}}}
	err := bad.Validate()
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, want := range []string{"model", "stages", "name", "duplicate"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}
