package proxy

import (
	"io"
	"testing"
	"time"
)

// BenchmarkRoundTrip: one 64-byte echo round trip, direct and through the
// proxy with no toxic (go test -run '^$' -bench RoundTrip -benchtime 2s).
func BenchmarkRoundTrip(b *testing.B) {
	echo := echoServer(b)
	for _, tc := range []struct {
		name string
		addr func() string
	}{
		{"direct", func() string { return echo }},
		{"proxy", func() string {
			return newProxy(b, echo).Addr()
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			c := dial(b, tc.addr())
			_ = c.SetDeadline(time.Now().Add(time.Minute))
			msg, buf := make([]byte, 64), make([]byte, 64)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Write(msg); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(c, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
