// Package h1wire holds the byte-level helpers of the two small HTTP/1.1
// response readers in gameday: the load generator's (loadgen) and the
// shop's client (sut/server). They parse numbers and compare header names
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
