package proxy

import (
	"bytes"
	"io"
	"math/bits"
	"math/rand/v2"
	"net"
	"testing"
	"time"
)

func TestCorruptValidate(t *testing.T) {
	for _, tc := range []struct {
		c  Corrupt
		ok bool
	}{
		{Corrupt{Probability: 0.5, Direction: Both}, true},
		{Corrupt{Probability: 0}, true},
		{Corrupt{Probability: 1.5}, false},
		{Corrupt{Probability: 0.5, Direction: Direction(7)}, false},
	} {
		if err := tc.c.Validate(); (err == nil) != tc.ok {
			t.Errorf("%+v: Validate() = %v, want ok=%v", tc.c, err, tc.ok)
		}
	}
}

// bitDiff counts the bits in which a and b (same length) differ.
func bitDiff(a, b []byte) int {
	n := 0
	for i := range a {
		n += bits.OnesCount8(a[i] ^ b[i])
	}
	return n
}

// echoes sends n messages of size bytes (one write each, seeded content)
// through c and returns what came back for each.
func echoes(t *testing.T, c net.Conn, n, size int) (sent, got [][]byte) {
	t.Helper()
	rng := rand.New(rand.NewPCG(5, 6))
	for range n {
		msg := make([]byte, size)
		for i := range msg {
			msg[i] = byte(rng.UintN(256))
		}
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Write(msg); err != nil {
			t.Fatalf("write: %v", err)
		}
		back := make([]byte, size)
		if _, err := io.ReadFull(c, back); err != nil {
			t.Fatalf("read: %v", err)
		}
		sent, got = append(sent, msg), append(got, back)
	}
	return sent, got
}

// With probability 1 each chunk comes back with exactly one bit flipped, in
// either direction (each message is one chunk on loopback); with 0, intact.
func TestCorruptFlipsOneBitPerChunk(t *testing.T) {
	for _, tc := range []struct {
		name string
		tox  Corrupt
		want int // bits flipped per message
	}{
		{"upstream p=1", Corrupt{Probability: 1, Direction: Upstream}, 1},
		{"downstream p=1", Corrupt{Probability: 1, Direction: Downstream}, 1},
		{"both p=0", Corrupt{Probability: 0, Direction: Both}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newProxy(t, echoServer(t))
			if _, err := p.Add(tc.tox); err != nil {
				t.Fatal(err)
			}
			sent, got := echoes(t, dial(t, p.Addr()), 50, 1000)
			for i := range sent {
				if d := bitDiff(sent[i], got[i]); d != tc.want {
					t.Fatalf("message %d: %d bits differ, want %d", i, d, tc.want)
				}
			}
		})
	}
}

// The same seed corrupts the same bits; another seed other bits. Removing
// the toxic makes the same connection carry clean data again.
func TestCorruptSeededAndRemovable(t *testing.T) {
	run := func(seed int64) [][]byte {
		p := newProxy(t, echoServer(t), WithSeed(seed))
		id, err := p.Add(Corrupt{Probability: 0.5, Direction: Upstream})
		if err != nil {
			t.Fatal(err)
		}
		c := dial(t, p.Addr())
		sent, got := echoes(t, c, 40, 300)
		corrupted := 0
		for i := range sent {
			if !bytes.Equal(sent[i], got[i]) {
				corrupted++
			}
		}
		if corrupted < 5 || corrupted > 35 {
			t.Errorf("seed %d: %d of 40 chunks corrupted at p=0.5", seed, corrupted)
		}
		if err := p.Remove(id); err != nil {
			t.Fatal(err)
		}
		sent2, got2 := echoes(t, c, 10, 300)
		for i := range sent2 {
			if !bytes.Equal(sent2[i], got2[i]) {
				t.Fatalf("seed %d: message %d corrupted after Remove", seed, i)
			}
		}
		return got
	}
	a, b, other := run(42), run(42), run(43)
	same := func(x, y [][]byte) bool {
		for i := range x {
			if !bytes.Equal(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	if !same(a, b) {
		t.Error("seed 42 twice: different corruption")
	}
	if same(a, other) {
		t.Error("seeds 42 and 43: identical corruption")
	}
}
