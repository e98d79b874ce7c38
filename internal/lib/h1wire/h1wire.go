// Package h1wire holds the byte-level helpers of the two small HTTP/1.1
// response readers in gameday: the load generator's (loadgen) and the
// shop's client (sut/server), and the one chunked-body reader they share
// (ReadChunked, fuzzed against Go's own). They parse numbers and compare header names
// straight from the read buffer, without allocating a string.
package h1wire

// Dec parses a non-negative decimal of at most 18 digits (a status code, a
// Content-Length).
func Dec(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// Hex parses a hexadecimal of at most 15 digits (a chunk size).
func Hex(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 15 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		n = n<<4 | int64(d)
	}
	return n, true
}

// EqualFold reports whether b equals the lower-case ASCII string s, ignoring
// the case of b's letters (header names and tokens).
func EqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// Head is what a response's status line and headers say about its body and
// its connection.
type Head struct {
	Status        int
	ContentLength int64 // -1: none given
	Chunked       bool
	Close         bool // the server closes the connection after this response
}

// StatusLine parses "HTTP/1.x NNN reason" into a Head: HTTP/1.0 closes
// unless a keep-alive header says otherwise.
func StatusLine(line []byte) (Head, bool) {
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || line[8] != ' ' {
		return Head{}, false
	}
	status, ok := Dec(line[9:12])
	if !ok || status < 100 {
		return Head{}, false
	}
	return Head{Status: int(status), ContentLength: -1, Close: line[7] == '0'}, true
}

// Header folds the header line k: v (v trimmed) into h; false for a
// malformed Content-Length or one that contradicts an earlier one.
func (h *Head) Header(k, v []byte) bool {
	switch {
	case EqualFold(k, "content-length"):
		n, ok := Dec(v)
		if !ok || h.ContentLength >= 0 && n != h.ContentLength {
			return false
		}
		h.ContentLength = n
	case EqualFold(k, "transfer-encoding"):
		h.Chunked = containsFold(v, "chunked")
	case EqualFold(k, "connection"):
		if EqualFold(v, "close") {
			h.Close = true
		} else if EqualFold(v, "keep-alive") {
			h.Close = false
		}
	}
	return true
}

// containsFold reports whether b contains the lower-case ASCII s, ignoring
// the case of b's letters.
func containsFold(b []byte, s string) bool {
	for i := 0; i+len(s) <= len(b); i++ {
		if EqualFold(b[i:i+len(s)], s) {
			return true
		}
	}
	return false
}
