package loadgen

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// rng is splitmix64: tiny, fast, and good enough for load mixes. Each arrival
// carries its own seed, so what a request renders does not depend on which
// worker sends it.
type rng struct{ s uint64 }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// intn returns a uniform integer in [0, n).
func (r *rng) intn(n uint64) uint64 {
	if n == 0 {
		return 0
	}
	// Lemire's multiply-shift, bias negligible for the sizes used here.
	hi, _ := mul64(r.next(), n)
	return hi
}

func mul64(x, y uint64) (hi, lo uint64) {
	const mask32 = 1<<32 - 1
	x0, x1 := x&mask32, x>>32
	y0, y1 := y&mask32, y>>32
	w0 := x0 * y0
	t := x1*y0 + w0>>32
	w1 := t & mask32
	w2 := t >> 32
	w1 += x0 * y1
	hi = x1*y1 + w2 + w1>>32
	lo = x * y
	return
}

// Template is a string with variables in double braces:
//
//	{{seq}}            the arrival's sequence number (0, 1, 2, …)
//	{{uuid}}           a random version-4 UUID
//	{{randInt A B}}    a random integer in [A, B]
//	{{pick a b c}}     one of the space-separated words, uniformly
//
// Randomness comes from the run's seed, so a run is reproducible.
type Template struct {
	parts []tpart
}

type tpart struct {
	lit   string
	kind  int // 0 literal, else one of the var kinds
	lo, n int64
	words []string
}

const (
	varLit = iota
	varSeq
	varUUID
	varRandInt
	varPick
)

// ParseTemplate compiles s.
func ParseTemplate(s string) (*Template, error) {
	t := &Template{}
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			if s != "" {
				t.parts = append(t.parts, tpart{lit: s})
			}
			return t, nil
		}
		if i > 0 {
			t.parts = append(t.parts, tpart{lit: s[:i]})
		}
		j := strings.Index(s[i:], "}}")
		if j < 0 {
			return nil, fmt.Errorf("template: unclosed {{ at %q", s[i:])
		}
		f := strings.Fields(s[i+2 : i+j])
		s = s[i+j+2:]
		if len(f) == 0 {
			return nil, fmt.Errorf("template: empty {{}}")
		}
		p := tpart{}
		switch f[0] {
		case "seq":
			p.kind = varSeq
		case "uuid":
			p.kind = varUUID
		case "randInt":
			if len(f) != 3 {
				return nil, fmt.Errorf("template: {{randInt A B}} needs two integers")
			}
			a, err1 := strconv.ParseInt(f[1], 10, 64)
			b, err2 := strconv.ParseInt(f[2], 10, 64)
			if err1 != nil || err2 != nil || b < a {
				return nil, fmt.Errorf("template: {{randInt %s %s}}: want integers A <= B", f[1], f[2])
			}
			p.kind, p.lo, p.n = varRandInt, a, b-a+1
		case "pick":
			if len(f) < 2 {
				return nil, fmt.Errorf("template: {{pick}} needs at least one word")
			}
			p.kind, p.words = varPick, f[1:]
		default:
			return nil, fmt.Errorf("template: unknown variable %q (want seq, uuid, randInt, pick)", f[0])
		}
		if p.kind != varSeq && (len(f) > 1) != (p.kind == varRandInt || p.kind == varPick) {
			return nil, fmt.Errorf("template: {{%s}} takes no arguments", f[0])
		}
		t.parts = append(t.parts, p)
	}
}

// static reports whether the template has no variables.
func (t *Template) static() bool {
	for _, p := range t.parts {
		if p.kind != varLit {
			return false
		}
	}
	return true
}

// String renders a static template.
func (t *Template) String() string {
	var b strings.Builder
	for _, p := range t.parts {
		b.WriteString(p.lit)
	}
	return b.String()
}

// appendTo renders the template after dst.
func (t *Template) appendTo(dst []byte, r *rng, seq int64) []byte {
	for i := range t.parts {
		p := &t.parts[i]
		switch p.kind {
		case varLit:
			dst = append(dst, p.lit...)
		case varSeq:
			dst = strconv.AppendInt(dst, seq, 10)
		case varRandInt:
			dst = strconv.AppendInt(dst, p.lo+int64(r.intn(uint64(p.n))), 10)
		case varPick:
			dst = append(dst, p.words[r.intn(uint64(len(p.words)))]...)
		case varUUID:
			dst = appendUUID(dst, r.next(), r.next())
		}
	}
	return dst
}

func appendUUID(dst []byte, a, b uint64) []byte {
	const hex = "0123456789abcdef"
	var u [16]byte
	for i := 0; i < 8; i++ {
		u[i] = byte(a >> (8 * i))
		u[8+i] = byte(b >> (8 * i))
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, hex[c>>4], hex[c&0xf])
	}
	return dst
}

// compiled is a mix entry ready to send.
type compiled struct {
	name   string
	method string
	scheme string // http or https
	host   string // host:port to dial
	path   *Template
	body   *Template
	hdrs   [][2]string
	isHead bool
	// idempotent requests are retried once when a reused keep-alive
	// connection turns out closed before any byte of the answer.
	idempotent bool
	// raw: the whole HTTP/1.1 request when nothing in it varies.
	raw []byte
	// rawHead: the request line's tail and headers (without Content-Length).
	rawHead []byte
	url     *Template // full URL, for the net/http path
}

