package h1wire

import "testing"

func TestDec(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "200": 200, "1234567890": 1234567890, "999999999999999999": 999999999999999999} {
		if n, ok := Dec([]byte(in)); !ok || n != want {
			t.Errorf("Dec(%q) = %d, %v; want %d", in, n, ok, want)
		}
	}
	for _, in := range []string{"", "-1", "1x", " 1", "1000000000000000000"} {
		if _, ok := Dec([]byte(in)); ok {
			t.Errorf("Dec(%q) accepted", in)
		}
	}
}

func TestHex(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "a": 10, "FF": 255, "1f4": 500} {
		if n, ok := Hex([]byte(in)); !ok || n != want {
			t.Errorf("Hex(%q) = %d, %v; want %d", in, n, ok, want)
		}
	}
	for _, in := range []string{"", "g", "1 ", "1000000000000000"} {
		if _, ok := Hex([]byte(in)); ok {
			t.Errorf("Hex(%q) accepted", in)
		}
	}
}

func TestEqualFold(t *testing.T) {
	if !EqualFold([]byte("Content-Length"), "content-length") || !EqualFold([]byte("close"), "close") {
		t.Error("equal names not matched")
	}
	if EqualFold([]byte("Content-Lengths"), "content-length") || EqualFold([]byte("keep-alivE"), "keep-alivf") {
		t.Error("different names matched")
	}
}

func TestStatusLineAndHeaders(t *testing.T) {
	h, ok := StatusLine([]byte("HTTP/1.1 200 OK"))
	if !ok || h.Status != 200 || h.ContentLength != -1 || h.Close {
		t.Fatalf("HTTP/1.1 200: %+v %v", h, ok)
	}
	for _, kv := range [][2]string{{"Content-Length", "12"}, {"content-length", "12"}, {"Transfer-Encoding", "gzip, Chunked"}, {"Connection", "Close"}, {"X-Other", "1"}} {
		if !h.Header([]byte(kv[0]), []byte(kv[1])) {
			t.Fatalf("header %s: %s refused", kv[0], kv[1])
		}
	}
	if h.ContentLength != 12 || !h.Chunked || !h.Close {
		t.Fatalf("after the headers: %+v", h)
	}
	if h.Header([]byte("Content-Length"), []byte("13")) {
		t.Error("a second, different Content-Length accepted")
	}
	h10, ok := StatusLine([]byte("HTTP/1.0 404 Not Found"))
	if !ok || h10.Status != 404 || !h10.Close {
		t.Fatalf("HTTP/1.0 404: %+v %v", h10, ok)
	}
	if h10.Header([]byte("Connection"), []byte("keep-alive")); h10.Close {
		t.Error("HTTP/1.0 with keep-alive still closes")
	}
	for _, bad := range []string{"HTTP/1.1 20 OK", "HTTP/2.0 200 OK", "HTTP/1.1 099 X", "HTTP/1.1"} {
		if _, ok := StatusLine([]byte(bad)); ok {
			t.Errorf("StatusLine(%q) accepted", bad)
		}
	}
}
