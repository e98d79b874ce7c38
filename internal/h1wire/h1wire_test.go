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