func compileRequest(r Request, base string) (*compiled, error) {
	u := r.URL
	if strings.HasPrefix(u, "/") {
		if base == "" {
			return nil, fmt.Errorf("url %q is relative and there is no base URL", u)
		}
		b, err := url.Parse(base)
		if err != nil || b.Host == "" {
			return nil, fmt.Errorf("base url %q: want scheme://host[:port]", base)
		}
		u = b.Scheme + "://" + b.Host + strings.TrimSuffix(b.Path, "/") + u
	}
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok || (scheme != "http" && scheme != "https") {
		return nil, fmt.Errorf("url %q: want http:// or https:// (or a path with a base URL)", r.URL)
	}
	host, path := rest, "/"
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		host, path = rest[:i], rest[i:]
	}
	if host == "" || strings.Contains(host, "{{") {
		return nil, fmt.Errorf("url %q: the host cannot be empty or templated", r.URL)
	}
	hostHeader := host
	if _, _, err := splitHostPortDefault(host, scheme); err != nil {
		return nil, fmt.Errorf("url %q: %w", r.URL, err)
	}
	dial, _, _ := splitHostPortDefault(host, scheme)
	c := &compiled{name: r.Name, method: strings.ToUpper(r.Method), scheme: scheme, host: dial}
	var err error
	if c.path, err = ParseTemplate(path); err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	if c.url, err = ParseTemplate(u); err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	if c.body, err = ParseTemplate(r.Body); err != nil {
		return nil, fmt.Errorf("body: %w", err)
	}
	for _, m := range []string{"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"} {
		if c.method == m {
			c.idempotent = true
		}
	}
	for _, ch := range c.method {
		if ch <= ' ' || ch >= 0x7f {
			return nil, fmt.Errorf("method %q: invalid", r.Method)
		}
	}
	c.isHead = c.method == "HEAD"
	keys := make([]string, 0, len(r.Headers))
	for k := range r.Headers {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	hasUA := false
	for _, k := range keys {
		v := r.Headers[k]
		if strings.ContainsAny(k, "\r\n: ") || strings.ContainsAny(v, "\r\n") {
			return nil, fmt.Errorf("header %q: invalid name or value", k)
		}
		switch strings.ToLower(k) {
		case "host":
			hostHeader = v
			continue
		case "content-length", "transfer-encoding", "connection":
			return nil, fmt.Errorf("header %q is set by the generator", k)
		case "user-agent":
			hasUA = true
		}
		c.hdrs = append(c.hdrs, [2]string{k, v})
	}
	var h []byte
	h = append(h, " HTTP/1.1\r\nHost: "...)
	h = append(h, hostHeader...)
	h = append(h, "\r\n"...)
	if !hasUA {
		h = append(h, "User-Agent: gameday-loadgen\r\n"...)
	}
	for _, kv := range c.hdrs {
		h = append(h, kv[0]...)
		h = append(h, ": "...)
		h = append(h, kv[1]...)
		h = append(h, "\r\n"...)
	}
	if hostHeader != host {
		c.hdrs = append(c.hdrs, [2]string{"Host", hostHeader})
	}
	c.rawHead = h
	if c.path.static() && c.body.static() {
		c.raw = c.appendRaw(nil, nil, nil, 0)
	}
	return c, nil
}

// appendRaw renders the whole HTTP/1.1 request after dst; scratch holds the
// rendered body and is returned for reuse.
func (c *compiled) appendRaw(dst []byte, scratch *[]byte, r *rng, seq int64) []byte {
	dst = append(dst, c.method...)
	dst = append(dst, ' ')
	dst = c.path.appendTo(dst, r, seq)
	dst = append(dst, c.rawHead...)
	var body []byte
	if scratch != nil {
		body = c.body.appendTo((*scratch)[:0], r, seq)
		*scratch = body
	} else {
		body = c.body.appendTo(nil, r, seq)
	}
	if len(body) > 0 || c.method == "POST" || c.method == "PUT" || c.method == "PATCH" {
		dst = append(dst, "Content-Length: "...)
		dst = appendInt(dst, len(body))
		dst = append(dst, "\r\n"...)
	}
	dst = append(dst, "\r\n"...)
	return append(dst, body...)
}

func appendInt(dst []byte, n int) []byte { return strconv.AppendInt(dst, int64(n), 10) }

func splitHostPortDefault(host, scheme string) (string, string, error) {
	if strings.Contains(host, "@") {
		return "", "", fmt.Errorf("user info in the url is not supported")
	}
	u, err := url.Parse(scheme + "://" + host)
	if err != nil {
		return "", "", err
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if scheme == "https" {
			port = "443"
		}
	}
	h := u.Hostname()
	if strings.Contains(h, ":") {
		return "[" + h + "]:" + port, port, nil
	}
	return h + ":" + port, port, nil
}

// mix picks request indexes by weight.
type mix struct {
	cum   []uint64 // cumulative weights
	total uint64
}

func newMix(reqs []Request) mix {
	m := mix{}
	for _, r := range reqs {
		m.total += uint64(r.Weight)
		m.cum = append(m.cum, m.total)
	}
	return m
}

func (m *mix) pick(r *rng) int {
	if len(m.cum) == 1 {
		return 0
	}
	x := r.intn(m.total)
	for i, c := range m.cum {
		if x < c {
			return i
		}
	}
	return len(m.cum) - 1
}
